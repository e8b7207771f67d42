package cef

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"timap/engine"
)

// Fixtures under permissive licences are copied into testdata (see
// testdata/PROVENANCE.md). Those that may not be copied (Elastic License
// 2.0, LGPL, no licence) are read from the shared research data and the
// tests skip when it is absent.
func sharedData(t *testing.T, rel string) []byte {
	t.Helper()
	dir := os.Getenv("TIMAP_SHARED_DATA")
	if dir == "" {
		dir = "/work/shared/data"
	}
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Skipf("%s/shared/data absent: %v", dir, err)
	}
	return b
}

// readJSONC decodes JSON that may hold whole-line // comments (Graylog's
// cef_with_unescaped_msg.json does), keeping numbers as written.
func readJSONC(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var clean bytes.Buffer
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("//")) {
			clean.Write(l)
			clean.WriteByte('\n')
		}
	}
	dec := json.NewDecoder(&clean)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestGraylogFixtures checks Graylog2/graylog-plugin-cef's fixtures: the
// header and every expected extension value. Graylog renames labelled
// custom fields (cs2 with cs2Label=Location appears as "Location") and
// types values (numbers, ISO dates); the test resolves both back to the
// raw CEF pair. Graylog's "level"/"facility" come from the syslog PRI,
// which has no CommonSecurityLog column, and are not checked.
func TestGraylogFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/graylog-plugin-cef/*.json")
	if len(files) != 24 {
		t.Fatalf("found %d Graylog fixtures, want 24", len(files))
	}
	checked := 0
	for _, f := range files {
		var fx struct {
			TestString, DeviceVendor, DeviceProduct, DeviceVersion string
			DeviceEventClassID                                     string `json:"deviceEventClassId"`
			Name, Severity, ExpectedSource                         string
			CEFVersion                                             int
			Extensions                                             map[string]any
		}
		readJSONC(t, f, &fx)
		p := Parser{Now: time.Date(2010, 12, 1, 0, 0, 0, 0, time.UTC)}
		var rec Record
		if err := p.ParseString(fx.TestString, &rec); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		name := filepath.Base(f)
		if got := [...]string{rec.DeviceVendor, rec.DeviceProduct, rec.DeviceVersion, rec.DeviceEventClassID, rec.Name, rec.Severity}; got !=
			[...]string{fx.DeviceVendor, fx.DeviceProduct, fx.DeviceVersion, fx.DeviceEventClassID, fx.Name, fx.Severity} || rec.Version != fx.CEFVersion {
			t.Errorf("%s: header %q", name, got)
		}
		// Graylog's expectedSource is the syslog host when the header has
		// one (else dvc or the peer address, which are not Computer).
		if rec.SyslogHost != "" && rec.SyslogHost != fx.ExpectedSource {
			t.Errorf("%s: SyslogHost %q, want %q", name, rec.SyslogHost, fx.ExpectedSource)
		}
		labels := map[string]string{"deviceAddress": "dvc"} // use_full_names fixture
		for _, kv := range rec.Extensions {
			if base, ok := strings.CutSuffix(kv.Key, "Label"); ok {
				labels[kv.Value] = base
			}
		}
		for k, want := range fx.Extensions {
			if k == "level" || k == "facility" {
				continue
			}
			key := k
			if raw, ok := labels[k]; ok {
				key = raw
			}
			got, ok := rec.Get(key)
			if !ok {
				t.Errorf("%s: no extension for %q", name, k)
				continue
			}
			checked++
			switch w := want.(type) {
			case json.Number:
				if got != w.String() {
					t.Errorf("%s: %s = %q, want %s", name, key, got, w)
				}
			case string:
				if got == w {
					continue
				}
				// Graylog converts rt and deviceCustomDate1 to ISO 8601.
				wt, err1 := time.Parse(time.RFC3339Nano, w)
				gt, ok := p.parseTime(got)
				if err1 != nil || !ok || !gt.Equal(wt) {
					t.Errorf("%s: %s = %q, want %q", name, key, got, w)
				}
			default:
				t.Errorf("%s: unexpected value type %T", name, want)
			}
		}
	}
	t.Logf("Graylog: %d lines parsed, %d extension values asserted", len(files), checked)
}

// TestGraylogDecodeTimes checks TimeGenerated from rt against Graylog's
// converted rt values.
func TestGraylogDecodeTimes(t *testing.T) {
	for file, want := range map[string]string{
		"arcsight-f5-asm-certified-cef-onfiguration-guide_page10_example1.json": "2010-09-10T16:03:00Z",
		"ossec_example1_rootshell_be.json":                                      "2011-05-10T13:28:19.211Z",
		"sans_log2timeline_page58.json":                                         "2009-08-04T15:13:42.000Z",
	} {
		var fx struct{ TestString string }
		readJSONC(t, "testdata/graylog-plugin-cef/"+file, &fx)
		ev := decode(t, fx.TestString, engine.ColumnSet{})
		if w, _ := time.Parse(time.RFC3339Nano, want); !ev.TimeGenerated.Equal(w) {
			t.Errorf("%s: TimeGenerated %v, want %v", file, ev.TimeGenerated, w)
		}
	}
}

// TestNettyFixtures checks jcustenborder/netty-codec-syslog's CEF cases
// (RFC 3164 header with irregular spacing, no year).
//
// Deviation: netty keeps escape sequences in values and in the header
// (act "blocked a \=", name `detected a \\ in packet`). The CEF standard
// defines `\=` and `\\` as escapes for '=' and '\', so we unescape:
// act "blocked a =", name `detected a \ in packet`.
func TestNettyFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/netty-codec-syslog/*.json")
	if len(files) != 4 {
		t.Fatalf("found %d netty fixtures, want 4", len(files))
	}
	unescape := strings.NewReplacer(`\\`, `\`, `\=`, `=`)
	checked := 0
	for _, f := range files {
		var fx struct {
			Input    string
			Expected struct {
				Date, Host, DeviceVendor, DeviceProduct, DeviceVersion string
				DeviceEventClassID                                     string `json:"deviceEventClassId"`
				Name, Severity                                         string
				Version                                                int
				Extension                                              map[string]string
			}
		}
		readJSONC(t, f, &fx)
		// The fixtures' dates are in 2018: put Now there.
		p := Parser{Now: time.Date(2018, 10, 1, 0, 0, 0, 0, time.UTC)}
		var rec Record
		if err := p.ParseString(fx.Input, &rec); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		e := fx.Expected
		if got := [...]string{rec.DeviceVendor, rec.DeviceProduct, rec.DeviceVersion, rec.DeviceEventClassID, rec.Name, rec.Severity}; got !=
			[...]string{e.DeviceVendor, e.DeviceProduct, e.DeviceVersion, e.DeviceEventClassID, unescape.Replace(e.Name), e.Severity} || rec.Version != e.Version {
			t.Errorf("%s: header %q", f, got)
		}
		if want, _ := time.Parse("2006-01-02T15:04:05", e.Date); rec.SyslogHost != e.Host || !rec.SyslogTime.Equal(want) {
			t.Errorf("%s: host %q time %v, want %q %v", f, rec.SyslogHost, rec.SyslogTime, e.Host, want)
		}
		if len(rec.Extensions) != len(e.Extension) {
			t.Errorf("%s: %d pairs, want %d", f, len(rec.Extensions), len(e.Extension))
		}
		for k, w := range e.Extension {
			checked++
			if got, _ := rec.Get(k); got != unescape.Replace(w) {
				t.Errorf("%s: %s = %q, want %q", f, k, got, unescape.Replace(w))
			}
		}
	}
	t.Logf("netty: %d lines parsed, %d extension values asserted", len(files), checked)
}

// TestJCFixtures checks kellyjonbrazil/jc's CEF parser fixture: 13 CEF
// lines and one "unparsable line", which must fail with a ParseError.
//
// jc renames labelled fields and keys with '.' or '-', so only values
// under the raw key are compared. Deviations, where we follow the CEF
// standard (whose only extension escapes are \\ \= \n \r, plus \| which
// we accept):
//   - jc removes the backslash of `\"` and `\]`; we keep them.
//   - jc splits the Fortinet msg="EventID=… IncidentID=…" into keys,
//     ignoring the opening quote; for us `"EventID` is not a key, so msg
//     is `"EventID=1845921387423247329` and the rest split at " key=".
//   - "TrendMicroDsMalwareTargetType=N/TrendMicroDsFileMD5=44D8…": jc
//     makes "N/TrendMicroDsFileMD5" a key; a key cannot follow '/', so
//     the value of TrendMicroDsMalwareTargetType runs to the next " key=".
func TestJCFixtures(t *testing.T) {
	var exp []map[string]any
	readJSONC(t, "testdata/jc/cef.json", &exp)
	f, err := os.Open("testdata/jc/cef.out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	deviation := map[string]bool{"Description": true, "string": true}
	p := Parser{Now: time.Date(2022, 12, 1, 0, 0, 0, 0, time.UTC)}
	var rec Record
	sc := bufio.NewScanner(f)
	n, parsed, checked := 0, 0, 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		if n >= len(exp) {
			t.Fatalf("more lines than expected documents")
		}
		e := exp[n]
		n++
		err := p.ParseString(line, &rec)
		if _, bad := e["unparsable"]; bad {
			if _, ok := err.(*ParseError); !ok {
				t.Errorf("line %d: err = %v, want *ParseError", n, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("line %d: %v", n, err)
			continue
		}
		parsed++
		hdr := fmt.Sprint(e["deviceVendor"], "|", e["deviceProduct"], "|", e["deviceVersion"], "|", e["deviceEventClassId"], "|", e["name"], "|", e["agentSeverity"])
		if got := strings.Join([]string{rec.DeviceVendor, rec.DeviceProduct, rec.DeviceVersion, rec.DeviceEventClassID, rec.Name, rec.Severity}, "|"); got != hdr {
			t.Errorf("line %d: header %q, want %q", n, got, hdr)
		}
		for _, kv := range rec.Extensions {
			w, ok := e[kv.Key]
			if !ok || deviation[kv.Key] {
				continue
			}
			checked++
			if got := fmt.Sprint(w); got != kv.Value {
				t.Errorf("line %d: %s = %q, want %q", n, kv.Key, kv.Value, got)
			}
		}
	}
	if n != len(exp) {
		t.Errorf("%d lines, %d expected documents", n, len(exp))
	}
	t.Logf("jc: %d CEF lines parsed, 1 rejected, %d extension values asserted", parsed, checked)
}

// TestLiblognormCases checks rsyslog/liblognorm's field_cef cases (LGPL,
// read from shared data). Deviations, where liblognorm is stricter than
// needed and we keep the event:
//   - "n,me=value": liblognorm rejects the line; we drop the malformed
//     text before the first key, as for Check Point's extra header field.
//   - "name=v\alue": liblognorm rejects the unknown escape; the standard
//     defines none, and we keep the backslash (Windows paths need it).
//   - "CEF:1|…": liblognorm only knows version 0; CEF 1.x lines carry
//     version 1 and parse the same way.
func TestLiblognormCases(t *testing.T) {
	var doc struct {
		Cases []struct {
			Input    string
			Expected map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal(sharedData(t, "logs/cef/liblognorm/field_cef-cases.json"), &doc); err != nil {
		t.Fatal(err)
	}
	deviations := map[string]bool{
		"CEF:0|Vendor|Product|Version|Signature ID|some name|Severity| n,me=value":                                 true,
		`CEF:0|Vendor|Product|Version|Signature ID|some name|Severity| name=v\alue`:                                true,
		`CEF:1|Vendor|Product|Version|Signature ID|some name|Severity| aa=field1 bb=this is a \= value cc=field 3`: true,
	}
	var p Parser
	var rec Record
	for _, c := range doc.Cases {
		err := p.ParseString(c.Input, &rec)
		if deviations[c.Input] {
			if err != nil {
				t.Errorf("%q: %v", c.Input, err)
			}
			continue
		}
		if _, unparsed := c.Expected["unparsed-data"]; unparsed {
			if err == nil {
				t.Errorf("%q: want error", c.Input)
			}
			continue
		}
		var want struct {
			DeviceVendor, DeviceProduct, DeviceVersion, SignatureID, Name, Severity string
			Extensions                                                              map[string]string
		}
		if err := json.Unmarshal(c.Expected["f"], &want); err != nil {
			t.Fatal(err)
		}
		if err != nil {
			t.Errorf("%q: %v", c.Input, err)
			continue
		}
		got := [...]string{rec.DeviceVendor, rec.DeviceProduct, rec.DeviceVersion, rec.DeviceEventClassID, rec.Name, rec.Severity}
		if got != [...]string{want.DeviceVendor, want.DeviceProduct, want.DeviceVersion, want.SignatureID, want.Name, want.Severity} {
			t.Errorf("%q: header %q", c.Input, got)
		}
		if len(rec.Extensions) != len(want.Extensions) {
			t.Errorf("%q: %q, want %q", c.Input, rec.Extensions, want.Extensions)
		}
		for k, v := range want.Extensions {
			if g, _ := rec.Get(k); g != v {
				t.Errorf("%q: %s = %q, want %q", c.Input, k, g, v)
			}
		}
	}
	t.Logf("liblognorm: %d cases", len(doc.Cases))
}

// TestElasticBeats checks Elastic Beats' CEF module test input against its
// expected ECS documents (Elastic License 2.0, read from shared data),
// mapping ECS fields to CommonSecurityLog columns.
func TestElasticBeats(t *testing.T) {
	lines := strings.Split(strings.TrimRight(string(sharedData(t, "logs/cef/elastic-beats/cef.log")), "\n"), "\n")
	var docs []map[string]any
	dec := json.NewDecoder(bytes.NewReader(sharedData(t, "logs/cef/elastic-beats/cef.log-expected.json")))
	dec.UseNumber()
	if err := dec.Decode(&docs); err != nil {
		t.Fatal(err)
	}
	if len(lines) != len(docs) {
		t.Fatalf("%d lines, %d documents", len(lines), len(docs))
	}
	ecs := map[string]string{
		"observer.vendor": "DeviceVendor", "observer.product": "DeviceProduct", "observer.version": "DeviceVersion",
		"event.code": "DeviceEventClassID", "cef.name": "Activity", "cef.severity": "LogSeverity",
		"source.ip": "SourceIP", "source.port": "SourcePort", "destination.ip": "DestinationIP",
		"destination.port": "DestinationPort", "http.request.method": "RequestMethod",
		"url.original": "RequestURL", "http.request.referrer": "RequestContext",
		"source.user.name": "SourceUserName", "destination.user.name": "DestinationUserName",
		"destination.nat.ip": "DestinationTranslatedAddress", "source.service.name": "SourceServiceName",
		"cef.extensions.fileHash": "FileHash", "cef.extensions.oldFileHash": "OldFileHash",
		"source.user.group.name": "SourceUserPrivileges", "destination.user.group.name": "DestinationUserPrivileges",
		"network.transport": "Protocol", // ECS lower-cases it
	}
	checked := 0
	for i, line := range lines {
		ev := decode(t, line, nil)
		for field, col := range ecs {
			w, ok := docs[i][field]
			if !ok {
				continue
			}
			checked++
			if got := ev.Value(col); !strings.EqualFold(got, fmt.Sprint(w)) {
				t.Errorf("line %d: %s = %q, want %s %v", i+1, col, got, field, w)
			}
		}
		// Beats' "message" is msg/message when present, else the name.
		if m := fmt.Sprint(docs[i]["message"]); m != ev.Value("Activity") {
			checked++
			if ev.Value("Message") != m {
				t.Errorf("line %d: Message %q, want %q", i+1, ev.Value("Message"), m)
			}
		}
	}
	t.Logf("beats: %d lines parsed, %d columns asserted", len(lines), checked)
}
