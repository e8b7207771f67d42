// Package rules loads analytic rules written as YAML data files into
// engine.Rules. The rules timap ships live in sentinel/ (one file per
// Microsoft Sentinel "TI map" rule, spec §1) and are embedded in the binary;
// users add their own files with Load.
//
// The format is documented in docs/rules.md. Loading is strict: unknown
// keys, unknown operators, extractors or types are errors that name the
// file, the line and the field.
package rules

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"timap/engine"
)

//go:embed sentinel/*.yaml hunts/*.yaml
var builtin embed.FS

// file is the YAML shape of one rule file.
type file struct {
	ID          string      `yaml:"id"`
	Name        string      `yaml:"name"`
	Version     string      `yaml:"version"`
	Description string      `yaml:"description"`
	Severity    string      `yaml:"severity"`
	Tactics     []string    `yaml:"tactics"`
	Techniques  []string    `yaml:"techniques"`
	Table       string      `yaml:"table"`
	Tables      []string    `yaml:"tables"`
	Filters     []filter    `yaml:"filters"`
	TIFilters   []tiFilter  `yaml:"ti_filters"`
	SeverityBy  *severityBy `yaml:"severity_by"`
	AlertName   string      `yaml:"alert_name"`
	AlertDesc   string      `yaml:"alert_description"`
	Join        *join       `yaml:"join"`
	Derive      []derive    `yaml:"derive"`
	Candidates  []candidate `yaml:"candidates"`
	Project     struct {
		TI  []string `yaml:"ti"`
		Log []string `yaml:"log"`
	} `yaml:"project"`
	Entities []entity `yaml:"entities"`
	Sentinel sentinel `yaml:"sentinel"`
	// Columns declares (column: KQL type) the columns of a custom table
	// timap has no schema of, or extra columns of a known one (tables.go).
	Columns map[string]string `yaml:"columns"`
}

type filter struct {
	Column string   `yaml:"column"`
	Op     string   `yaml:"op"`
	Value  *string  `yaml:"value"`
	Values []string `yaml:"values"`
}

type join struct {
	Table      string   `yaml:"table"`
	On         string   `yaml:"on"`
	Window     string   `yaml:"window"`
	Filters    []filter `yaml:"filters"`
	Columns    []string `yaml:"columns"`
	MaxPending int      `yaml:"max_pending"`
	MaxRows    int      `yaml:"max_rows"`
}

type tiFilter struct {
	Column string `yaml:"column"`
	Op     string `yaml:"op"`
	Value  string `yaml:"value"`
	// PreArgMax: the original applies the filter to every TI row before
	// keeping each indicator's latest (engine.TIFilter.PreArgMax).
	PreArgMax bool `yaml:"pre_arg_max"`
}

type severityBy struct {
	Column string `yaml:"column"`
	Above  []struct {
		Value    float64 `yaml:"value"`
		Severity string  `yaml:"severity"`
	} `yaml:"above"`
	Else string `yaml:"else"`
}

type derive struct {
	Column string   `yaml:"column"`
	Func   string   `yaml:"func"`
	Args   []string `yaml:"args"`
}

type candidate struct {
	Column     string `yaml:"column"`
	Type       string `yaml:"type"`
	Extract    string `yaml:"extract"`
	Sep        string `yaml:"sep"`
	Fallback   bool   `yaml:"fallback"`
	Otherwise  bool   `yaml:"otherwise"`
	Subdomains bool   `yaml:"subdomains"`
	Regex      string `yaml:"regex"`
	Group      int    `yaml:"group"`
	Field      string `yaml:"field"`
	FirstOnly  bool   `yaml:"first_only"`
}

type entity struct {
	Type        string    `yaml:"type"`
	Identifiers yaml.Node `yaml:"identifiers"`
}

// sentinel records what the Sentinel original does, for `rules explain`
// and the compatibility mode.
type sentinel struct {
	File   string   `yaml:"file"`
	Dedup  []string `yaml:"dedup"`
	Quirks []string `yaml:"quirks"`
	Notes  []string `yaml:"notes"`
	Compat *compat  `yaml:"compat"`
}

// compat is how the Sentinel original behaves (engine.Compat).
type compat struct {
	Never       bool        `yaml:"never"`
	Candidates  []candidate `yaml:"candidates"`
	Filters     *[]filter   `yaml:"filters"`
	TIIPColumns []string    `yaml:"ti_ip_columns"`
	IPv4Only    bool        `yaml:"ipv4_only"`
	Case        string      `yaml:"case"`
	// CaseByColumn: how one candidate column compares, overriding case.
	CaseByColumn  map[string]string `yaml:"case_by_column"`
	NoExpiryCheck bool              `yaml:"no_expiry_check"`
	Derive        []derive          `yaml:"derive"`
	// Join is the original's join kind: innerunique (the default) or
	// inner (R53).
	Join    string `yaml:"join"`
	NoDedup bool   `yaml:"no_dedup"`
	// LatestPick false: no arg_max per IndicatorId before the join (Q15).
	LatestPick *bool `yaml:"latest_pick"`
}

// Error is a rule-file error with its position.
type Error struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Builtin returns the rules shipped with timap, sorted by id.
func Builtin() ([]*engine.Rule, error) {
	return loadFS(builtin, "sentinel")
}

// Hunts returns the hunting queries shipped with timap (rule files run on
// demand by `timap hunt`, not by match or run), sorted by id.
func Hunts() ([]*engine.Rule, error) {
	return loadFS(builtin, "hunts")
}

// Load reads rule files: each path is a .yaml/.yml file or a directory of
// them (not recursive). Errors name file, line and field; all files are read
// and every error is returned (errors.Join).
func Load(paths ...string) ([]*engine.Rule, error) {
	var rs []*engine.Rule
	var errs []error
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st.IsDir() {
			got, err := loadDir(p)
			rs = append(rs, got...)
			if err != nil {
				errs = append(errs, err)
			}
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r, err := Parse(p, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rs = append(rs, r)
	}
	return rs, errors.Join(errs...)
}

// loadDir loads the rule files of a directory (not of its subdirectories:
// rules/ itself holds table schemas under tables/), naming them by their
// path.
func loadDir(dir string) ([]*engine.Rule, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("%s: no rule files (*.yaml, *.yml)", dir)
	}
	return Load(paths...)
}

// CheckDuplicates reports rules that share an id, naming their files
// (Rule.SourceFile) and the lines of their id keys.
func CheckDuplicates(rs []*engine.Rule) error {
	seen := map[string]*engine.Rule{}
	var errs []error
	for _, r := range rs {
		if first, ok := seen[r.ID]; ok {
			errs = append(errs, &Error{File: r.SourceFile, Line: idLine(r), Field: "id",
				Msg: fmt.Sprintf("%s is already used by %s:%d", r.ID, first.SourceFile, idLine(first))})
			continue
		}
		seen[r.ID] = r
	}
	return errors.Join(errs...)
}

// idLine is the line of r's id key; 1 (the file as a whole) for a rule
// Parse did not make.
func idLine(r *engine.Rule) int { return max(r.SourceLine, 1) }

func loadFS(fsys fs.FS, dir string) ([]*engine.Rule, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var rs []*engine.Rule
	var errs []error
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		name := filepath.ToSlash(filepath.Join(dir, e.Name()))
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r, err := Parse(name, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b *engine.Rule) int { return strings.Compare(a.ID, b.ID) })
	return rs, errors.Join(errs...)
}

// Parse decodes one rule file. name is used in error messages.
func Parse(name string, data []byte) (*engine.Rule, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &Error{File: name, Line: yamlLine(err), Msg: err.Error()}
	}
	if root.Kind == 0 {
		return nil, &Error{File: name, Line: 1, Msg: "empty rule file"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f file
	if err := dec.Decode(&f); err != nil {
		if e := shapeError(name, &root, reflect.TypeFor[file](), "a mapping of rule keys (id, name, severity, table, …)"); e != nil {
			return nil, e
		}
		return nil, &Error{File: name, Line: yamlLine(err), Msg: yamlMessage(err)}
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF {
		// A second document would be dropped silently otherwise.
		return nil, &Error{File: name, Line: max(next.Line, 1), Msg: "more than one YAML document: one rule per file"}
	}
	lines := fieldLines(&root)
	at := func(field string) int {
		if l, ok := lines[field]; ok {
			return l
		}
		if l, ok := lines[strings.SplitN(field, "[", 2)[0]]; ok {
			return l
		}
		return 1 // a missing key: the file as a whole
	}
	fail := func(field, format string, args ...any) error {
		return &Error{File: name, Line: at(field), Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	for _, req := range []struct{ field, v string }{{"id", f.ID}, {"name", f.Name}, {"table", f.Table}, {"severity", f.Severity}} {
		if req.v == "" {
			return nil, fail(req.field, "required")
		}
	}
	switch f.Severity {
	case "Informational", "Low", "Medium", "High":
	default:
		return nil, fail("severity", "%q is not Informational, Low, Medium or High", f.Severity)
	}
	r := &engine.Rule{
		ID: f.ID, Name: f.Name, Version: f.Version, Description: strings.TrimSpace(f.Description),
		Severity: f.Severity, Tactics: f.Tactics, Techniques: f.Techniques, Table: f.Table,
		ProjectTI: f.Project.TI, ProjectLog: f.Project.Log, Notes: f.Sentinel.Notes,
		Tables: f.Tables, AlertNameTemplate: f.AlertName, AlertDescriptionTemplate: f.AlertDesc,
		SentinelFile: f.Sentinel.File, SentinelDedup: f.Sentinel.Dedup, Quirks: f.Sentinel.Quirks,
	}
	if j := f.Join; j != nil {
		r.Join = &engine.Join{Table: j.Table, On: j.On, Columns: j.Columns, MaxPending: j.MaxPending, MaxRows: j.MaxRows}
		if j.Window != "" {
			d, err := time.ParseDuration(j.Window)
			if err != nil || d <= 0 {
				return nil, &Error{File: name, Line: max(nodeLine(&root, "join", "window"), 1), Field: "join.window",
					Msg: fmt.Sprintf("%q: want a positive duration such as 1h", j.Window)}
			}
			r.Join.Window = d
		}
		for i, fl := range j.Filters {
			ef, err := toFilter(fl)
			if err != nil {
				return nil, &Error{File: name, Line: max(nodeLine(&root, "join", "filters", i), 1), Field: fmt.Sprintf("join.filters[%d]", i), Msg: err.Error()}
			}
			r.Join.Filters = append(r.Join.Filters, ef)
		}
	}
	for _, tf := range f.TIFilters {
		r.TIFilters = append(r.TIFilters, engine.TIFilter{Column: tf.Column, Op: tf.Op, Value: tf.Value, PreArgMax: tf.PreArgMax})
	}
	if sb := f.SeverityBy; sb != nil {
		r.SeverityBy = &engine.SeverityBy{Column: sb.Column, Else: sb.Else}
		for _, a := range sb.Above {
			r.SeverityBy.Steps = append(r.SeverityBy.Steps, engine.SeverityStep{Above: a.Value, Severity: a.Severity})
		}
	}
	for i, fl := range f.Filters {
		ef, err := toFilter(fl)
		if err != nil {
			return nil, fail(fmt.Sprintf("filters[%d]", i), "%v", err)
		}
		r.Filters = append(r.Filters, ef)
	}
	for i, d := range f.Derive {
		if n, ok := engine.DeriveFuncs[d.Func]; !ok {
			return nil, fail(fmt.Sprintf("derive[%d]", i), "unknown function %q", d.Func)
		} else if len(d.Args) != n {
			return nil, fail(fmt.Sprintf("derive[%d]", i), "%s takes %d columns, got %d", d.Func, n, len(d.Args))
		}
	}
	for i, tf := range f.TIFilters {
		tif := engine.TIFilter{Column: tf.Column, Op: tf.Op, Value: tf.Value}
		if err := engine.ValidateTIFilter(tif); err != nil {
			return nil, fail(fmt.Sprintf("ti_filters[%d]", i), "%v", err)
		}
	}
	for _, d := range f.Derive {
		r.Derive = append(r.Derive, engine.Derivation{Column: d.Column, Func: d.Func, Args: d.Args})
	}
	for i, c := range f.Candidates {
		ec, err := toCandidate(c)
		if err != nil {
			return nil, fail(fmt.Sprintf("candidates[%d]", i), "%v", err)
		}
		r.Candidates = append(r.Candidates, ec)
	}
	if c := f.Sentinel.Compat; c != nil {
		r.Compat = &engine.Compat{Never: c.Never, TIIPColumns: c.TIIPColumns, IPv4Only: c.IPv4Only, Case: c.Case, CaseByColumn: c.CaseByColumn, NoExpiryCheck: c.NoExpiryCheck,
			NoDedup: c.NoDedup, AnyVersion: c.LatestPick != nil && !*c.LatestPick}
		compatFail := func(key, format string, args ...any) error {
			return &Error{File: name, Line: keyLine(&root, "sentinel", "compat", key), Field: "sentinel.compat." + key, Msg: fmt.Sprintf(format, args...)}
		}
		// compatItemFail: item i of the list at key.
		compatItemFail := func(key string, i int, format string, args ...any) error {
			return &Error{File: name, Line: max(nodeLine(&root, "sentinel", "compat", key, i), 1), Field: fmt.Sprintf("sentinel.compat.%s[%d]", key, i), Msg: fmt.Sprintf(format, args...)}
		}
		// The case modes are checked here, at their line, rather than
		// when the engine compiles the compat block.
		if c.Case != "" && !slices.Contains(compatCases, c.Case) {
			return nil, compatFail("case", "%q: want one of %s", c.Case, strings.Join(compatCases, ", "))
		}
		for _, col := range slices.Sorted(maps.Keys(c.CaseByColumn)) {
			if m := c.CaseByColumn[col]; !slices.Contains(compatCases, m) {
				return nil, &Error{File: name, Line: max(nodeLine(&root, "sentinel", "compat", "case_by_column", col), 1), Field: "sentinel.compat.case_by_column." + col,
					Msg: fmt.Sprintf("%q: want one of %s", m, strings.Join(compatCases, ", "))}
			}
		}
		for i, col := range c.TIIPColumns {
			if !slices.Contains(tiIPColumns, col) {
				return nil, compatItemFail("ti_ip_columns", i, "%q is not a TI IP column (want one of %s)", col, strings.Join(tiIPColumns, ", "))
			}
		}
		switch c.Join {
		case "", "innerunique":
		case "inner":
			r.Compat.JoinInner = true
		default:
			return nil, compatFail("join", "%q: want innerunique or inner", c.Join)
		}
		for i, d := range c.Derive {
			if n, ok := engine.DeriveFuncs[d.Func]; !ok {
				return nil, compatItemFail("derive", i, "unknown function %q", d.Func)
			} else if len(d.Args) != n {
				return nil, compatItemFail("derive", i, "%s takes %d columns, got %d", d.Func, n, len(d.Args))
			}
			r.Compat.Derive = append(r.Compat.Derive, engine.Derivation{Column: d.Column, Func: d.Func, Args: d.Args})
		}
		if c.NoDedup && len(f.Sentinel.Dedup) > 0 {
			return nil, compatFail("no_dedup", "the original dedups by %v (sentinel.dedup): no_dedup needs an empty dedup", f.Sentinel.Dedup)
		}
		for i, cc := range c.Candidates {
			ec, err := toCandidate(cc)
			if err != nil {
				return nil, compatItemFail("candidates", i, "%v", err)
			}
			r.Compat.Candidates = append(r.Compat.Candidates, ec)
		}
		cands := r.Candidates
		if len(r.Compat.Candidates) > 0 {
			cands = r.Compat.Candidates
		}
		for _, col := range slices.Sorted(maps.Keys(c.CaseByColumn)) {
			if !slices.ContainsFunc(cands, func(ec engine.Candidate) bool { return ec.Column == col }) {
				return nil, compatFail("case_by_column", "%q is not a candidate column of the rule", col)
			}
		}
		if c.Filters != nil {
			r.Compat.Filters = []engine.Filter{}
			for i, fl := range *c.Filters {
				ef, err := toFilter(fl)
				if err != nil {
					return nil, compatItemFail("filters", i, "%v", err)
				}
				r.Compat.Filters = append(r.Compat.Filters, ef)
			}
		}
	}
	for _, col := range f.Project.TI {
		if !engine.IsTIColumn(col) && col != engine.MatchedValueColumn {
			return nil, fail("project", "%q is not a ThreatIntelligenceIndicator column timap projects (%s)", col, strings.Join(engine.TIColumns(), ", "))
		}
	}
	for i, e := range f.Entities {
		field := fmt.Sprintf("entities[%d]", i)
		if e.Type == "" {
			return nil, fail(field, "type is required")
		}
		em := engine.EntityMapping{Type: e.Type}
		if e.Identifiers.Kind != yaml.MappingNode || len(e.Identifiers.Content) == 0 {
			return nil, fail(field, "identifiers must be a mapping of identifier: column")
		}
		for j := 0; j+1 < len(e.Identifiers.Content); j += 2 {
			em.Identifiers = append(em.Identifiers, engine.Identifier{
				Name: e.Identifiers.Content[j].Value, Column: e.Identifiers.Content[j+1].Value,
			})
		}
		r.Entities = append(r.Entities, em)
	}
	r.SourceFile = name
	if err := engine.ValidateRule(r); err != nil {
		return nil, &Error{File: name, Line: 1, Msg: strings.TrimPrefix(err.Error(), "rule "+r.ID+": ")}
	}
	if err := checkColumns(name, &root, &f, r); err != nil {
		return nil, err
	}
	r.SourceLine = at("id")
	return r, nil
}

// compatCases and tiIPColumns are the values of sentinel.compat.case
// (and case_by_column) and of ti_ip_columns, as the engine defines them.
var compatCases, tiIPColumns = engine.CompatCaseModes(), engine.TIIPColumnNames()

// toCandidate converts a candidate of a rule file.
func toCandidate(c candidate) (engine.Candidate, error) {
	t, err := engine.ParseObservableType(c.Type)
	if err != nil {
		return engine.Candidate{}, err
	}
	if c.Column == "" {
		return engine.Candidate{}, errors.New("column is required")
	}
	if !slices.Contains(engine.Extractors, c.Extract) {
		return engine.Candidate{}, fmt.Errorf("unknown extract %q (want one of %s)", c.Extract, strings.Join(engine.Extractors[1:], ", "))
	}
	ec := engine.Candidate{
		Column: c.Column, Type: t, Extract: c.Extract, Sep: c.Sep, Fallback: c.Fallback, Otherwise: c.Otherwise, Subdomains: c.Subdomains,
		Regex: c.Regex, Group: c.Group, Field: c.Field, FirstOnly: c.FirstOnly,
	}
	return ec, engine.ValidateCandidate(ec)
}

// toFilter converts and checks a filter of a rule file.
func toFilter(fl filter) (engine.Filter, error) {
	ef := engine.Filter{Column: fl.Column, Op: engine.FilterOp(fl.Op), Values: fl.Values}
	if fl.Value != nil {
		if len(fl.Values) > 0 {
			return ef, errors.New("give value or values, not both")
		}
		ef.Values = []string{*fl.Value}
	}
	if fl.Column == "" {
		return ef, errors.New("column is required")
	}
	return ef, engine.ValidateFilter(ef)
}

// keyLine is the line of the key at path (mapping keys, outermost first),
// or of the deepest key of it that exists; 1 when none does.
func keyLine(root *yaml.Node, path ...string) int {
	line := 1
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, key := range path {
		if n.Kind != yaml.MappingNode {
			return line
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				line, next = n.Content[i].Line, n.Content[i+1]
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

// fieldLines maps top-level keys ("filters") and list items
// ("filters[2]") to their line numbers.
func fieldLines(root *yaml.Node) map[string]int {
	lines := map[string]int{}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return lines
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		lines[k.Value] = k.Line
		if v.Kind == yaml.SequenceNode {
			for j, item := range v.Content {
				lines[fmt.Sprintf("%s[%d]", k.Value, j)] = item.Line
			}
		}
	}
	return lines
}

// yamlMessage is a yaml.v3 error without its "yaml: line N:" prefix (the
// line is reported separately).
func yamlMessage(err error) string {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	if strings.HasPrefix(msg, "line ") {
		if _, rest, ok := strings.Cut(msg, ": "); ok {
			msg = rest
		}
	}
	return msg
}

// yamlLine digs the line number out of a yaml.v3 error ("yaml: line 7: …").
func yamlLine(err error) int {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	var line int
	if i := strings.Index(msg, "line "); i >= 0 {
		fmt.Sscanf(msg[i+5:], "%d", &line)
	}
	return line
}

// shapeError finds, in the node tree of a file the YAML decoder refused,
// the first value that does not fit the loader struct t it goes into (in
// document order, as the decoder reads them) and words it for a person:
// the dotted field path, what the field wants and what the file has, or
// the unknown key with the nearest known one. what describes the whole
// file ("a mapping of rule keys (…)"). It returns nil when it finds
// nothing the decoder would refuse, and the caller falls back on the
// decoder's own message.
func shapeError(name string, root *yaml.Node, t reflect.Type, what string) *Error {
	s := shaper{file: name, what: what}
	n := root
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		n = n.Content[0]
	}
	return s.walk(n, t, "", n.Line, 0)
}

type shaper struct {
	file, what string
}

// mappingWords says what the free-form mappings of rule and table files
// hold; wantWords' "a mapping (name: value)" otherwise.
var mappingWords = map[string]string{
	"columns":                        "a mapping (column: KQL type)",
	"sentinel.compat.case_by_column": "a mapping (candidate column: case)",
}

var nodeType = reflect.TypeFor[yaml.Node]()

// walk checks n against t; path is the dotted field path of n and line
// the line to report it at (the key's, for a mapping value).
func (s shaper) walk(n *yaml.Node, t reflect.Type, path string, line, depth int) *Error {
	if depth > 100 {
		return nil // an alias cycle: the decoder reports it
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
		depth++
	}
	if t == nodeType || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null") {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch n.Kind {
	case yaml.ScalarNode:
		// Decoding the lone scalar into a fresh t applies exactly the
		// decoder's rules (any scalar is a string; yes/no are booleans).
		if n.Decode(reflect.New(t).Interface()) == nil {
			return nil
		}
	case yaml.SequenceNode:
		if t.Kind() == reflect.Slice {
			for i, item := range n.Content {
				if e := s.walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), item.Line, depth+1); e != nil {
					return e
				}
			}
			return nil
		}
	case yaml.MappingNode:
		if t.Kind() != reflect.Struct && t.Kind() != reflect.Map {
			break
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			for j := i + 2; j+1 < len(n.Content); j += 2 {
				if ki, kj := n.Content[i], n.Content[j]; ki.Kind == kj.Kind && ki.Value == kj.Value {
					return s.fail(kj.Line, joinPath(path, kj.Value), "given twice (first at line %d)", ki.Line)
				}
			}
		}
		var keys []string
		var types map[string]reflect.Type
		if t.Kind() == reflect.Struct {
			keys, types = yamlKeys(t)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return s.fail(k.Line, path, "want a key name, got %s", gotWords(k))
			}
			if k.Value == "<<" {
				continue // a merge key: the decoder checks what it merges
			}
			field := joinPath(path, k.Value)
			var et reflect.Type
			if t.Kind() == reflect.Map {
				et = t.Elem()
			} else {
				var ok bool
				if et, ok = types[k.Value]; !ok {
					if near := nearest(k.Value, keys); near != "" {
						return s.fail(k.Line, field, "unknown key (did you mean %q?)", near)
					}
					return s.fail(k.Line, field, "unknown key (valid keys: %s)", strings.Join(keys, ", "))
				}
			}
			if e := s.walk(v, et, field, k.Line, depth+1); e != nil {
				return e
			}
		}
		return nil
	default:
		return nil
	}
	want := wantWords(t)
	if w, ok := mappingWords[path]; ok && t.Kind() == reflect.Map {
		want = w
	}
	if path == "" {
		// The file as a whole: say what a file holds, not its text.
		return s.fail(line, "", "want %s, got %s", s.what, kindWords(n))
	}
	msg := fmt.Sprintf("want %s, got %s", want, gotWords(n))
	if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String && n.Kind == yaml.ScalarNode {
		msg += fmt.Sprintf(" (a list of one is written [%s])", n.Value)
	}
	return s.fail(line, path, "%s", msg)
}

func (s shaper) fail(line int, field, format string, args ...any) *Error {
	return &Error{File: s.file, Line: max(line, 1), Field: field, Msg: fmt.Sprintf(format, args...)}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlKeys lists the keys a loader struct takes (its yaml tags, in field
// order) with the type each decodes into.
func yamlKeys(t reflect.Type) ([]string, map[string]reflect.Type) {
	var keys []string
	types := map[string]reflect.Type{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch key {
		case "-":
			continue
		case "":
			key = strings.ToLower(f.Name)
		}
		keys = append(keys, key)
		types[key] = f.Type
	}
	return keys, types
}

// wantWords names a Go type as a rule file's reader knows it.
func wantWords(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		switch e := t.Elem(); {
		case e.Kind() == reflect.String:
			return "a list of strings"
		case e.Kind() == reflect.Struct && e != nodeType:
			return "a list of mappings"
		}
		return "a list"
	case reflect.Map:
		return "a mapping (name: value)"
	case reflect.Struct:
		return "a mapping"
	}
	return t.String()
}

// gotWords describes a node: lists and mappings by kind, a scalar by its
// (shortened) text.
func gotWords(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return kindWords(n)
	}
	v := n.Value
	if r := []rune(v); len(r) > 40 {
		v = string(r[:37]) + "…"
	}
	return fmt.Sprintf("%q", v)
}

// kindWords describes a node by kind only.
func kindWords(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	switch n.ShortTag() {
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "true or false"
	}
	return "a string"
}

// nearest returns the key of keys closest to s: equal but for case, else
// within an edit distance of 2 (and less than s's length); "" when none is.
func nearest(s string, keys []string) string {
	for _, k := range keys {
		if strings.EqualFold(k, s) {
			return k
		}
	}
	best, bestD := "", 3
	for _, k := range keys {
		if d := editDistance(strings.ToLower(s), k); d < bestD && d < len(s) {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
