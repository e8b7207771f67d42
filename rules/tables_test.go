package rules

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"timap/engine"
)

func TestTables(t *testing.T) {
	ts, err := Tables()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"AADNonInteractiveUserSignInLogs", "ASimAuditEventLogs", "AWSCloudTrail", "AppServiceHTTPLogs", "AuditLogs",
		"AzureActivity", "AzureDiagnostics", "AzureNetworkAnalytics_CL", "CloudAppEvents", "CommonSecurityLog",
		"DeviceFileEvents", "DeviceNetworkEvents", "DnsEvents", "DuoSecurityAuthentication_CL", "EmailEvents",
		"EmailUrlInfo", "GitHubAudit", "OfficeActivity", "SecurityAlert", "SecurityEvent", "SigninLogs", "Syslog",
		"ThreatIntelligenceIndicator", "UrlClickEvents", "VMConnection", "W3CIISLog", "WindowsEvent", "WireData",
		"_Im_Dns", "_Im_NetworkSession", "_Im_WebSession",
	}
	var got []string
	for name, tb := range ts {
		got = append(got, name)
		for _, c := range standardColumns {
			if !tb.Has(c) {
				t.Errorf("%s lacks %s", name, c)
			}
		}
		if tb.Source == "" {
			t.Errorf("%s: no source", name)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("tables %v, want %v", got, want)
	}

	// Every indicator column the engine fills is a ThreatIntelligenceIndicator
	// column (LatestIndicatorTime is Sentinel's name for its TimeGenerated).
	for _, c := range engine.TIColumns() {
		if c != "LatestIndicatorTime" && !ts["ThreatIntelligenceIndicator"].Has(c) {
			t.Errorf("TI column %s not in the ThreatIntelligenceIndicator schema", c)
		}
	}

	// CommonSecurityLog is the ASIM sample schema, column for column.
	f, err := os.Open("../connectors/cef/testdata/CommonSecurityLog_Schema.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	csl := ts["CommonSecurityLog"]
	if len(csl.Columns) != len(recs)-1 {
		t.Errorf("CommonSecurityLog: %d columns, the schema CSV has %d", len(csl.Columns), len(recs)-1)
	}
	for _, r := range recs[1:] {
		if csl.Columns[r[0]].String() != r[3] {
			t.Errorf("CommonSecurityLog.%s: type %q, want %q", r[0], csl.Columns[r[0]], r[3])
		}
	}

	// Even dynamic-schema and custom tables list their columns: a typo in a
	// suffixed column is caught too.
	for tn, cols := range map[string][]string{"AzureDiagnostics": {"msg_s", "Resource", "client_ip_s"}, "AzureNetworkAnalytics_CL": {"PublicIPs_s", "FlowStatus_s"}} {
		for _, c := range cols {
			if !ts[tn].Has(c) {
				t.Errorf("%s lacks %s", tn, c)
			}
		}
		if ts[tn].Has("anything_s") {
			t.Errorf("%s accepts any _s column", tn)
		}
	}
}

// Every built-in rule reads only tables with a schema (none needs a
// columns block), and every column it names is in them.
func TestBuiltinTablesKnown(t *testing.T) {
	ts, err := Tables()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		for _, tn := range r.AllTables() {
			if ts[tn] == nil {
				t.Errorf("%s: table %s has no schema", r.Name, tn)
			}
		}
	}
	entries, _ := fs.ReadDir(builtin, "sentinel")
	for _, e := range entries {
		data, _ := fs.ReadFile(builtin, "sentinel/"+e.Name())
		if strings.Contains(string(data), "\ncolumns:") {
			t.Errorf("%s declares columns", e.Name())
		}
	}
}

// A typo in a column of any built-in rule file is reported with the
// file, the line of the offending item and the field.
func TestBuiltinColumnTypos(t *testing.T) {
	entries, err := fs.ReadDir(builtin, "sentinel")
	if err != nil {
		t.Fatal(err)
	}
	candCol := regexp.MustCompile(`(?m)^  - \{column: (\w+)`)
	n := 0
	for _, e := range entries {
		name := "sentinel/" + e.Name()
		data, _ := fs.ReadFile(builtin, name)
		src := string(data)
		// The first list item whose column is a row column: a filter or a
		// candidate (filters come first in every file that has them).
		loc := candCol.FindStringSubmatchIndex(src)
		if loc == nil {
			t.Errorf("%s: no column item", name)
			continue
		}
		line := strings.Count(src[:loc[0]], "\n") + 1
		bad := src[:loc[2]] + "Typo" + src[loc[2]:]
		_, err := Parse(name, []byte(bad))
		var re *Error
		if !errors.As(err, &re) {
			t.Errorf("%s: error %v, want a *rules.Error", name, err)
			continue
		}
		col := src[loc[2]:loc[3]]
		want := fmt.Sprintf("%s:%d: ", name, line)
		if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), `"Typo`+col+`" is not a column of `) ||
			!(strings.Contains(err.Error(), ": filters[") || strings.Contains(err.Error(), ": candidates[")) {
			t.Errorf("%s: error %q, want %q… naming Typo%s", name, err, want, col)
		}
		n++
	}
	if n != 53 {
		t.Errorf("%d rule files checked, want 53", n)
	}
}

func TestColumnErrors(t *testing.T) {
	tests := []struct {
		name, edit, want string
	}{
		{"candidate typo", "column: Name, type: domain|column: Nmae, type: domain", `t.yaml:8: candidates[0]: "Nmae" is not a column of DnsEvents`},
		{"case typo suggests", "column: Name, type: domain|column: name, type: domain", `(did you mean "Name"?)`},
		{"filter typo", "column: SubType|column: Subtype", `t.yaml:6: filters[0]: "Subtype" is not a column of DnsEvents (did you mean "SubType"?)`},
		{"project.log typo", "log: [Name, ClientIP]|log: [Name,\n    ClientIp]", `t.yaml:12: project.log[1]: "ClientIp" is not a column of DnsEvents`},
		{"entity typo", "{DomainName: Name}|{DomainName: Nam}", `t.yaml:14: entities[0]: "Nam" is not a column of DnsEvents`},
		{"template typo", "table: DnsEvents|table: DnsEvents\nalert_name: Lookup by {{ClientIp}}", `t.yaml:5: alert_name: "ClientIp" is not a column of DnsEvents`},
		{"derive arg typo", "table: DnsEvents|table: CommonSecurityLog\nderive:\n  - {column: PA_Url, func: pa_url, args: [RequestUrl, AdditionalExtensions, ApplicationProtocol]}",
			`t.yaml:6: derive[0]: "RequestUrl" is not a column of CommonSecurityLog (did you mean "RequestURL"?)`},
		// Filters run before derivations: they cannot read derived columns.
		{"filter on derived column", "column: SubType, op: \"=~\", value: LookupQuery|column: PA_Url, op: isnotempty",
			`t.yaml:6: filters[0]: "PA_Url" is not a column of DnsEvents`},
		{"unknown table", "table: DnsEvents|table: MyApp_CL", `t.yaml:4: table: no schema for table "MyApp_CL" (timap rules tables lists the known ones); declare the columns of a custom table under columns:`},
		{"table in another case", "table: DnsEvents|table: dnsevents", `t.yaml:4: table: no schema for table "dnsevents" (did you mean "DnsEvents"?)`},
		{"unknown second table", "table: DnsEvents|table: DnsEvents\ntables: [Dns_CL]", `t.yaml:5: tables[0]: no schema for table "Dns_CL"`},
		{"bad column type", "table: DnsEvents|table: DnsEvents\ncolumns: {Extra: text}", `t.yaml:5: columns.Extra: type "text" is not one of`},
		{"custom table typo", "table: DnsEvents|table: My_CL\ncolumns: {Name: string, SubType: string, ClientIP: string}", `"Computer" is not a column of My_CL`},
	}
	for _, tt := range tests {
		old, new, _ := strings.Cut(tt.edit, "|")
		src := strings.Replace(valid, old, new, 1)
		switch tt.name {
		case "custom table typo":
			src = strings.Replace(src, "log: [Name, ClientIP]", "log: [Name, ClientIP, Computer]", 1)
		case "derive arg typo":
			src = strings.Replace(src, "column: SubType, op: \"=~\", value: LookupQuery", "column: DeviceEventClassID, op: \"=~\", value: url", 1)
		}
		_, err := Parse("t.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want it to contain %q", tt.name, err, tt.want)
		}
	}

	ok := []struct{ name, edit string }{
		// A custom table validates against its columns block.
		{"custom table", "table: DnsEvents|table: My_CL\ncolumns: {Name: string, SubType: string, ClientIP: string}"},
		// columns adds to a known table's schema.
		{"extra column", "log: [Name, ClientIP]|log: [Name, ClientIP, MyEnrichment]\ncolumns: {MyEnrichment: string}"},
		// Multi-table rules read the union of their tables' columns.
		{"union", "table: DnsEvents|table: DnsEvents\ntables: [Syslog]\n"},
		// TI columns and MatchedValue in entities are not row columns.
		{"TI entity", "{DomainName: Name}|{DomainName: MatchedValue, Url: Url}"},
		// Derived columns count for candidates, projections and entities.
		{"derived", "table: DnsEvents|table: CommonSecurityLog\nderive:\n  - {column: PA_Url, func: pa_url, args: [RequestURL, AdditionalExtensions, ApplicationProtocol]}"},
	}
	for _, tt := range ok {
		old, new, _ := strings.Cut(tt.edit, "|")
		src := strings.Replace(valid, old, new, 1)
		switch tt.name {
		case "union":
			src = strings.Replace(src, "log: [Name, ClientIP]", "log: [Name, ClientIP, SyslogMessage]", 1)
		case "derived":
			src = strings.NewReplacer("column: SubType, op: \"=~\", value: LookupQuery", "column: DeviceEventClassID, op: \"=~\", value: url",
				"{column: Name, type: domain, subdomains: true}", "{column: PA_Url, type: domain, extract: url_host}",
				"log: [Name, ClientIP]", "log: [PA_Url, SourceIP]", "{DomainName: Name}", "{Url: PA_Url}").Replace(src)
		}
		if _, err := Parse("t.yaml", []byte(src)); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func TestJoinColumns(t *testing.T) {
	const src = `id: j
name: J
severity: Medium
table: EmailUrlInfo
candidates:
  - {column: Url, type: url}
join:
  table: EmailEvents
  on: NetworkMessageId
  filters:
    - {column: DeliveryAction, op: "!has", value: Blocked}
  columns: [RecipientEmailAddress]
project:
  log: [Url, RecipientEmailAddress]
entities:
  - type: Account
    identifiers: {FullName: RecipientEmailAddress}
`
	if _, err := Parse("j.yaml", []byte(src)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, old, new, want string }{
		{"filter typo", "column: DeliveryAction", "column: DeliveryActoin", `j.yaml:11: join.filters[0]: "DeliveryActoin" is not a column of EmailEvents`},
		{"column typo", "columns: [RecipientEmailAddress]", "columns: [Recipient]", `j.yaml:12: join.columns[0]: "Recipient" is not a column of EmailEvents`},
		{"key not in both", "on: NetworkMessageId", "on: Subject", `j.yaml:9: join.on: "Subject" is not a column of both EmailUrlInfo and EmailEvents`},
		{"key in another case", "on: NetworkMessageId", "on: NetworkMessageID", `j.yaml:9: join.on: "NetworkMessageID" is not a column of both EmailUrlInfo and EmailEvents (did you mean "NetworkMessageId"?)`},
		{"unknown table", "table: EmailEvents", "table: Mail_CL", `j.yaml:8: join.table: no schema for table "Mail_CL"`},
		{"partner column not kept", "log: [Url, RecipientEmailAddress]", "log: [Url, Subject]",
			`j.yaml:14: project.log[1]: "Subject" is not a column of EmailUrlInfo nor a join column (RecipientEmailAddress)`},
		{"primary filter on a partner column", "candidates:", "filters:\n  - {column: RecipientEmailAddress, op: isnotempty}\ncandidates:",
			`j.yaml:6: filters[0]: "RecipientEmailAddress" is not a column of EmailUrlInfo`},
	} {
		_, err := Parse("j.yaml", []byte(strings.Replace(src, tt.old, tt.new, 1)))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestLoadCustomTable(t *testing.T) {
	dir := t.TempDir()
	rule := `id: custom-1
name: My app logins
severity: Low
table: MyApp_CL
columns:
  client_ip_s: string
  user_s: string
candidates:
  - {column: client_ip_s, type: ip}
project:
  log: [user_s]
`
	os.WriteFile(path.Join(dir, "custom.yaml"), []byte(rule), 0o644)
	os.WriteFile(path.Join(dir, "typo.yaml"), []byte(strings.Replace(rule, "log: [user_s]", "log: [usr_s]", 1)), 0o644)
	rs, err := Load(dir)
	if len(rs) != 1 || rs[0].Table != "MyApp_CL" {
		t.Errorf("Load: %d rules", len(rs))
	}
	if err == nil || !strings.Contains(err.Error(), `typo.yaml:11: project.log[0]: "usr_s" is not a column of MyApp_CL`) {
		t.Errorf("Load error %v", err)
	}
}

func TestParseTableErrors(t *testing.T) {
	good := "table: X\nsource: s\ncolumns: {TenantId: string, TimeGenerated: datetime, Type: string, SourceSystem: string}\n"
	if _, err := parseTable("tables/X.yaml", []byte(good)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, file, src, want string }{
		{"file name", "tables/Y.yaml", good, `tables/Y.yaml:1: table: "X" in file Y.yaml`},
		{"type", "tables/X.yaml", strings.Replace(good, "Type: string", "Type: str", 1), `tables/X.yaml:3: columns.Type: type "str" is not one of`},
		{"standard", "tables/X.yaml", strings.Replace(good, "TenantId: string, ", "", 1), "columns: TenantId is missing"},
		{"unknown key", "tables/X.yaml", good + "colums: {}\n", `tables/X.yaml:4: colums: unknown key (did you mean "columns"?)`},
		{"not a mapping", "tables/X.yaml", "just text\n", "tables/X.yaml:1: want a mapping of table keys (table, source, notes, columns), got a string"},
		{"columns type", "tables/X.yaml", good + "notes: [a]\n", "tables/X.yaml:4: notes: want a string, got a list"},
	} {
		_, err := parseTable(tt.file, []byte(tt.src))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestCompatColumns: the columns a sentinel.compat block names (its
// candidates, filters and derivation arguments, which replace the rule's
// own under --compat sentinel) are checked against the table schemas like
// the rule's own, at their line.
func TestCompatColumns(t *testing.T) {
	const paURL = "{column: PA_Url, func: pa_url, args: [RequestURL, AdditionalExtensions, ApplicationProtocol]}"
	csl := strings.NewReplacer("table: DnsEvents", "table: CommonSecurityLog",
		"column: SubType, op: \"=~\", value: LookupQuery", "column: DeviceEventClassID, op: \"=~\", value: url",
		"{column: Name, type: domain, subdomains: true}", "{column: RequestURL, type: url}",
		"log: [Name, ClientIP]", "log: [RequestURL]", "{DomainName: Name}", "{Url: RequestURL}").Replace(valid)
	for _, tt := range []struct{ name, src, want string }{
		{"candidate", valid + "sentinel:\n  compat:\n    candidates: [{column: Nope, type: ip}]\n",
			`t.yaml:17: sentinel.compat.candidates[0]: "Nope" is not a column of DnsEvents`},
		{"candidate case", valid + "sentinel:\n  compat:\n    candidates:\n      - {column: Name, type: domain}\n      - {column: clientIP, type: ip}\n",
			`t.yaml:19: sentinel.compat.candidates[1]: "clientIP" is not a column of DnsEvents (did you mean "ClientIP"?)`},
		{"filter", valid + "sentinel:\n  compat:\n    filters:\n      - {column: Subtype, op: isnotempty}\n",
			`t.yaml:18: sentinel.compat.filters[0]: "Subtype" is not a column of DnsEvents (did you mean "SubType"?)`},
		{"derive argument", csl + "sentinel:\n  compat:\n    derive:\n      - {column: PA_Url, func: kql_pa_url_r01, args: [RequestUrl, AdditionalExtensions, ApplicationProtocol]}\n",
			`t.yaml:18: sentinel.compat.derive[0]: "RequestUrl" is not a column of CommonSecurityLog (did you mean "RequestURL"?)`},
		// Filters run before derivations, in compat mode too.
		{"filter on a derived column", csl + "sentinel:\n  compat:\n    filters: [{column: PA_Url, op: isnotempty}]\n    derive: [" + paURL + "]\n",
			`t.yaml:17: sentinel.compat.filters[0]: "PA_Url" is not a column of CommonSecurityLog`},
		// A compat derive list replaces the rule's: the rule's derived
		// columns are gone.
		{"rule's derived column replaced", strings.Replace(csl, "project:", "derive: ["+paURL+"]\nproject:", 1) +
			"sentinel:\n  compat:\n    derive: [{column: U, func: pa_url, args: [RequestURL, AdditionalExtensions, ApplicationProtocol]}]\n    candidates: [{column: pa_url, type: url}]\n",
			`t.yaml:19: sentinel.compat.candidates[0]: "pa_url" is not a column of CommonSecurityLog`},
		// In a join rule the partner's columns are not offered for compat
		// candidates (they are read before the join).
		{"join rule", "id: j\nname: J\nseverity: Medium\ntable: EmailUrlInfo\ncandidates: [{column: Url, type: url}]\n" +
			"join: {table: EmailEvents, on: NetworkMessageId, columns: [RecipientEmailAddress]}\n" +
			"sentinel:\n  compat:\n    candidates: [{column: RecipientEmailAddress, type: email}]\n",
			`t.yaml:9: sentinel.compat.candidates[0]: "RecipientEmailAddress" is not a column of EmailUrlInfo`},
	} {
		_, err := Parse("t.yaml", []byte(tt.src))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.name, err, tt.want)
		}
	}
	for _, tt := range []struct{ name, src string }{
		{"compat derived candidate", csl + "sentinel:\n  compat:\n    derive: [" + paURL + "]\n    candidates: [{column: PA_Url, type: url}]\n"},
		{"rule's derived candidate", strings.Replace(csl, "project:", "derive: ["+paURL+"]\nproject:", 1) +
			"sentinel:\n  compat:\n    candidates: [{column: PA_Url, type: url}]\n"},
		{"declared column", valid + "columns: {Mine: string}\nsentinel:\n  compat:\n    candidates: [{column: Mine, type: ip}]\n"},
	} {
		if _, err := Parse("t.yaml", []byte(tt.src)); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

// TestColumnsRetype: a rule's columns block may add columns to a known
// table, not give one of its columns another type or another case.
func TestColumnsRetype(t *testing.T) {
	for _, tt := range []struct{ name, columns, want string }{
		{"retyped", "{TimeGenerated: string}",
			"t.yaml:16: columns.TimeGenerated: TimeGenerated is a datetime column of DnsEvents, not string (columns: may add columns to a known table, not change their type)"},
		{"retyped second table", "{Extra: string, SyslogMessage: dynamic}",
			"t.yaml:16: columns.SyslogMessage: SyslogMessage is a string column of Syslog, not dynamic (columns: may add columns to a known table, not change their type)"},
		{"other case", "{clientip: string}",
			`t.yaml:16: columns.clientip: DnsEvents already has ClientIP, and column names are case-sensitive (did you mean "ClientIP"?)`},
		{"same type", "{TimeGenerated: datetime, ClientIP: string}", ""},
		{"new column", "{MyEnrichment: dynamic}", ""},
	} {
		src := strings.Replace(valid, "table: DnsEvents", "table: DnsEvents\ntables: [Syslog]", 1)
		src = strings.Replace(src, "severity: Low\n", "", 1) + "severity: Low\ncolumns: " + tt.columns + "\n"
		r, err := Parse("t.yaml", []byte(src))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want == "":
			if _, ok := r.Columns["TimeGenerated"]; tt.name == "same type" && !ok {
				t.Errorf("%s: columns %v", tt.name, r.Columns)
			}
		case err == nil || err.Error() != tt.want:
			t.Errorf("%s:\n got %v\nwant %s", tt.name, err, tt.want)
		}
	}
}
