package feed

import (
	"errors"
	"io"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"timap/engine"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func load(t *testing.T, path string) *Result {
	t.Helper()
	res, err := LoadFile(path, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func loadString(t *testing.T, s string, opts Options) *Result {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = now
	}
	res, err := Load(strings.NewReader(s), opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// find returns the indicator whose observable has the normalised value v.
func find(t *testing.T, res *Result, v string) *engine.Indicator {
	t.Helper()
	for _, ind := range res.Indicators {
		if ind.Observables[0].Value == v {
			return ind
		}
	}
	t.Fatalf("no indicator %q", v)
	return nil
}

func findRejected(t *testing.T, res *Result, line int) Rejected {
	t.Helper()
	for _, r := range res.Rejected {
		if r.Line == line {
			return r
		}
	}
	t.Fatalf("line %d not rejected; rejected: %v", line, res.Rejected)
	return Rejected{}
}

type want struct {
	value, column string
	typ           engine.ObservableType
	hash          engine.HashType
	desc          string
	tags          []string
}

func check(t *testing.T, ind *engine.Indicator, w want) {
	t.Helper()
	if len(ind.Observables) != 1 {
		t.Fatalf("%d observables", len(ind.Observables))
	}
	o := ind.Observables[0]
	if o.Value != w.value || o.Column != w.column || o.Type != w.typ || o.Hash != w.hash {
		t.Errorf("observable = %+v, want %s %s %v %v", o, w.value, w.column, w.typ, w.hash)
	}
	if ind.Description != w.desc {
		t.Errorf("%s: Description = %q, want %q", w.value, ind.Description, w.desc)
	}
	if strings.Join(ind.Tags, ",") != strings.Join(w.tags, ",") {
		t.Errorf("%s: Tags = %q, want %q", w.value, ind.Tags, w.tags)
	}
}

func TestFlatLists(t *testing.T) {
	for _, c := range []struct {
		path          string
		lines, n, com int
		first         want
	}{
		{"testdata/ipsum/ipsum.txt", 40, 33, 7, want{value: "77.90.185.20", column: "NetworkIP", typ: engine.TypeIP, tags: []string{"count:10"}}},
		{"testdata/threatfox/threatfox-ioc-ips.txt", 30, 30, 0, want{value: "1.7.147.211", column: "NetworkIP", typ: engine.TypeIP}},
		{"testdata/phishing-database/phishing-IPs-ACTIVE.txt", 30, 30, 0, want{value: "100.25.1.9", column: "NetworkIP", typ: engine.TypeIP}},
		{"testdata/phishing-database/phishing-domains-ACTIVE2.txt", 30, 30, 0, want{value: "rztjocfmmoplnindlpwmzigiyn-dot-gleowayel400503.uc.r.appspot.com", column: "DomainName", typ: engine.TypeDomain}},
		{"testdata/malicious-hash/full-hash-md5-aa.txt", 30, 30, 0, want{value: "f211694aaf443b12b2eca9f5e7f25407", column: "FileHashValue", typ: engine.TypeFileHash, hash: engine.MD5}},
		{"testdata/malicious-hash/full-hash-sha1-aa.txt", 30, 30, 0, want{value: "ff7b2c3938306261881c42e78d0df51d9bcdd574", column: "FileHashValue", typ: engine.TypeFileHash, hash: engine.SHA1}},
		{"testdata/unit42-emotet-sha256/emotet-jan-2019.txt", 30, 29, 0, want{value: "5332ba6babf7437e6eab5e2c9f10b14a7c6440eee282f3312033d17ccc87ee6d", column: "FileHashValue", typ: engine.TypeFileHash, hash: engine.SHA256}},
		{"testdata/maltrail/mass_scanner_cidr.txt", 30, 24, 4, want{value: "5.63.151.0/24", column: "NetworkCidrBlock", typ: engine.TypeIP, desc: "scanners.labs.rapid7.com"}},
		{"testdata/maltrail/mass_scanner.txt", 40, 23, 13, want{value: "129.82.138.12", column: "NetworkIP", typ: engine.TypeIP, desc: "pinger1a.netsec.colostate.edu"}},
	} {
		t.Run(c.path, func(t *testing.T) {
			res := load(t, c.path)
			if res.Lines != c.lines || len(res.Indicators) != c.n || res.Comments != c.com {
				t.Errorf("lines %d, indicators %d, comments %d; want %d, %d, %d (rejected %v)",
					res.Lines, len(res.Indicators), res.Comments, c.lines, c.n, c.com, res.Rejected)
			}
			if got := res.Comments + res.Blank + len(res.Indicators) + res.Duplicates + len(res.Rejected); got != res.Lines {
				t.Errorf("line accounting: %d != %d lines", got, res.Lines)
			}
			check(t, res.Indicators[0], c.first)
			ind := res.Indicators[0]
			if !ind.Active || ind.ConfidenceScore != -1 || !ind.TimeGenerated.Equal(now) || !ind.Modified.Equal(now) || !ind.ExpirationDateTime.IsZero() {
				t.Errorf("common fields: %+v", ind)
			}
		})
	}
}

func TestUnit42MonthLabel(t *testing.T) {
	res := load(t, "testdata/unit42-emotet-sha256/emotet-jan-2019.txt")
	r := findRejected(t, res, 1)
	if r.Reason != "unrecognised" || r.Value != "Jan-19" || r.Err != nil {
		t.Errorf("line 1: %+v", r)
	}
	if len(res.Rejected) != 1 || res.PerReason["unrecognised"] != 1 {
		t.Errorf("rejected %v", res.Rejected)
	}
	if res.SourceSystem != "emotet-jan-2019" {
		t.Errorf("source %q", res.SourceSystem)
	}
}

func TestMaltrail(t *testing.T) {
	t.Run("emotet", func(t *testing.T) {
		res := load(t, "testdata/maltrail/emotet.txt")
		ref := "Reference: https://twitter.com/_lockhum/status/1221213324525867008"
		// "66.210.228.178:443" then ":80": one indicator with both ports.
		check(t, res.Indicators[0], want{value: "66.210.228.178", column: "NetworkIP", typ: engine.TypeIP, desc: ref, tags: []string{"port:443", "port:80"}})
		check(t, find(t, res, "dvr.petcp.com"), want{value: "dvr.petcp.com", column: "DomainName", typ: engine.TypeDomain,
			desc: "Reference: https://twitter.com/_lockhum/status/1221245124707078144"})
		check(t, find(t, res, "http://regionsnews.net/oeqhu8lg5"), want{value: "http://regionsnews.net/oeqhu8lg5", column: "Url", typ: engine.TypeURL,
			desc: "Reference: https://pastebin.com/csipUv2z"})
		// A block of three references is joined.
		if d := find(t, res, "labamito.ru").Description; !strings.HasPrefix(d, "Reference: http://www.microsoft.com/") || strings.Count(d, ", ") != 2 {
			t.Errorf("labamito.ru: %q", d)
		}
		if res.Duplicates != 3 || len(res.Rejected) != 0 {
			t.Errorf("duplicates %d, rejected %v", res.Duplicates, res.Rejected)
		}
	})
	t.Run("apt_kimsuky", func(t *testing.T) {
		res := load(t, "testdata/maltrail/apt_kimsuky.txt")
		check(t, res.Indicators[0], want{value: "maii-daum-net.atwebpages.com", column: "DomainName", typ: engine.TypeDomain,
			desc: "Reference: https://otx.alienvault.com/pulse/5c93c4e48312d159728a9d78, https://blog.alyac.co.kr/2209 (Korean)"})
		if r := findRejected(t, res, 14); r.Reason != "path-only" || r.Value != "/itsme.daum" {
			t.Errorf("line 14: %+v", r)
		}
		u := find(t, res, "http://192.186.142.74/")
		if u.Observables[0].Column != "Url" {
			t.Errorf("url column %q", u.Observables[0].Column)
		}
		check(t, find(t, res, "192.186.142.74"), want{value: "192.186.142.74", column: "NetworkIP", typ: engine.TypeIP, desc: u.Description, tags: []string{"port:81"}})
		// "# Generic trails (…)" is prose: it clears the references, so the
		// path after it would have had no description.
		if r := findRejected(t, res, 46); r.Reason != "path-only" {
			t.Errorf("line 46: %+v", r)
		}
	})
	t.Run("ek_clearfake", func(t *testing.T) {
		res := load(t, "testdata/maltrail/ek_clearfake.txt")
		check(t, find(t, res, "http://hwthurmann.de/wp/chromium/"), want{value: "http://hwthurmann.de/wp/chromium/", column: "Url", typ: engine.TypeURL,
			desc: "Reference: https://twitter.com/DonPasci/status/1713860495764062600"})
		if r := findRejected(t, res, 80); r.Reason != "path-only" || r.Value != "/lander/chrome_1695206714/_cf.php" {
			t.Errorf("line 80: %+v", r)
		}
		if res.PerReason["path-only"] != 6 || res.PerType[engine.TypeURL] != 1 {
			t.Errorf("per reason %v, per type %v", res.PerReason, res.PerType)
		}
	})
}

func TestSignatureBase(t *testing.T) {
	c2 := load(t, "testdata/signature-base/c2-iocs.txt")
	header := "FireEye Operation Snowman https://goo.gl/x1v7mT"
	check(t, c2.Indicators[0], want{value: "suroot.com", column: "DomainName", typ: engine.TypeDomain, desc: header})
	check(t, c2.Indicators[1], want{value: "58.64.143.244", column: "NetworkIP", typ: engine.TypeIP, desc: header})
	if len(c2.Indicators) != 9 {
		t.Errorf("%d indicators", len(c2.Indicators))
	}

	h := load(t, "testdata/signature-base/hash-iocs.txt")
	check(t, h.Indicators[0], want{value: "ce583821191345274cd954b2db7da9742c239fe413fc17dcb97ffdd7b51cb072", column: "FileHashValue",
		typ: engine.TypeFileHash, hash: engine.SHA256, desc: "Dark Caracal - MS Windows HtmlHelp Data"})
	if len(h.Indicators) != 8 || h.Comments != 1 || h.Blank != 1 {
		t.Errorf("%d indicators, %d comments, %d blank", len(h.Indicators), h.Comments, h.Blank)
	}
}

func TestSpamhausDropFormat(t *testing.T) {
	// Spamhaus DROP layout ("; header", "CIDR ; SBLnnn"); documentation
	// ranges stand in for the real, Spamhaus-copyrighted entries.
	res := loadString(t, "; Spamhaus DROP List\n; Last-Modified: today\n198.51.100.0/24 ; SBL000001\n2001:db8::/32 ; SBL000002\n16.0.0.0/4 ; SBL000003\n", Options{Name: "drop.txt"})
	v4 := res.Indicators[0]
	check(t, v4, want{value: "198.51.100.0/24", column: "NetworkCidrBlock", typ: engine.TypeIP, desc: "SBL000001"})
	if p := v4.Observables[0].Prefix; p != netip.MustParsePrefix("198.51.100.0/24") || p.IsSingleIP() {
		t.Errorf("prefix %v", p)
	}
	check(t, res.Indicators[1], want{value: "2001:db8::/32", column: "NetworkCidrBlock", typ: engine.TypeIP, desc: "SBL000002"})
	if r := findRejected(t, res, 5); r.Reason != "range-too-broad" {
		t.Errorf("line 5: %+v", r)
	}
	if v4.SourceSystem != "drop" {
		t.Errorf("source %q", v4.SourceSystem)
	}
}

func TestRejections(t *testing.T) {
	in := "203.0.113.9\n10.1.2.3\n\n# x\n192.168.1.1:443\nnot-a-domain-\nlocalhost.\n18.197.239.109:66086\n"
	res := loadString(t, in, Options{Name: "feeds/test.txt"})
	r := findRejected(t, res, 2)
	if r.Reason != "non-routable" || r.Value != "10.1.2.3" {
		t.Errorf("line 2: %+v", r)
	}
	if got := r.Error(); got != `feeds/test.txt:2: non-routable: "10.1.2.3"` {
		t.Errorf("Error() = %q", got)
	}
	var re *engine.RejectError
	if !errors.As(r, &re) || re.Reason != "non-routable" {
		t.Errorf("errors.As: %v", r.Err)
	}
	if r := findRejected(t, res, 5); r.Reason != "non-routable" || r.Value != "192.168.1.1:443" {
		t.Errorf("line 5: %+v", r)
	}
	if r := findRejected(t, res, 8); r.Reason != "invalid-port" {
		t.Errorf("line 8: %+v", r)
	}
	wantReasons := map[string]int{"non-routable": 2, "unrecognised": 1, "invalid-domain": 1, "invalid-port": 1}
	for k, v := range wantReasons {
		if res.PerReason[k] != v {
			t.Errorf("PerReason = %v, want %v", res.PerReason, wantReasons)
			break
		}
	}
	if len(res.Indicators) != 1 || res.Lines != 8 || res.Blank != 1 || res.Comments != 1 {
		t.Errorf("%d indicators, %d lines", len(res.Indicators), res.Lines)
	}
	if (Rejected{Line: 3, Reason: "x", Value: "v"}).Error() != `3: x: "v"` {
		t.Error("Error without Name")
	}
	// A value with terminal control bytes is escaped, a long one cut.
	if got := (Rejected{Line: 1, Reason: "unrecognised", Value: "\x1b]0;pwned\x07"}).Error(); got != `1: unrecognised: "\x1b]0;pwned\a"` {
		t.Errorf("control bytes: %s", got)
	}
	if got := (Rejected{Line: 1, Reason: "x", Value: strings.Repeat("a", 500)}).Error(); len(got) > 200 || !strings.HasSuffix(got, "… (500 bytes)") {
		t.Errorf("long value: %s", got)
	}
}

func TestValues(t *testing.T) {
	in := "\ufeffhxxp://evil[.]example/Login\r\n" +
		"Phish@Evil.Example\r\n" +
		"[2001:db8::1]:8443\r\n" +
		"0.0.0.0 ads.evil.example\r\n" +
		"176.123.5.126;65\r\n" +
		"evil.example:8080\r\n"
	res := loadString(t, in, Options{})
	check(t, res.Indicators[0], want{value: "http://evil.example/login", column: "Url", typ: engine.TypeURL})
	check(t, res.Indicators[1], want{value: "phish@evil.example", column: "EmailSenderAddress", typ: engine.TypeEmail})
	check(t, res.Indicators[2], want{value: "2001:db8::1", column: "NetworkIP", typ: engine.TypeIP, tags: []string{"port:8443"}})
	check(t, res.Indicators[3], want{value: "ads.evil.example", column: "DomainName", typ: engine.TypeDomain})
	check(t, res.Indicators[4], want{value: "176.123.5.126", column: "NetworkIP", typ: engine.TypeIP, tags: []string{"score:65"}})
	check(t, res.Indicators[5], want{value: "evil.example", column: "DomainName", typ: engine.TypeDomain, tags: []string{"port:8080"}})
	if len(res.Rejected) != 0 || res.SourceSystem != "feed" {
		t.Errorf("rejected %v, source %q", res.Rejected, res.SourceSystem)
	}
}

var uuidID = regexp.MustCompile(`^feed--[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestIDs(t *testing.T) {
	a := load(t, "testdata/maltrail/emotet.txt")
	b, err := LoadFile("testdata/maltrail/emotet.txt", Options{Now: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Indicators) != len(b.Indicators) {
		t.Fatal("different counts")
	}
	seen := map[string]bool{}
	for i, ind := range a.Indicators {
		if ind.IndicatorId != b.Indicators[i].IndicatorId {
			t.Errorf("id differs across loads: %s %s", ind.IndicatorId, b.Indicators[i].IndicatorId)
		}
		if !uuidID.MatchString(ind.IndicatorId) || seen[ind.IndicatorId] {
			t.Errorf("bad or repeated id %q", ind.IndicatorId)
		}
		seen[ind.IndicatorId] = true
		o := ind.Observables[0]
		if got := IndicatorID("emotet", o.Type, o.Value); got != ind.IndicatorId {
			t.Errorf("IndicatorID = %s, indicator has %s", got, ind.IndicatorId)
		}
	}
	// Same value, other source: another indicator, by design.
	if IndicatorID("ipsum", engine.TypeIP, "1.2.3.4") == IndicatorID("threatfox", engine.TypeIP, "1.2.3.4") {
		t.Error("sources share an id")
	}
	// Pinned, so that a change of the derivation is noticed: ids must stay
	// stable across releases.
	if got := IndicatorID("ipsum", engine.TypeIP, "77.90.185.20"); got != pinnedID {
		t.Errorf("IndicatorID changed: %s", got)
	}
}

const pinnedID = "feed--e8d7d037-865f-8ffd-b5e6-aa9eaa6f082d"

func TestDuplicates(t *testing.T) {
	in := "evil.example\nEVIL.example.\nhttp://evil.example/a\n1.2.3.4:80\n1.2.3.4:80\n1.2.3.4\nevil[.]example\n"
	res := loadString(t, in, Options{})
	if len(res.Indicators) != 3 || res.Duplicates != 4 || len(res.Rejected) != 0 {
		t.Errorf("%d indicators, %d duplicates, %v rejected", len(res.Indicators), res.Duplicates, res.Rejected)
	}
	if res.PerType[engine.TypeDomain] != 1 || res.PerType[engine.TypeURL] != 1 || res.PerType[engine.TypeIP] != 1 {
		t.Errorf("PerType %v", res.PerType)
	}
}

func TestOptions(t *testing.T) {
	local := time.Date(2026, 3, 1, 13, 0, 0, 0, time.FixedZone("CET", 3600))
	opts := Options{SourceSystem: "ThreatFox", ThreatType: "C2", Tags: []string{"abuse.ch"}, ValidFor: 7 * 24 * time.Hour, Now: local}
	res := loadString(t, "1.2.3.4\n5.6.7.8:443\n", opts)
	opts.Tags[0] = "changed" // the load copied them
	a, b := res.Indicators[0], res.Indicators[1]
	if a.SourceSystem != "ThreatFox" || a.ThreatType != "C2" || a.TimeGenerated != now || a.Modified != now ||
		a.ExpirationDateTime != now.Add(7*24*time.Hour) {
		t.Errorf("indicator %+v", a)
	}
	if strings.Join(a.Tags, ",") != "abuse.ch" || strings.Join(b.Tags, ",") != "abuse.ch,port:443" {
		t.Errorf("tags %q %q", a.Tags, b.Tags)
	}
	if a.IndicatorId != IndicatorID("ThreatFox", engine.TypeIP, "1.2.3.4") {
		t.Error("id ignores SourceSystem")
	}
	// Zero Now: the load time.
	before := time.Now()
	res, err := Load(strings.NewReader("1.2.3.4\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ts := res.Indicators[0].TimeGenerated; ts.Before(before) || ts.Location() != time.UTC {
		t.Errorf("TimeGenerated %v", ts)
	}
}

func TestLongLine(t *testing.T) {
	in := "1.2.3.4\n" + strings.Repeat("a", MaxLineBytes+10) + "\n5.6.7.8\n" + strings.Repeat("b", MaxLineBytes) + ".example"
	res := loadString(t, in, Options{})
	if r := findRejected(t, res, 2); r.Reason != "line-too-long" || len(r.Value) != 256 {
		t.Errorf("line 2: %s %d", r.Reason, len(r.Value))
	}
	if r := findRejected(t, res, 4); r.Reason != "line-too-long" {
		t.Errorf("line 4: %s", r.Reason)
	}
	if len(res.Indicators) != 2 || res.Lines != 4 {
		t.Errorf("%d indicators, %d lines", len(res.Indicators), res.Lines)
	}
	// Exactly MaxLineBytes is read (and refused by the engine, not here).
	res = loadString(t, strings.Repeat("c", MaxLineBytes-8)+".example\r\n", Options{})
	if res.PerReason["line-too-long"] != 0 || res.PerReason["invalid-domain"] != 1 {
		t.Errorf("PerReason %v", res.PerReason)
	}
}

type failingReader struct{ r io.Reader }

func (f failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errors.New("disk on fire")
	}
	return n, err
}

func TestReadError(t *testing.T) {
	res, err := Load(failingReader{strings.NewReader("1.2.3.4\n5.6.7.8\n")}, Options{Name: "x.txt"})
	if err == nil || !strings.Contains(err.Error(), "x.txt:3: disk on fire") {
		t.Fatalf("err = %v", err)
	}
	if res == nil || len(res.Indicators) != 2 {
		t.Errorf("partial result %+v", res)
	}
	if _, err := LoadFile("testdata/no-such-file", Options{}); err == nil {
		t.Error("LoadFile of a missing file succeeded")
	}
}
