package stix

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"timap/engine"
)

var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func load(t *testing.T, name string) *Result {
	t.Helper()
	res, err := LoadFile(filepath.Join("testdata", name), Options{SourceSystem: "test", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func byID(res *Result, id string) *engine.Indicator {
	for _, ind := range res.Indicators {
		if ind.IndicatorId == id {
			return ind
		}
	}
	return nil
}

func values(ind *engine.Indicator) []string {
	var vs []string
	for _, o := range ind.Observables {
		vs = append(vs, o.Column+"="+o.Value)
	}
	return vs
}

func TestLifecycleBundle(t *testing.T) {
	res := load(t, "lifecycle.json")

	// OR of two observables: one indicator, two observables; the newest
	// modified wins although the older version comes second.
	i1 := byID(res, "indicator--00000000-0000-4000-8000-000000000001")
	if i1 == nil {
		t.Fatal("indicator 1 missing")
	}
	if got, want := values(i1), []string{"NetworkIP=198.51.100.1", "DomainName=evil.example"}; !slices.Equal(got, want) {
		t.Errorf("observables = %v, want %v", got, want)
	}
	if i1.Description != "newest version" || !i1.Modified.Equal(time.Date(2026, 1, 3, 0, 0, 0, 5e8, time.UTC)) {
		t.Errorf("version: %q %v", i1.Description, i1.Modified)
	}
	if want := time.Date(2026, 12, 31, 23, 59, 59, 123456789, time.UTC); !i1.ExpirationDateTime.Equal(want) {
		t.Errorf("ExpirationDateTime = %v, want %v", i1.ExpirationDateTime, want)
	}
	if i1.ThreatType != "malicious-activity" || !slices.Equal(i1.Tags, []string{"c2", "apt-x"}) || i1.ConfidenceScore != 85 ||
		i1.TrafficLightProtocolLevel != "amber" || i1.IndicatorProvider != "Example CERT" || !i1.Active ||
		!slices.Equal(i1.KillChainPhases, []string{"lockheed-martin-cyber-kill-chain:command-and-control"}) ||
		i1.SourceSystem != "test" || !i1.TimeGenerated.Equal(now) ||
		!slices.Equal(i1.ExternalReferences, []string{"Example CERT EC-2026-0001 https://cert.example/advisories/1"}) {
		t.Errorf("fields: %+v", i1)
	}

	if i2 := byID(res, "indicator--00000000-0000-4000-8000-000000000002"); i2 == nil || i2.Active {
		t.Errorf("revoked indicator: %+v", i2)
	}

	// AND of file name and two hashes: the strongest hash is indexed, the
	// rest recorded as not enforced.
	i3 := byID(res, "indicator--00000000-0000-4000-8000-000000000003")
	if got := values(i3); len(got) != 1 || !strings.HasPrefix(got[0], "FileHashValue=275a021b") || !i3.PartiallyEnforced {
		t.Errorf("AND pattern: %v partial=%v unenforced=%v", got, i3.PartiallyEnforced, i3.Unenforced)
	}

	// Unsupported-only pattern: kept, never widened, reported.
	if i4 := byID(res, "indicator--00000000-0000-4000-8000-000000000004"); i4 == nil || len(i4.Observables) != 0 {
		t.Errorf("user-agent indicator: %+v", i4)
	}
	// Compound with context: the dst_ref atom is indexed (IPv6 spelled
	// canonically), the e-mail on the other branch too.
	i9 := byID(res, "indicator--00000000-0000-4000-8000-000000000009")
	if got, want := values(i9), []string{"NetworkDestinationIP=2001:db8::66", "EmailSenderAddress=bad@evil.example"}; !slices.Equal(got, want) {
		t.Errorf("network-traffic/email: %v, want %v", got, want)
	}

	reasons := map[string]string{}
	for _, p := range res.Problems {
		reasons[p.ID] = p.Reason
	}
	for id, want := range map[string]string{
		"indicator--00000000-0000-4000-8000-000000000004": "unsupported-pattern",
		"indicator--00000000-0000-4000-8000-000000000005": "non-routable",
		"indicator--00000000-0000-4000-8000-000000000006": "invalid-object",
		"indicator--00000000-0000-4000-8000-000000000007": "unsupported-pattern",
		"indicator--00000000-0000-4000-8000-000000000008": "invalid-pattern",
		"#11": "invalid-object",
	} {
		if reasons[id] != want {
			t.Errorf("%s: reason %q, want %q (problems: %v)", id, reasons[id], want, res.Problems)
		}
	}
	if res.Objects["indicator"] != 10 || res.Objects["identity"] != 1 || res.Objects["malware"] != 1 {
		t.Errorf("object counts = %v", res.Objects)
	}
	if n := len(res.Indicators); n != 8 {
		t.Errorf("%d indicators, want 8 (ids 1-5, 7, 8, 9)", n)
	}
}

func TestGreyNoiseUploadSample(t *testing.T) {
	res := load(t, "GreyNoiseThreatIntelligence.json")
	if len(res.Indicators) != 5 || len(res.Problems) != 0 {
		t.Fatalf("%d indicators, problems %v", len(res.Indicators), res.Problems)
	}
	ind := byID(res, "indicator--0c70e00d-e0a8-5144-8424-cd0fa3ecd5e3")
	if ind == nil || values(ind)[0] != "NetworkIP=1.1.1.5" || ind.ConfidenceScore != 100 || ind.ThreatType != "malicious" ||
		!slices.Equal(ind.Tags, []string{"Mirai"}) {
		t.Fatalf("1.1.1.5: %+v", ind)
	}
	// Spec T39: valid_until 2023-09-12 is in the past, so it no longer
	// matches a current event.
	if ind.Live(now, now, 0) {
		t.Error("expired GreyNoise indicator is live")
	}
	if !ind.Live(time.Date(2023, 9, 12, 0, 0, 0, 0, time.UTC), time.Date(2023, 9, 12, 1, 0, 0, 0, time.UTC), 0) {
		t.Error("GreyNoise indicator not live before its expiry")
	}
}

func TestRealBundles(t *testing.T) {
	res := load(t, "2024-06-10-OriginLogger.json")
	var got []string
	for _, ind := range res.Indicators {
		got = append(got, values(ind)...)
	}
	slices.Sort(got)
	want := []string{
		"DomainName=mail.bredband2.com",
		"EmailSenderAddress=albee.leun@expressairhkg.com",
		"FileHashValue=4210e25c33df901302fe42704fcd0832729e4efade9da5abe6a8f2512244024f",
		"FileHashValue=891b5bb34a57b6f58d635f8c3c64e9f1ca2fec59030fb9094fa3efebfb5b8729",
	}
	if !slices.Equal(got, want) {
		t.Errorf("OriginLogger observables:\n got %v\nwant %v", got, want)
	}
	// STIX 2.0: labels are the indicator types.
	if res.Indicators[0].ThreatType != "malicious-activity" {
		t.Errorf("2.0 ThreatType = %q", res.Indicators[0].ThreatType)
	}

	apt1 := load(t, "apt1.json")
	if ind := byID(apt1, "indicator--031778a4-057f-48e6-9db9-c8d72b81ccd5"); ind == nil ||
		ind.Observables[0].Prefix.String() != "223.166.0.0/15" || ind.Observables[0].Column != "NetworkCidrBlock" {
		t.Errorf("apt1 CIDR indicator: %+v", ind)
	}
	if ind := byID(apt1, "indicator--8d12f44f-8ac0-4b12-8b4a-3699ca8c9691"); ind == nil || ind.Observables[0].Hash != engine.MD5 {
		t.Errorf("apt1 md5 indicator (lower-case hash key): %+v", ind)
	}
	if apt1.Unsupported != 2 || apt1.PerType[engine.TypeIP] != 4 || apt1.PerType[engine.TypeDomain] != 3 || apt1.PerType[engine.TypeFileHash] != 3 {
		t.Errorf("apt1: unsupported %d, per type %v", apt1.Unsupported, apt1.PerType)
	}
}

func TestDocumentShapes(t *testing.T) {
	obj := `{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-0000000000ff","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z","pattern":"[url:value = 'hxxp://evil[.]example/x']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`
	for name, doc := range map[string]string{
		"object":     obj,
		"array":      "[" + obj + "]",
		"bundle":     `{"type":"bundle","id":"bundle--1","objects":[` + obj + `]}`,
		"envelope":   `{"more":false,"objects":[` + obj + `]}`,
		"upload":     `{"sourcesystem":"MyTIP","stixobjects":[` + obj + `]}`,
		"upload-old": `{"sourcesystem":"MyTIP","indicators":[` + obj + `]}`,
	} {
		res, err := Load([]byte(doc), Options{SourceSystem: "file", Now: now})
		if err != nil || len(res.Indicators) != 1 || values(res.Indicators[0])[0] != "Url=http://evil.example/x" {
			t.Errorf("%s: %v %+v", name, err, res)
			continue
		}
		if src := res.Indicators[0].SourceSystem; strings.HasPrefix(name, "upload") != (src == "MyTIP") {
			t.Errorf("%s: SourceSystem %q", name, src)
		}
	}
	for _, bad := range []string{"", "null", "42", `{"foo":1}`, "[1,2", "{"} {
		if _, err := Load([]byte(bad), Options{}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestSharedBundles loads every STIX document under ../shared/data/stix
// (real-world 2.0 and 2.1 bundles, non-conformant ones included): none may
// fail as a whole, and the counts are logged.
func TestSharedBundles(t *testing.T) {
	root := "../../../shared/data/stix"
	if _, err := os.Stat(root); err != nil {
		t.Skip("../shared/data/stix absent: real-bundle test skipped")
	}
	for _, dir := range []string{"v20", "v21"} {
		filepath.WalkDir(filepath.Join(root, dir), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
				return err
			}
			res, err := LoadFile(p, Options{Now: now})
			if err != nil {
				t.Errorf("%s: %v", p, err)
				return nil
			}
			t.Logf("%s: %d objects, %d indicators (%d unsupported, %d partial), problems %v",
				strings.TrimPrefix(p, root+"/"), sum(res.Objects), len(res.Indicators), res.Unsupported, res.Partial, res.PerReason)
			return nil
		})
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestNoWidening pins trial findings: refused values never turn into
// something broader, and an AND that lost a value is flagged.
func TestNoWidening(t *testing.T) {
	ind := func(id, pattern string) string {
		return `{"type":"indicator","spec_version":"2.1","id":"indicator--` + id + `","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z","valid_from":"2026-01-01T00:00:00Z","pattern_type":"stix","pattern":"` + pattern + `"}`
	}
	doc := "[" + strings.Join([]string{
		ind("00000000-0000-4000-8000-0000000000a1", "[network-traffic:dst_ref.value = '10.0.0.5']"),
		ind("00000000-0000-4000-8000-0000000000a2", "[network-traffic:src_ref.value = '10.0.0.5' AND network-traffic:dst_ref.value = '185.220.101.25']"),
		ind("00000000-0000-4000-8000-0000000000a3", "[ipv4-addr:value = '45.86.163.20' AND ipv4-addr:value = '10.0.0.1']"),
		ind("00000000-0000-4000-8000-0000000000a4", "[network-traffic:dst_ref.value = 'c2.evil.example']"),
		ind("00000000-0000-4000-8000-0000000000a5", "[domain-name:value = '203.0.113.9']"),
		ind("00000000-0000-4000-8000-0000000000a6", "[ipv4-addr:value = '203.0.113.7' OR ipv4-addr:value = '203.0.113.7']"),
	}, ",") + "]"
	res, err := Load([]byte(doc), Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	get := func(n string) *engine.Indicator { return byID(res, "indicator--00000000-0000-4000-8000-0000000000"+n) }
	if i := get("a1"); len(i.Observables) != 0 {
		t.Errorf("private dst_ref became %v", values(i))
	}
	if i := get("a2"); !slices.Equal(values(i), []string{"NetworkDestinationIP=185.220.101.25"}) || !i.PartiallyEnforced {
		t.Errorf("src private AND dst public: %v partial=%v", values(i), i.PartiallyEnforced)
	}
	if i := get("a3"); !slices.Equal(values(i), []string{"NetworkIP=45.86.163.20"}) || !i.PartiallyEnforced {
		t.Errorf("AND with a refused value: %v partial=%v", values(i), i.PartiallyEnforced)
	}
	if i := get("a4"); !slices.Equal(values(i), []string{"DomainName=c2.evil.example"}) {
		t.Errorf("dst_ref domain: %v", values(i))
	}
	if i := get("a5"); len(i.Observables) != 0 {
		t.Errorf("IP literal admitted as a domain: %v", values(i))
	}
	if i := get("a6"); len(i.Observables) != 1 {
		t.Errorf("duplicate value: %v", values(i))
	}
}

// TestRefusedIPColumns: a private address of a pattern is refused but its
// column recorded, so that compat mode's precedence sees it (spec T6).
func TestRefusedIPColumns(t *testing.T) {
	doc := `{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-0000000000aa","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z",
	"pattern":"[ipv4-addr:value = '10.1.1.1'] OR [network-traffic:src_ref.value = '198.51.100.7'] OR [network-traffic:dst_ref.value = '10.0.0.0/8']"}`
	res, err := Load([]byte(doc), Options{SourceSystem: "file", Now: now})
	if err != nil || len(res.Indicators) != 1 {
		t.Fatalf("%v %+v", err, res)
	}
	ind := res.Indicators[0]
	if !slices.Equal(values(ind), []string{"NetworkSourceIP=198.51.100.7"}) || !slices.Equal(ind.RefusedIPColumns, []string{"NetworkIP"}) {
		t.Errorf("observables %v, refused columns %v", values(ind), ind.RefusedIPColumns)
	}
	if res.PerReason["non-routable"] != 2 {
		t.Errorf("reasons %v", res.PerReason)
	}
}
