package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"timap/connectors/taxii/taxiitest"
)

type alertOut struct {
	SystemAlertId, RuleId, IndicatorId, IndicatorType, IndicatorValue string
	MatchedValue, MatchedColumn, Origin, StartTime, EndTime           string
	EventCount                                                        int
	Entities                                                          []map[string]string
	ExtendedProperties                                                map[string]any
}

func runMatchCLI(t *testing.T, args ...string) ([]alertOut, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(append([]string{"match"}, args...), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	var alerts []alertOut
	dec := json.NewDecoder(&stdout)
	for dec.More() {
		var a alertOut
		if err := dec.Decode(&a); err != nil {
			t.Fatal(err)
		}
		alerts = append(alerts, a)
	}
	return alerts, stderr.String()
}

const (
	rR27 = "66c81ae2-1f89-4433-be00-2fbbd9ba5ebe" // IP
	rR01 = "dd0a6029-ecef-4507-89c4-fc355ac52111" // domain, any vendor
	rR07 = "ec21493c-2684-4acd-9bc2-696dbad72426" // domain, Palo Alto
	rR39 = "106813db-679e-4382-a51b-1bfc463befc3" // URL, Palo Alto
	rR17 = "5d33fc63-b83b-4913-b95e-94d13f0d379f" // file hash
	rR13 = "ffcd575b-3d54-482a-a6d8-d0de13b6ac63" // e-mail, Palo Alto
)

// key renders an alert as "rule indicator column=value".
func key(a alertOut) string {
	return a.RuleId[:8] + " " + strings.TrimPrefix(a.IndicatorId, "indicator--a0000000-0000-4000-8000-") + " " + a.MatchedColumn + "=" + a.MatchedValue
}

func TestMatchIssueCases(t *testing.T) {
	alerts, summary := runMatchCLI(t, "--indicators", "testdata/indicators.json", "--events", "testdata/events.cef",
		"--now", "2026-11-30T10:10:00Z")
	var got []string
	for _, a := range alerts {
		got = append(got, key(a))
	}
	want := []string{
		// src=10.1.2.3 dst=203.0.113.9: one alert on DestinationIP; the
		// second row in the same hour is counted into it.
		rR27[:8] + " 000000000001 DestinationIP=203.0.113.9",
		// fileHash in upper case matches the MD5 indicator.
		rR17[:8] + " 000000000003 FileHash=44d88612fea8a8f36de82e1278abb02f",
		// One indicator, two observables (IP OR domain), each alerting.
		rR01[:8] + " 000000000004 PA_Url=evil.example",
		rR07[:8] + " 000000000004 PA_Url=evil.example",
		rR39[:8] + " 000000000007 PA_Url=http://evil.example/login",
		rR27[:8] + " 000000000004 DestinationIP=198.51.100.1",
		// higan.org matches; www.michigan.org and cdn.higan.org do not
		// (the shipped rules match domains exactly).
		rR01[:8] + " 000000000005 PA_Url=higan.org",
		rR07[:8] + " 000000000005 PA_Url=higan.org",
		rR13[:8] + " 000000000008 DestinationUserID=phish@evil.example",
		// valid_until 10:00:00: the row stamped 09:59:59 matches although
		// processed at 10:10; the row stamped 10:00:01 does not.
		rR27[:8] + " 000000000006 DestinationIP=192.0.2.77",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("alerts:\n got %q\nwant %q", got, want)
	}
	for _, a := range alerts {
		if a.MatchedValue == "203.0.113.9" && (a.EventCount != 2 || a.Origin != "testdata/events.cef:1") {
			t.Errorf("203.0.113.9 alert: EventCount %d Origin %q, want 2 and events.cef:1", a.EventCount, a.Origin)
		}
		if a.RuleId == rR17 {
			if a.ExtendedProperties["FileHashType"] != "MD5" || !slices.ContainsFunc(a.Entities, func(e map[string]string) bool {
				return e["Type"] == "FileHash" && e["Algorithm"] == "MD5" && e["Value"] == "44d88612fea8a8f36de82e1278abb02f"
			}) {
				t.Errorf("R17 alert details: %+v", a)
			}
		}
	}
	for _, want := range []string{
		"non-routable", "indicator--a0000000-0000-4000-8000-000000000002", // 10.1.2.3 refused, named
		"testdata/events.cef:8:",      // the bad line, by file and line
		"1 bad lines", "11 rows read", // counted, not dropped silently
		"alerts: 10",
	} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
}

func TestMatchIdsAreDeterministic(t *testing.T) {
	args := []string{"--indicators", "testdata/indicators.json", "--events", "testdata/events.cef", "--now", "2026-11-30T10:10:00Z"}
	a1, _ := runMatchCLI(t, args...)
	a2, _ := runMatchCLI(t, args...)
	if len(a1) == 0 || len(a1) != len(a2) {
		t.Fatalf("%d vs %d alerts", len(a1), len(a2))
	}
	for i := range a1 {
		if a1[i].SystemAlertId != a2[i].SystemAlertId {
			t.Errorf("alert %d: ids differ between runs", i)
		}
	}
}

func TestMatchRevocationAcrossFiles(t *testing.T) {
	count := func(files ...string) int {
		alerts, _ := runMatchCLI(t, "--indicators", strings.Join(files, ","), "--events", "testdata/events.cef", "--now", "2026-11-30T10:10:00Z")
		n := 0
		for _, a := range alerts {
			if a.MatchedValue == "203.0.113.9" {
				n++
			}
		}
		return n
	}
	if n := count("testdata/indicators.json", "testdata/revoked.json"); n != 0 {
		t.Errorf("revoked newest version: %d alerts, want 0", n)
	}
	// Order of files does not matter: the newest modified wins.
	if n := count("testdata/revoked.json", "testdata/indicators.json"); n != 0 {
		t.Errorf("revoked newest version loaded first: %d alerts, want 0", n)
	}
	if n := count("testdata/indicators.json", "testdata/revoked.json", "testdata/reactivated.json"); n != 1 {
		t.Errorf("re-activated: %d alerts, want 1", n)
	}
}

func TestMatchExpiryGrace(t *testing.T) {
	alerts, _ := runMatchCLI(t, "--indicators", "testdata/indicators.json", "--events", "testdata/events.cef",
		"--now", "2026-11-30T10:10:00Z", "--expiry-grace", "0s")
	for _, a := range alerts {
		if a.MatchedValue == "192.0.2.77" {
			t.Errorf("expired indicator matched with --expiry-grace 0: %+v", a)
		}
	}
}

func TestMatchUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"match"},
		{"match", "--events", "testdata/events.cef"},
		{"match", "--indicators", "testdata/indicators.json", "--events", "testdata/events.cef", "--now", "yesterday"},
		{"nosuchcommand"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"match", "--indicators", "testdata/nope.json", "--events", "testdata/events.cef"}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "nope.json") {
		t.Errorf("missing file: exit %d, %s", code, errb.String())
	}
}

func TestExpandLists(t *testing.T) {
	got := expandLists([]string{"--indicators", "a", "b", "--table", "T", "--events=x", "y", "-"}, map[string]bool{"indicators": true, "events": true})
	want := []string{"--indicators", "a", "--indicators", "b", "--table", "T", "--events=x", "--events", "y", "--events", "-"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestMatchTAXIISources(t *testing.T) {
	srv := medallionServer(t, "2.1", taxiitest.Options{Username: "alice", Password: "pw"})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sources.yaml")
	os.WriteFile(cfg, []byte("- name: Medallion\n  api_root: "+srv.APIRoot("trustgroup1")+"\n  collection: "+highValue+
		"\n  username: alice\n  password: pw\n"), 0o600)
	events := filepath.Join(dir, "ev.cef")
	os.WriteFile(events, []byte(
		"CEF:0|Palo Alto Networks|PAN-OS|10.2.4|url|THREAT|1|rt=1796032000000 src=10.0.0.8 app=web-browsing request=x4z9arb.cn/4712 dvchost=pa-01\n"+
			"CEF:0|Trend Micro|Deep Security Agent|20|4000000|Malware|6|rt=1796032060000 fileHash=EF537F25C895BFA782526529A9B63D97AA631564D5D789C2B765448C8635FB6C\n"), 0o600)
	alerts, summary := runMatchCLI(t, "--taxii-sources", cfg, "--events", events, "--now", "2026-11-30T10:00:00Z")
	var got []string
	for _, a := range alerts {
		got = append(got, a.RuleId[:8]+" "+a.IndicatorId+" "+a.MatchedValue)
	}
	slices.Sort(got)
	want := []string{
		rR39[:8] + " indicator--6770298f-0fd8-471a-ab8c-1c658a46574e http://x4z9arb.cn/4712",
		rR17[:8] + " indicator--cd981c25-8042-4166-8945-51178443bdac ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c",
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("alerts %v, want %v\n%s", got, want, summary)
	}

	// A source that cannot be read fails the run, after matching the rest.
	os.WriteFile(cfg, []byte("- name: Medallion\n  api_root: "+srv.APIRoot("trustgroup1")+"\n  collection: "+highValue+
		"\n  username: alice\n  password: wrong\n"), 0o600)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"match", "--indicators", "testdata/indicators.json", "--taxii-sources", cfg, "--events", events}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "taxii-error") || !strings.Contains(stderr.String(), "401") {
		t.Errorf("bad credentials: exit %d\n%s", code, stderr.String())
	}
}

// TestMatchKeepsGoing pins trial findings: a missing or unreadable events
// file, or an over-long line, must not lose the alerts of the other files.
func TestMatchKeepsGoing(t *testing.T) {
	dir := t.TempDir()
	long := filepath.Join(dir, "long.cef")
	big := strings.Repeat("x", 5<<20)
	os.WriteFile(long, []byte("CEF:0|V|P|1|1|n|3|src=10.0.0.1 msg="+big+"\nCEF:0|V|P|1|1|n|3|rt=1796039200000 src=10.0.0.1 dst=198.51.100.1\n"), 0o600)
	var stdout, stderr bytes.Buffer
	code := run([]string{"match", "--indicators", "testdata/indicators.json", "--now", "2026-11-30T10:10:00Z",
		"--events", "testdata/events.cef", filepath.Join(dir, "missing.cef"), long}, &stdout, &stderr)
	n := strings.Count(stdout.String(), "\n")
	if code != 1 || n != 11 {
		t.Errorf("exit %d, %d alerts (want 1 and 10 + 1 from the file after the missing one)\n%s", code, n, stderr.String())
	}
	for _, want := range []string{"missing.cef", "long.cef:1: line too long", "3 files (1 unreadable)"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr.String())
		}
	}
}

// TestMatchNDJSONTypeDecidesTable: a row's Type key, not --table, picks the
// rules (and so the columns decoded).
func TestMatchNDJSONTypeDecidesTable(t *testing.T) {
	dir := t.TempDir()
	rule := filepath.Join(dir, "dns.yaml")
	os.WriteFile(rule, []byte("id: dns-test\nname: DNS test\nseverity: Low\ntable: DnsEvents\ncandidates:\n  - {column: Name, type: domain}\n"), 0o600)
	rows := filepath.Join(dir, "rows.ndjson")
	os.WriteFile(rows, []byte(`{"Type":"DnsEvents","TimeGenerated":"2026-11-30T09:00:00Z","Name":"higan.org"}`+"\n"+
		`{"Type":"CommonSecurityLog","TimeGenerated":"2026-11-30T09:00:00Z","DestinationIP":"198.51.100.1"}`+"\n"), 0o600)
	alerts, summary := runMatchCLI(t, "--indicators", "testdata/indicators.json", "--rules", rule, "--events", rows,
		"--table", "Syslog", "--now", "2026-11-30T10:00:00Z")
	var got []string
	for _, a := range alerts {
		got = append(got, a.RuleId+" "+a.MatchedValue)
	}
	slices.Sort(got)
	// R03 (the built-in DnsEvents domain rule) fires too.
	if want := []string{rR27 + " 198.51.100.1", "85aca4d1-5d15-4001-abd9-acb86ca1786a higan.org", "dns-test higan.org"}; !slices.Equal(got, want) {
		t.Errorf("alerts %v, want %v\n%s", got, want, summary)
	}
}

func TestRulesCommands(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"rules", "list"}, &out, &errb); code != 0 || strings.Count(out.String(), "\n") != 53 {
		t.Errorf("rules list: %d\n%s", code, out.String())
	}
	out.Reset()
	if code := run([]string{"rules", "explain", "TI map File Hash to CommonSecurityLog Event"}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "the value of FileHash against filehash indicators") {
		t.Errorf("rules explain: %d\n%s", code, out.String())
	}
	out.Reset()
	if code := run([]string{"rules", "explain", "h3"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "H3 18f7de84-de55-4983-aca3-a18bc846b4e0 — TI Map File Entity to Syslog Event") {
		t.Errorf("rules explain h3: %d\n%s", code, out.String())
	}
	out.Reset()
	if code := run([]string{"rules", "tables"}, &out, &errb); code != 0 || strings.Count(out.String(), "\n") != 31 ||
		!strings.Contains(out.String(), "DnsEvents                              27 columns") {
		t.Errorf("rules tables: %d\n%s", code, out.String())
	}
	out.Reset()
	if code := run([]string{"rules", "tables", "dnsevents"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "DnsEvents (") ||
		!strings.Contains(out.String(), "  EventId                                  int\n") {
		t.Errorf("rules tables dnsevents: %d\n%s", code, out.String())
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("id: x\nname: X\nseverity: Low\ntable: T\ncandidates:\n  - {column: A, type: ip, extract: rot13}\n"), 0o600)
	errb.Reset()
	if code := run([]string{"rules", "validate", "../../rules/sentinel", dir}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), `bad.yaml:6: candidates[0]: unknown extract "rot13"`) {
		t.Errorf("rules validate: %d\n%s", code, errb.String())
	}
}

// TestMatchSchemaFindings: NDJSON and CSV exports are typed by the table
// schemas; what does not fit is reported with its place and the rows are
// kept.
func TestMatchSchemaFindings(t *testing.T) {
	// A real Log Analytics CSV export (Azure-Sentinel training lab): the
	// portal split RemotePort by type, and two columns are not in
	// CommonSecurityLog's schema.
	_, summary := runMatchCLI(t, "--indicators", "testdata/indicators.json",
		"--events", "../../connectors/tabular/testdata/solarigate_CEFevent.csv", "--now", "2026-11-30T10:00:00Z")
	for _, want := range []string{
		"schema: 4 findings in exported rows, rows kept",
		"solarigate_CEFevent.csv:2: CommonSecurityLog.RemotePort_int: not a column of the table's schema; kept as text (1 row)",
		"solarigate_CEFevent.csv:2: CommonSecurityLog.RemotePort_string: not a column of the table's schema; kept as text (1 row)",
		"solarigate_CEFevent.csv:2: CommonSecurityLog.DNSName: not a column",
		"solarigate_CEFevent.csv:2: CommonSecurityLog.EventId: not a column",
	} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}

	if strings.Contains(summary, "hint:") {
		t.Errorf("hint for 4 unknown columns:\n%s", summary)
	}
	// A CSV of another table without a Type column: a hint; also for a
	// narrow DnsEvents export (3 of 5 columns unknown to CommonSecurityLog).
	dns := filepath.Join(t.TempDir(), "dns.csv")
	os.WriteFile(dns, []byte("TimeGenerated,SubType,Name,Computer,ClientIP\n2026-11-30T09:00:00Z,LookupQuery,higan.org,dc1,10.0.0.5\n"), 0o600)
	if _, summary := runMatchCLI(t, "--indicators", "testdata/indicators.json", "--events", dns); !strings.Contains(summary, "hint: 3 of the 5 columns are not in CommonSecurityLog's schema") {
		t.Errorf("no hint for the narrow export:\n%s", summary)
	}
	um := filepath.Join(t.TempDir(), "umbrella.csv")
	os.WriteFile(um, []byte("Timestamp,Policy,Domain,A1,A2,A3\n2019-09-12T20:00:00Z,x,avsvmcloud.com,1,2,3\n"), 0o600)
	if _, summary := runMatchCLI(t, "--indicators", "testdata/indicators.json", "--events", um); !strings.Contains(summary,
		"hint: 6 of the 6 columns are not in CommonSecurityLog's schema: if these rows are of another table, give it with --table or a Type column") {
		t.Errorf("no hint:\n%s", summary)
	}

	// Lower-cased names still reach the built-in rules; a custom table's
	// declared column types are checked.
	dir := t.TempDir()
	rule := filepath.Join(dir, "duo.yaml")
	os.WriteFile(rule, []byte("id: duo-test\nname: Duo test\nseverity: Low\ntable: Duo_CL\n"+
		"columns: {access_device_ip_s: string, port_d: real}\ncandidates:\n  - {column: access_device_ip_s, type: ip}\nproject: {log: [port_d]}\n"), 0o600)
	rows := filepath.Join(dir, "rows.ndjson")
	os.WriteFile(rows, []byte(`{"type":"x","Type":"DnsEvents","timegenerated":"2026-11-30T09:00:00Z","name":"higan.org"}`+"\n"+
		`{"Type":"Duo_CL","TimeGenerated":"2026-11-30T09:00:00Z","access_device_ip_s":"198.51.100.1","port_d":"four"}`+"\n"), 0o600)
	alerts, summary := runMatchCLI(t, "--indicators", "testdata/indicators.json", "--rules", rule, "--events", rows,
		"--now", "2026-11-30T10:00:00Z")
	var got []string
	for _, a := range alerts {
		got = append(got, a.RuleId+" "+a.MatchedValue)
	}
	slices.Sort(got)
	if want := []string{"85aca4d1-5d15-4001-abd9-acb86ca1786a higan.org", "duo-test 198.51.100.1"}; !slices.Equal(got, want) {
		t.Errorf("alerts %v, want %v\n%s", got, want, summary)
	}
	for _, want := range []string{
		`rows.ndjson:1: DnsEvents.name: read as Name (column names are case-sensitive) (1 row)`,
		`rows.ndjson:1: DnsEvents.timegenerated: read as TimeGenerated`,
		`rows.ndjson:1: DnsEvents.type: read as Type`,
		`rows.ndjson:2: Duo_CL.port_d: "four" is not a real; column left empty (1 row)`,
	} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
}

// TestMatchJoinAcrossLines: the join state keeps the partner row's key
// past the line it came from (the reader reuses its line buffer).
func TestMatchJoinAcrossLines(t *testing.T) {
	dir := t.TempDir()
	rows := filepath.Join(dir, "mail.ndjson")
	lines := []string{
		`{"Type":"EmailEvents","TimeGenerated":"2026-11-30T09:00:00Z","NetworkMessageId":"6a1b0c2d-0000-4000-8000-00000000aaaa","DeliveryAction":"Delivered","RecipientEmailAddress":"bob@contoso.com"}`,
		`{"Type":"EmailEvents","TimeGenerated":"2026-11-30T09:00:01Z","NetworkMessageId":"ffffffff-ffff-4fff-8fff-ffffffffffff","DeliveryAction":"Delivered","RecipientEmailAddress":"eve@contoso.com"}`,
		`{"Type":"EmailUrlInfo","TimeGenerated":"2026-11-30T09:00:02Z","NetworkMessageId":"6a1b0c2d-0000-4000-8000-00000000aaaa","Url":"http://evil.example/login","UrlDomain":"evil.example"}`,
	}
	// Filler rows between the partner and the URL row, so the reader's
	// buffer is overwritten in between.
	var filler []string
	for i := range 3000 {
		filler = append(filler, fmt.Sprintf(`{"Type":"EmailEvents","TimeGenerated":"2026-11-30T09:00:01Z","NetworkMessageId":"%08x-ffff-4fff-8fff-ffffffffffff","DeliveryAction":"Delivered"}`, i))
	}
	lines = slices.Concat(lines[:1], filler, lines[1:])
	os.WriteFile(rows, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	alerts, summary := runMatchCLI(t, "--indicators", "testdata/indicators.json", "--events", rows, "--now", "2026-11-30T10:00:00Z")
	var got []string
	for _, a := range alerts {
		got = append(got, a.RuleId+" "+a.MatchedValue+" "+fmt.Sprint(a.ExtendedProperties["RecipientEmailAddress"]))
	}
	slices.Sort(got)
	// R05 and R37 both read the URL and its domain; the recipient comes
	// from the joined EmailEvents row of the same NetworkMessageId.
	const r05, r37 = "87cc75df-d7b2-44f1-b064-ee924edfc879", "a0038239-72f4-4f7b-90ff-37f89f7881e0"
	want := []string{
		r05 + " evil.example bob@contoso.com", r05 + " http://evil.example/login bob@contoso.com",
		r37 + " evil.example bob@contoso.com", r37 + " http://evil.example/login bob@contoso.com",
	}
	if !slices.Equal(got, want) {
		t.Errorf("alerts %q, want %q\n%s", got, want, summary)
	}
}

// TestMatchCompatDedupAcrossLines: in compat mode alerts are grouped by a
// row column (R13: IndicatorId, DestinationUserID); the group key must not
// alias the CEF line, which the reader overwrites (it once corrupted the
// aggregator's map and crashed on large files).
func TestMatchCompatDedupAcrossLines(t *testing.T) {
	dir := t.TempDir()
	pan := func(ms int64, user string) string {
		return fmt.Sprintf("CEF:0|Palo Alto Networks|PAN-OS|10.1.0|wildfire|THREAT|3|rt=%d app=smtp duid=%s src=203.0.113.50 dst=198.51.100.20", ms, user)
	}
	const t0 = 1796032000000 // 2026-11-30T09:46:40Z
	lines := []string{pan(t0, "phish@evil.example")}
	for i := range 3000 {
		lines = append(lines, pan(t0+1000, fmt.Sprintf("user%05d@contoso.example", i)))
	}
	lines = append(lines, pan(t0+2000, "phish@evil.example"))
	events, inds := filepath.Join(dir, "pan.cef"), filepath.Join(dir, "mail.txt")
	os.WriteFile(events, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	os.WriteFile(inds, []byte("phish@evil.example\n"), 0o600)
	alerts, summary := runMatchCLI(t, "--compat", "sentinel", "--indicators", inds, "--events", events, "--now", "2026-11-30T10:10:00Z")
	if len(alerts) != 1 || alerts[0].RuleId != rR13 || alerts[0].EventCount != 2 {
		t.Errorf("alerts %+v, want one R13 alert counting 2 rows\n%s", alerts, summary)
	}
}

// TestMatchCompatKeepsVersions: with --compat sentinel the store keeps an
// indicator's older versions, so R20's ConfidenceScore > 50, which Sentinel
// tests before keeping the latest row (spec §0.3 item 3), finds the older
// version at 60 when the newest is at 40. timap's semantics use the newest.
func TestMatchCompatKeepsVersions(t *testing.T) {
	const rR20 = "f9949656-473f-4503-bf43-a9d9890f7d08"
	count := func(extra ...string) (n int) {
		args := append([]string{"--indicators", "testdata/versions/v1.json,testdata/versions/v2.json",
			"--events", "testdata/versions/appservice.ndjson", "--now", "2026-11-30T10:10:00Z"}, extra...)
		alerts, _ := runMatchCLI(t, args...)
		for _, a := range alerts {
			if a.RuleId == rR20 && a.MatchedValue == "203.0.113.77" && a.ExtendedProperties["ConfidenceScore"] == 60.0 {
				n++
			}
		}
		return n
	}
	if n := count("--compat", "sentinel"); n != 1 {
		t.Errorf("compat: %d alerts through the version at 60, want 1", n)
	}
	if n := count(); n != 0 {
		t.Errorf("default: %d alerts, want 0", n)
	}
}

// TestMatchOverridesBuiltin: a rule file with a built-in rule's id (an
// edited copy) replaces that rule; the built-in files validate as they are.
func TestMatchOverridesBuiltin(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"rules", "validate", "../../rules/sentinel"}, &out, &errb); code != 0 || out.String() != "53 rules valid\n" {
		t.Errorf("validate the built-in files: %d\n%s%s", code, out.String(), errb.String())
	}
	src, err := os.ReadFile("../../rules/sentinel/R03-domain-dnsevents.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mine := filepath.Join(dir, "my-r03.yaml")
	os.WriteFile(mine, bytes.Replace(src, []byte("severity: Medium"), []byte("severity: High"), 1), 0o600)
	rows := filepath.Join(dir, "dns.ndjson")
	os.WriteFile(rows, []byte(`{"Type":"DnsEvents","TimeGenerated":"2026-11-30T09:00:00Z","Name":"higan.org","SubType":"LookupQuery"}`+"\n"), 0o600)
	var stdout, stderr bytes.Buffer
	code := run([]string{"match", "--indicators", "testdata/indicators.json", "--rules", mine, "--events", rows, "--now", "2026-11-30T10:00:00Z"}, &stdout, &stderr)
	if code != 0 || !strings.Contains(stderr.String(), "my-r03.yaml replaces built-in rule R03 TI map Domain entity to DnsEvents") {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	var sev []string
	for line := range strings.Lines(stdout.String()) {
		var a struct{ RuleId, AlertSeverity string }
		json.Unmarshal([]byte(line), &a)
		sev = append(sev, a.RuleId+" "+a.AlertSeverity)
	}
	if want := []string{"85aca4d1-5d15-4001-abd9-acb86ca1786a High"}; !slices.Equal(sev, want) {
		t.Errorf("alerts %v, want %v (one R03 alert, the edited copy's severity)", sev, want)
	}
}

// TestMatchEventsDirectory: a directory of events is read file by file,
// hidden files skipped; a JSON array line is a bad NDJSON row.
func TestMatchEventsDirectory(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "fw", ".cache"), 0o700)
	cefRows, err := os.ReadFile("testdata/events.cef")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "fw", "a.cef"), cefRows, 0o600)
	os.WriteFile(filepath.Join(dir, "fw", ".cache", "junk"), []byte("junk\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "b.ndjson"), []byte("[1,2]\n"), 0o600)
	alerts, summary := runMatchCLI(t, "--indicators", "testdata/indicators.json", "--events", dir, "--now", "2026-11-30T10:10:00Z")
	want, _ := runMatchCLI(t, "--indicators", "testdata/indicators.json", "--events", "testdata/events.cef", "--now", "2026-11-30T10:10:00Z")
	if len(alerts) != len(want) || len(alerts) == 0 {
		t.Errorf("%d alerts from the directory, %d from the file", len(alerts), len(want))
	}
	for _, s := range []string{"events: 2 files (0 unreadable)", "b.ndjson:1: tabular: offset 0: want a JSON object"} {
		if !strings.Contains(summary, s) {
			t.Errorf("summary lacks %q:\n%s", s, summary)
		}
	}
}

// TestMatchJoinLateRelease: a link parked until its mail row comes is
// counted into its own hour's alert even when later rows have moved past
// that hour (it was written twice, with the count split).
func TestMatchJoinLateRelease(t *testing.T) {
	dir := t.TempDir()
	inds, rows := filepath.Join(dir, "bad.txt"), filepath.Join(dir, "mail.ndjson")
	os.WriteFile(inds, []byte("evil.example.com\n"), 0o600)
	os.WriteFile(rows, []byte(strings.Join([]string{
		`{"TimeGenerated":"2026-11-30T13:06:54Z","Type":"EmailUrlInfo","NetworkMessageId":"m1","Url":"http://evil.example.com/a","UrlDomain":"evil.example.com"}`,
		`{"TimeGenerated":"2026-11-30T13:15:00Z","Type":"EmailEvents","NetworkMessageId":"m2","DeliveryAction":"Delivered"}`,
		`{"TimeGenerated":"2026-11-30T13:15:07Z","Type":"EmailUrlInfo","NetworkMessageId":"m2","Url":"http://evil.example.com/b","UrlDomain":"evil.example.com"}`,
		`{"TimeGenerated":"2026-11-30T14:01:00Z","Type":"EmailEvents","NetworkMessageId":"m3","DeliveryAction":"Delivered"}`,
		`{"TimeGenerated":"2026-11-30T14:01:05Z","Type":"EmailUrlInfo","NetworkMessageId":"m3","Url":"http://evil.example.com/c","UrlDomain":"evil.example.com"}`,
		`{"TimeGenerated":"2026-11-30T14:05:00Z","Type":"EmailEvents","NetworkMessageId":"m1","DeliveryAction":"Delivered"}`,
	}, "\n")+"\n"), 0o600)
	alerts, summary := runMatchCLI(t, "--indicators", inds, "--events", rows, "--now", "2026-11-30T12:00:00Z")
	const r05 = "87cc75df-d7b2-44f1-b064-ee924edfc879"
	var got []string
	for _, a := range alerts {
		if a.RuleId == r05 {
			got = append(got, fmt.Sprintf("%s-%s %d", a.StartTime, a.EndTime, a.EventCount))
		}
	}
	slices.Sort(got)
	// 13:00 hour: links a and b (a released at 14:05); 14:00 hour: c.
	if want := []string{"2026-11-30T13:06:54Z-2026-11-30T13:15:07Z 2", "2026-11-30T14:01:05Z-2026-11-30T14:01:05Z 1"}; !slices.Equal(got, want) {
		t.Errorf("R05 alerts %v, want %v\n%s", got, want, summary)
	}
}

// TestMatchOutOfOrderRows: a batch run counts rows into their hour's
// alert whatever their order (a later row once closed the window and the
// earlier hour's alert was written twice, with the count split).
func TestMatchOutOfOrderRows(t *testing.T) {
	dir := t.TempDir()
	inds, rows := filepath.Join(dir, "feed.txt"), filepath.Join(dir, "dns.ndjson")
	os.WriteFile(inds, []byte("evil.example\n"), 0o600)
	os.WriteFile(rows, []byte(strings.Join([]string{
		`{"Type":"DnsEvents","TimeGenerated":"2026-11-30T08:10:00Z","Name":"evil.example","SubType":"LookupQuery"}`,
		`{"Type":"DnsEvents","TimeGenerated":"2026-11-30T10:30:00Z","Name":"evil.example","SubType":"LookupQuery"}`,
		`{"Type":"DnsEvents","TimeGenerated":"2026-11-30T08:20:00Z","Name":"evil.example","SubType":"LookupQuery"}`,
	}, "\n")+"\n"), 0o600)
	alerts, summary := runMatchCLI(t, "--indicators", inds, "--events", rows, "--now", "2026-11-30T12:00:00Z")
	var got []string
	for _, a := range alerts {
		got = append(got, fmt.Sprintf("%s-%s %d", a.StartTime, a.EndTime, a.EventCount))
	}
	slices.Sort(got)
	if want := []string{"2026-11-30T08:10:00Z-2026-11-30T08:20:00Z 2", "2026-11-30T10:30:00Z-2026-11-30T10:30:00Z 1"}; !slices.Equal(got, want) {
		t.Errorf("alerts %v, want %v\n%s", got, want, summary)
	}
}
