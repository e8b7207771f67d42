package rules

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"timap/engine"
)

func TestBuiltin(t *testing.T) {
	rs, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, r := range rs {
		ids[r.ID] = r.Name
	}
	for id, name := range map[string]string{
		"66c81ae2-1f89-4433-be00-2fbbd9ba5ebe": "TI Map IP Entity to CommonSecurityLog",
		"dd0a6029-ecef-4507-89c4-fc355ac52111": "TI map Domain entity to PaloAlto CommonSecurityLog",
		"ec21493c-2684-4acd-9bc2-696dbad72426": "TI map Domain entity to PaloAlto",
		"106813db-679e-4382-a51b-1bfc463befc3": "TI Map URL Entity to PaloAlto Data",
		"5d33fc63-b83b-4913-b95e-94d13f0d379f": "TI map File Hash to CommonSecurityLog Event",
		"ffcd575b-3d54-482a-a6d8-d0de13b6ac63": "TI map Email entity to PaloAlto CommonSecurityLog",
	} {
		if ids[id] != name {
			t.Errorf("rule %s: name %q, want %q", id, ids[id], name)
		}
	}
	if len(rs) != 53 {
		t.Errorf("%d built-in rules, want 53 (R01–R53)", len(rs))
	}
	// They compile together into one executor.
	if _, err := engine.NewExecutor(engine.NewStore(engine.StoreOptions{}), rs, engine.ExecutorOptions{}); err != nil {
		t.Fatal(err)
	}
	// R27 keeps the shape: both address columns, Message last as a
	// fallback.
	for _, r := range rs {
		if r.ID != "66c81ae2-1f89-4433-be00-2fbbd9ba5ebe" {
			continue
		}
		c := r.Candidates
		if len(c) != 3 || c[0].Column != "SourceIP" || c[1].Column != "DestinationIP" || !c[2].Fallback || c[2].Extract != "first_ipv4" {
			t.Errorf("R27 candidates = %+v", c)
		}
	}
}

const valid = `id: 11111111-2222-3333-4444-555555555555
name: Test rule
severity: Low
table: DnsEvents
filters:
  - {column: SubType, op: "=~", value: LookupQuery}
candidates:
  - {column: Name, type: domain, subdomains: true}
project:
  ti: [IndicatorId, ThreatType]
  log: [Name, ClientIP]
entities:
  - type: DNS
    identifiers: {DomainName: Name}
`

func TestParseValid(t *testing.T) {
	r, err := Parse("t.yaml", []byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if r.Table != "DnsEvents" || !r.Candidates[0].Subdomains || r.Candidates[0].Type != engine.TypeDomain ||
		r.Filters[0].Values[0] != "LookupQuery" || r.Entities[0].Identifiers[0] != (engine.Identifier{Name: "DomainName", Column: "Name"}) {
		t.Errorf("parsed %+v", r)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, edit, want string
	}{
		{"unknown key", "severity: Low\nseverty: High", `t.yaml:4: severty: unknown key (did you mean "severity"?)`},
		{"bad severity", "severity: Low|severity: Urgent", `t.yaml:3: severity: "Urgent" is not`},
		{"missing table", "table: DnsEvents|", "t.yaml:1: table: required"},
		{"bad type", "type: domain, subdomains|type: hostname, subdomains", `t.yaml:8: candidates[0]: unknown observable type "hostname"`},
		{"bad op", `op: "=~"|op: "~~"`, `unknown filter operator "~~"`},
		{"bad extract", "type: domain, subdomains: true|type: domain, extract: rot13", `unknown extract "rot13"`},
		{"bad TI column", "ti: [IndicatorId, ThreatType]|ti: [IndicatorId, Threat]", `t.yaml:9: project: "Threat" is not a ThreatIntelligenceIndicator column`},
		{"bad yaml", "table: DnsEvents|table: [DnsEvents", "t.yaml:"},
	}
	for _, tt := range tests {
		src := valid
		if old, new, ok := strings.Cut(tt.edit, "|"); ok {
			src = strings.Replace(src, old, new, 1)
		} else {
			src = strings.Replace(src, "severity: Low", tt.edit, 1)
		}
		_, err := Parse("t.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want it to contain %q", tt.name, err, tt.want)
		}
		var re *Error
		if err != nil && !errors.As(err, &re) {
			t.Errorf("%s: %T is not *rules.Error", tt.name, err)
		}
	}
}

func TestLoadDirectoryCollectsErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "good.yaml"), []byte(valid), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(strings.Replace(valid, "severity: Low", "severity: Nope", 1)), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a rule"), 0o644)
	rs, err := Load(dir)
	if len(rs) != 1 || err == nil || !strings.Contains(err.Error(), "bad.yaml:3") {
		t.Errorf("Load: %d rules, err %v", len(rs), err)
	}
}

func TestParseJoin(t *testing.T) {
	src := `id: j
name: J
severity: Medium
table: EmailUrlInfo
candidates:
  - {column: Url, type: url}
join:
  table: EmailEvents
  on: NetworkMessageId
  window: 30m
  filters:
    - {column: DeliveryAction, op: "!has", value: Blocked}
  columns: [RecipientEmailAddress]
`
	r, err := Parse("j.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if j := r.Join; j == nil || j.Table != "EmailEvents" || j.On != "NetworkMessageId" || j.Window.Minutes() != 30 ||
		j.Filters[0].Op != engine.OpNotHas || j.Columns[0] != "RecipientEmailAddress" {
		t.Errorf("join %+v", r.Join)
	}
	if _, err := Parse("j.yaml", []byte(strings.Replace(src, "30m", "soon", 1))); err == nil || !strings.Contains(err.Error(), `j.yaml:10: join.window: "soon": want a positive duration`) {
		t.Errorf("bad window: %v", err)
	}
}

// TestLoaderFindings pins errors a trial user met: each names the file and
// the line or field.
func TestLoaderFindings(t *testing.T) {
	for _, tt := range []struct{ name, src, want string }{
		{"empty", "", "x.yaml:1: empty rule file"},
		{"two documents", valid + "---\n" + valid, "more than one YAML document: one rule per file"},
		{"bad filter op", strings.Replace(valid, `op: "=~"`, `op: "==~"`, 1), `x.yaml:6: filters[0]: unknown filter operator "==~"`},
		{"split without sep", strings.Replace(valid, "subdomains: true", "extract: split", 1), "x.yaml:8: candidates[0]: candidate Name: split needs a separator"},
		{"bad ti filter", strings.Replace(valid, "project:", "ti_filters:\n  - {column: ConfidenceScore, op: \">\", value: high}\nproject:", 1), `x.yaml:10: ti_filters[0]: ti filter ConfidenceScore >: "high" is not a number`},
	} {
		_, err := Parse("x.yaml", []byte(tt.src))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(valid), 0o644)
	os.WriteFile(filepath.Join(dir, "b.yaml"), []byte(valid), 0o644)
	rs, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckDuplicates(rs); err == nil || !strings.Contains(err.Error(), "b.yaml:1: id: 11111111-2222-3333-4444-555555555555 is already used by") {
		t.Errorf("duplicates: %v", err)
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no rule files") {
		t.Errorf("empty directory: %v", err)
	}
}

// TestParseCompatKeys reads the compat keys of spec §0.3 items 3, 6, 8 and
// T16 (derive, join, no_dedup, latest_pick, ti_filters pre_arg_max) and
// reports bad ones at the key's line.
func TestParseCompatKeys(t *testing.T) {
	src := valid + `ti_filters:
  - {column: ConfidenceScore, op: ">", value: "50", pre_arg_max: true}
sentinel:
  dedup: []
  compat:
    case: raw
    derive:
      - {column: PA_Url, func: kql_pa_url_r01, args: [RequestURL, AdditionalExtensions, ApplicationProtocol]}
    join: inner
    no_dedup: true
    latest_pick: false
columns: {RequestURL: string, AdditionalExtensions: string, ApplicationProtocol: string}
`
	r, err := Parse("c.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	c := r.Compat
	if !r.TIFilters[0].PreArgMax || !c.JoinInner || !c.NoDedup || !c.AnyVersion || len(c.Derive) != 1 || c.Derive[0].Func != "kql_pa_url_r01" {
		t.Errorf("parsed ti_filters %+v compat %+v", r.TIFilters, c)
	}
	// A candidate column's own case rule; an unknown mode is refused at its line.
	byCol := strings.Replace(src, "case: raw\n", "case: raw\n    case_by_column: {Name: ti_raw}\n", 1)
	if r, err := Parse("c.yaml", []byte(byCol)); err != nil || r.Compat.CaseByColumn["Name"] != "ti_raw" {
		t.Errorf("case_by_column: %v %+v", err, r)
	}
	bad := strings.Replace(src, "case: raw\n", "case: raw\n    case_by_column: {Name: sideways}\n", 1)
	if _, err := Parse("c.yaml", []byte(bad)); err == nil || err.Error() != `c.yaml:21: sentinel.compat.case_by_column.Name: "sideways": want one of raw, lower, upper, ti_raw, lower_or_upper, stem_raw, path_raw` {
		t.Errorf("bad case_by_column: %v", err)
	}
	// The defaults: innerunique, dedup, latest pick.
	plain := strings.NewReplacer("    join: inner\n", "    join: innerunique\n", "    no_dedup: true\n", "", "    latest_pick: false\n", "    latest_pick: true\n").Replace(src)
	if r, err := Parse("c.yaml", []byte(plain)); err != nil || r.Compat.JoinInner || r.Compat.NoDedup || r.Compat.AnyVersion {
		t.Errorf("defaults: %v %+v", err, r)
	}
	for _, tt := range []struct{ name, old, new, want string }{
		{"bad join", "join: inner", "join: outer", `c.yaml:23: sentinel.compat.join: "outer": want innerunique or inner`},
		{"bad derive", "func: kql_pa_url_r01", "func: kql_pa_url", `c.yaml:22: sentinel.compat.derive[0]: unknown function "kql_pa_url"`},
		{"derive arity", "args: [RequestURL, AdditionalExtensions, ApplicationProtocol]", "args: [RequestURL]", "c.yaml:22: sentinel.compat.derive[0]: kql_pa_url_r01 takes 3 columns, got 1"},
		{"no_dedup with a dedup key", "dedup: []", "dedup: [IndicatorId]", "c.yaml:24: sentinel.compat.no_dedup: the original dedups by [IndicatorId]"},
		{"unknown compat key", "no_dedup: true", "no_dedupe: true", `c.yaml:24: sentinel.compat.no_dedupe: unknown key (did you mean "no_dedup"?)`},
		{"bad pre_arg_max", "pre_arg_max: true", "pre_arg_max: yes please", `c.yaml:16: ti_filters[0].pre_arg_max: want true or false, got "yes please"`},
		{"latest_pick not a bool", "latest_pick: false", "latest_pick: newest", `c.yaml:25: sentinel.compat.latest_pick: want true or false, got "newest"`},
		{"case_by_column not a candidate", "case: raw\n", "case: raw\n    case_by_column: {Url: lower}\n", `c.yaml:21: sentinel.compat.case_by_column: "Url" is not a candidate column of the rule`},
	} {
		if !strings.Contains(src, tt.old) {
			t.Fatalf("%s: %q not in the source", tt.name, tt.old)
		}
		_, err := Parse("c.yaml", []byte(strings.Replace(src, tt.old, tt.new, 1)))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestLoaderMessages pins, message for message, how the loader words the
// errors a trial user met: YAML type errors name the dotted field and the
// types in plain words, unknown keys suggest the nearest known one, a file
// that is not a mapping says what a rule file is, and compat case modes
// are checked at their line.
func TestLoaderMessages(t *testing.T) {
	const cases = "raw, lower, upper, ti_raw, lower_or_upper, stem_raw, path_raw"
	block := strings.Replace(valid, "  - {column: Name, type: domain, subdomains: true}\n", "  - column: Name\n    type: domain\n    subdomains: banana\n", 1)
	for _, tt := range []struct{ name, src, want string }{
		// 1. type errors
		{"severity list", strings.Replace(valid, "severity: Low", "severity: [High]", 1), "b.yaml:3: severity: want a string, got a list"},
		{"tactics scalar", strings.Replace(valid, "severity: Low", "severity: Low\ntactics: CommandAndControl", 1),
			`b.yaml:4: tactics: want a list of strings, got "CommandAndControl" (a list of one is written [CommandAndControl])`},
		{"columns list", strings.Replace(valid, "severity: Low", "severity: Low\ncolumns: [SrcIp]", 1), "b.yaml:4: columns: want a mapping (column: KQL type), got a list"},
		{"column type list", strings.Replace(valid, "severity: Low", "severity: Low\ncolumns: {Extra: [string]}", 1), "b.yaml:4: columns.Extra: want a string, got a list"},
		{"subdomains flow", strings.Replace(valid, "subdomains: true", "subdomains: banana", 1), `b.yaml:8: candidates[0].subdomains: want true or false, got "banana"`},
		{"subdomains block", block, `b.yaml:10: candidates[0].subdomains: want true or false, got "banana"`},
		{"number", valid + "severity_by: {column: ConfidenceScore, above: [{value: high, severity: High}]}\n", `b.yaml:15: severity_by.above[0].value: want a number, got "high"`},
		{"whole number", valid + "join: {table: DnsEvents, on: Name, max_rows: lots}\n", `b.yaml:15: join.max_rows: want a whole number, got "lots"`},
		{"mapping", valid + "join: EmailEvents\n", `b.yaml:15: join: want a mapping, got "EmailEvents"`},
		{"list of mappings", strings.Replace(valid, "  - {column: Name, type: domain, subdomains: true}", "  - Name", 1), `b.yaml:8: candidates[0]: want a mapping, got "Name"`},
		{"long value", strings.Replace(valid, "subdomains: true", "subdomains: "+strings.Repeat("x", 50), 1), `b.yaml:8: candidates[0].subdomains: want true or false, got "` + strings.Repeat("x", 37) + `…"`},
		{"key twice", strings.Replace(valid, "severity: Low", "severity: Low\nseverity: High", 1), "b.yaml:4: severity: given twice (first at line 3)"},
		// 2. unknown keys
		{"top-level typo", strings.Replace(valid, "severity: Low", "severty: Low", 1), `b.yaml:3: severty: unknown key (did you mean "severity"?)`},
		{"case only", strings.Replace(valid, "severity: Low", "Severity: Low", 1), `b.yaml:3: Severity: unknown key (did you mean "severity"?)`},
		{"nested typo", strings.Replace(valid, "log:", "logs:", 1), `b.yaml:11: project.logs: unknown key (did you mean "log"?)`},
		{"compat typo", valid + "sentinel:\n  compat:\n    cas: raw\n", `b.yaml:17: sentinel.compat.cas: unknown key (did you mean "case"?)`},
		{"candidate typo", strings.Replace(valid, "subdomains: true", "subdomain: true", 1), `b.yaml:8: candidates[0].subdomain: unknown key (did you mean "subdomains"?)`},
		{"nothing close", strings.Replace(valid, "subdomains: true", "banana: true", 1),
			"b.yaml:8: candidates[0].banana: unknown key (valid keys: column, type, extract, sep, fallback, otherwise, subdomains, regex, group, field, first_only)"},
		// 3. not a mapping
		{"plain text", "This is not a rule.\nJust notes.\n", "b.yaml:1: want a mapping of rule keys (id, name, severity, table, …), got a string"},
		{"a list", "- id: x\n", "b.yaml:1: want a mapping of rule keys (id, name, severity, table, …), got a list"},
		// 5. compat case modes
		{"compat case", valid + "sentinel:\n  compat:\n    case: weird\n", `b.yaml:17: sentinel.compat.case: "weird": want one of ` + cases},
		{"compat case_by_column", valid + "sentinel:\n  compat:\n    case: raw\n    case_by_column:\n      Name: Lower\n",
			`b.yaml:19: sentinel.compat.case_by_column.Name: "Lower": want one of ` + cases},
		{"compat ti_ip_columns", valid + "sentinel:\n  compat:\n    ti_ip_columns:\n      - NetworkIP\n      - NetworkIp\n",
			`b.yaml:19: sentinel.compat.ti_ip_columns[1]: "NetworkIp" is not a TI IP column (want one of NetworkIP, NetworkDestinationIP, NetworkSourceIP, EmailSourceIpAddress)`},
		{"compat candidate", valid + "sentinel:\n  compat:\n    candidates:\n      - {column: Name, type: domain}\n      - {column: Name, type: hostname}\n",
			`b.yaml:19: sentinel.compat.candidates[1]: unknown observable type "hostname" (want ip, domain, url, email, filehash or filename)`},
		{"compat filter", valid + "sentinel:\n  compat:\n    filters:\n      - {column: Name, op: \"~~\", value: x}\n",
			`b.yaml:18: sentinel.compat.filters[0]: unknown filter operator "~~" (want one of =~ == !~ in~ in has !has startswith !startswith contains isnotempty matches)`},
	} {
		_, err := Parse("b.yaml", []byte(tt.src))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.name, err, tt.want)
		}
		var re *Error
		if err != nil && !errors.As(err, &re) {
			t.Errorf("%s: %T is not *rules.Error", tt.name, err)
		}
	}
}

// TestCheckDuplicatesLines: a reused id is reported at the id key of the
// later file, naming the earlier file and the line of its id.
func TestCheckDuplicatesLines(t *testing.T) {
	dir := t.TempDir()
	custom := "id: custom-1\nname: A\nseverity: Low\ntable: DnsEvents\ncandidates: [{column: Name, type: domain}]\n"
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("# first\n"+custom), 0o644)
	os.WriteFile(filepath.Join(dir, "b.yaml"), []byte(strings.Replace(custom, "id: custom-1\nname: A\n", "name: B\n\nid: custom-1\n", 1)), 0o644)
	rs, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	builtin, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	r27, err := Parse("mine.yaml", []byte(strings.Replace(custom, "custom-1", "66c81ae2-1f89-4433-be00-2fbbd9ba5ebe", 1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		rs   []*engine.Rule
		want string
	}{
		{"two files", rs, filepath.Join(dir, "b.yaml") + ":3: id: custom-1 is already used by " + filepath.Join(dir, "a.yaml") + ":2"},
		{"a built-in id", append(builtin, r27), "mine.yaml:1: id: 66c81ae2-1f89-4433-be00-2fbbd9ba5ebe is already used by sentinel/R27-ip-commonsecuritylog.yaml:3"},
		{"not from a file", []*engine.Rule{{ID: "x", SourceFile: "p.yaml"}, {ID: "x", SourceFile: "q.yaml"}}, "q.yaml:1: id: x is already used by p.yaml:1"},
	} {
		if err := CheckDuplicates(tt.rs); err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.name, err, tt.want)
		}
	}
}

// TestShapeAcceptsBuiltin: the walker that words type errors (shapeError)
// accepts every file the decoder accepts — it is only consulted when the
// decoder fails, and must not then blame a field the decoder took.
func TestShapeAcceptsBuiltin(t *testing.T) {
	n := 0
	for _, dir := range []string{"sentinel", "hunts"} {
		entries, err := fs.ReadDir(builtin, dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := dir + "/" + e.Name()
			data, _ := fs.ReadFile(builtin, name)
			var root yaml.Node
			if err := yaml.Unmarshal(data, &root); err != nil {
				t.Fatal(err)
			}
			if err := shapeError(name, &root, reflect.TypeFor[file](), "a rule"); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			n++
		}
	}
	if n != 58 {
		t.Errorf("%d files, want 58 (53 rules, 5 hunts)", n)
	}
}
