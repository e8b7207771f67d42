package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"timap/engine"
	"timap/rules"
)

const rulesUsage = `usage:
  timap rules list                 the built-in rules: id, table, name, what they look up
  timap rules validate PATH...     check rule files or directories (file:line: field: why)
  timap rules explain R01|H3|ID|NAME  what a built-in rule or hunt reads, matches and emits, and how it differs from Sentinel
  timap rules tables [TABLE]       the table schemas: every table with its column count, or one table's columns and types`

func runRules(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, rulesUsage)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, rulesUsage)
		return 0
	case "list":
		return rulesList(stdout, stderr)
	case "validate":
		return rulesValidate(args[1:], stdout, stderr)
	case "explain":
		if len(args) != 2 {
			fmt.Fprintln(stderr, "usage: timap rules explain ID|NAME")
			return 2
		}
		return rulesExplain(args[1], stdout, stderr)
	case "tables":
		if len(args) > 2 {
			fmt.Fprintln(stderr, "usage: timap rules tables [TABLE]")
			return 2
		}
		return rulesTables(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "timap rules: unknown subcommand %q\n%s\n", args[0], rulesUsage)
	return 2
}

func rulesList(stdout, stderr io.Writer) int {
	rs, err := rules.Builtin()
	if err != nil {
		fmt.Fprintf(stderr, "timap rules: %v\n", err)
		return 1
	}
	// In catalogue order (R01…R53), as the docs name them.
	rs = byNumber(rs)
	for _, r := range rs {
		var looks []string
		for _, c := range r.Candidates {
			looks = append(looks, c.Column+"→"+c.Type.String())
		}
		fmt.Fprintf(stdout, "%-3s  %s  %-18s %-50s %s\n", ruleNumber(r), r.ID, strings.Join(r.AllTables(), "+"), r.Name, strings.Join(looks, ", "))
	}
	return 0
}

// maxRuleError is the longest rule-file error shown.
const maxRuleError = 4 << 10

// rulesTables lists the built-in table schemas, or one table's columns:
// what rule files may name and how NDJSON/CSV rows are typed.
func rulesTables(args []string, stdout, stderr io.Writer) int {
	ts, err := rules.Tables()
	if err != nil {
		fmt.Fprintf(stderr, "timap rules: %v\n", err)
		return 1
	}
	if len(args) == 0 {
		for _, name := range slices.Sorted(maps.Keys(ts)) {
			fmt.Fprintf(stdout, "%-36s %4d columns\n", name, len(ts[name].Columns))
		}
		return 0
	}
	t := ts[args[0]]
	if t == nil {
		for name, c := range ts {
			if strings.EqualFold(name, args[0]) {
				t = c
			}
		}
	}
	if t == nil {
		fmt.Fprintf(stderr, "timap rules tables: no schema for table %q (timap rules tables lists them; a rule file declares a custom table's columns under columns:)\n", args[0])
		return 1
	}
	fmt.Fprintf(stdout, "%s (%s)\n", t.Name, strings.Join(strings.Fields(t.Source), " "))
	for _, col := range slices.Sorted(maps.Keys(t.Columns)) {
		fmt.Fprintf(stdout, "  %-40s %s\n", col, t.Columns[col])
	}
	return 0
}

// rulesValidate loads each path and reports every error; the rules that
// load are also compiled together, as `match` would.
func rulesValidate(paths []string, stdout, stderr io.Writer) int {
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "usage: timap rules validate PATH...")
		return 2
	}
	// Every file's first error, then the rules that loaded as match will
	// run them: with the built-in rules, a file's rule replacing the
	// built-in rule of its id.
	rs, err := rules.Load(paths...)
	builtin, berr := rules.Builtin()
	_, replaced, derr := rules.WithOverrides(builtin, rs)
	err = errors.Join(err, berr, derr)
	if err == nil {
		_, err = engine.NewExecutor(engine.NewStore(engine.StoreOptions{}), rs, engine.ExecutorOptions{})
	}
	if err != nil {
		for _, e := range unjoin(err) {
			fmt.Fprintln(stderr, cleanMax(e.Error(), maxRuleError))
		}
		return 1
	}
	for _, o := range replaced {
		if !sameFile(o.Rule.SourceFile, o.Builtin.SourceFile) {
			fmt.Fprintf(stdout, "%s replaces built-in rule %s\n", clean(o.Rule.SourceFile), clean(numbered(o.Builtin, o.Builtin.Name)))
		}
	}
	fmt.Fprintf(stdout, "%d rules valid\n", len(rs))
	return 0
}

// unjoin flattens errors.Join trees into their leaves.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

func rulesExplain(key string, stdout, stderr io.Writer) int {
	rs, err := rules.Builtin()
	if err != nil {
		fmt.Fprintf(stderr, "timap rules: %v\n", err)
		return 1
	}
	hunts, err := rules.Hunts()
	if err != nil {
		fmt.Fprintf(stderr, "timap rules: %v\n", err)
		return 1
	}
	if r := findRule(slices.Concat(rs, hunts), key); r != nil {
		explain(stdout, r)
		return 0
	}
	fmt.Fprintf(stderr, "timap rules explain: no built-in rule or hunt %q (timap rules list and timap hunt list show them)\n", key)
	return 1
}

// sameFile reports whether a rule file is the built-in file itself (the
// checkout's rules/sentinel/R01-….yaml validated in place).
func sameFile(file, builtin string) bool {
	return strings.HasSuffix(filepath.ToSlash(file), "rules/"+builtin)
}

// ruleNumber is a built-in rule's catalogue number, the start of its file
// name: "R01" for rules/sentinel/R01-domain-commonsecuritylog.yaml, "H3"
// for a hunt; "" for other files.
func ruleNumber(r *engine.Rule) string {
	base := path.Base(filepath.ToSlash(r.SourceFile))
	n, _, ok := strings.Cut(base, "-")
	if !ok || len(n) < 2 || (n[0] != 'R' && n[0] != 'H') || strings.Trim(n[1:], "0123456789") != "" {
		return ""
	}
	return n
}

// numbered is s after r's catalogue number, when it has one ("R03 TI
// map Domain entity to DnsEvents").
func numbered(r *engine.Rule, s string) string { return strings.TrimSpace(ruleNumber(r) + " " + s) }

// byNumber returns rs in catalogue order (R01…R53, H1…H5).
func byNumber(rs []*engine.Rule) []*engine.Rule {
	return slices.SortedStableFunc(slices.Values(rs), func(a, b *engine.Rule) int { return strings.Compare(ruleNumber(a), ruleNumber(b)) })
}

// findRule finds a rule by id, catalogue number ("R01", "r1" too), file
// name with or without .yaml, or name, ignoring case.
func findRule(rs []*engine.Rule, key string) *engine.Rule {
	for _, r := range rs {
		n := ruleNumber(r)
		base := strings.TrimSuffix(path.Base(filepath.ToSlash(r.SourceFile)), ".yaml")
		if r.ID == key || strings.EqualFold(r.Name, key) || strings.EqualFold(base, strings.TrimSuffix(key, ".yaml")) ||
			n != "" && len(key) > 1 && strings.EqualFold(n[:1], key[:1]) && strings.TrimLeft(n[1:], "0") == strings.TrimLeft(key[1:], "0") {
			return r
		}
	}
	return nil
}

func explain(w io.Writer, r *engine.Rule) {
	fmt.Fprintf(w, "%s — %s (version %s, severity %s)\n", numbered(r, r.ID), r.Name, r.Version, r.Severity)
	if r.Description != "" {
		fmt.Fprintf(w, "\n%s\n", r.Description)
	}
	fmt.Fprintf(w, "\nreads: %s\n", strings.Join(r.AllTables(), ", "))
	for _, f := range r.Filters {
		fmt.Fprintf(w, "  only rows where %s %s %s\n", f.Column, f.Op, strings.Join(f.Values, ", "))
	}
	for _, d := range r.Derive {
		fmt.Fprintf(w, "  computes %s = %s(%s)\n", d.Column, d.Func, strings.Join(d.Args, ", "))
	}
	fmt.Fprintln(w, "matches:")
	for _, c := range r.Candidates {
		how := "the value"
		switch c.Extract {
		case "url_host":
			how = "the host of the URL"
		case "":
		default:
			how = "values extracted with " + c.Extract
		}
		switch c.Extract {
		case "split":
			how += fmt.Sprintf(" (separator %q)", c.Sep)
		case "regex":
			how += fmt.Sprintf(" (%s, group %d)", c.Regex, c.Group)
		case "json_field":
			how += " (field " + c.Field + ")"
		}
		line := fmt.Sprintf("  %s of %s against %s indicators", how, c.Column, c.Type)
		if c.Subdomains {
			line += " (and their parent domains)"
		}
		if c.Fallback {
			line += ", only when the columns before it are empty"
		}
		fmt.Fprintln(w, line)
	}
	for _, f := range r.TIFilters {
		fmt.Fprintf(w, "  using only indicators whose %s %s %s\n", f.Column, f.Op, f.Value)
	}
	if sb := r.SeverityBy; sb != nil {
		fmt.Fprintf(w, "severity from %s:", sb.Column)
		for _, st := range sb.Steps {
			fmt.Fprintf(w, " above %g %s;", st.Above, st.Severity)
		}
		fmt.Fprintf(w, " else %s\n", sb.Else)
	}
	if r.AlertNameTemplate != "" {
		fmt.Fprintf(w, "alert name: %s\n", r.AlertNameTemplate)
	}
	if r.AlertDescriptionTemplate != "" {
		fmt.Fprintf(w, "alert description: %s\n", r.AlertDescriptionTemplate)
	}
	fmt.Fprintf(w, "alerts carry: %s", strings.Join(append(append([]string{}, r.ProjectTI...), r.ProjectLog...), ", "))
	var ents []string
	for _, e := range r.Entities {
		var ids []string
		for _, id := range e.Identifiers {
			ids = append(ids, id.Name+"="+id.Column)
		}
		ents = append(ents, e.Type+"{"+strings.Join(ids, ", ")+"}")
	}
	fmt.Fprintf(w, "\nentities: %s\n", strings.Join(ents, "; "))
	if j := r.Join; j != nil {
		fmt.Fprintf(w, "joins: %s on %s within %v", j.Table, j.On, j.Window)
		for _, f := range j.Filters {
			fmt.Fprintf(w, ", where %s %s %s", f.Column, f.Op, strings.Join(f.Values, ", "))
		}
		fmt.Fprintln(w)
	}
	if r.SentinelFile != "" {
		dedup := "one result per " + strings.Join(r.SentinelDedup, ", ") + " per hour"
		if len(r.SentinelDedup) == 0 {
			dedup = "no result dedup"
		}
		fmt.Fprintf(w, "\nSentinel original: %s (%s)\n", r.SentinelFile, dedup)
	}
	if len(r.Quirks) > 0 {
		fmt.Fprintf(w, "Sentinel quirks fixed here: %s\n", strings.Join(r.Quirks, ", "))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  - %s\n", n)
	}
}
