package tabular

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"timap/engine"
)

// IssueKind is what a table schema found in an exported row. Rows with
// issues are kept: an export from another tool or a newer table version
// must not lose its rows over one column.
type IssueKind uint8

const (
	// UnknownTable: no schema describes the row's table (its Type); its
	// columns are taken as written, as text.
	UnknownTable IssueKind = iota + 1
	// UnknownColumn: the table's schema has no such column; the value is
	// kept as text under the exported name.
	UnknownColumn
	// RenamedColumn: the name matches a schema column but for case
	// ("sourceip"); the value is stored under the schema's name.
	RenamedColumn
	// BadValue: the value is not of the column's type (an int column
	// holding "abc"); the column is left unset, as Log Analytics stores
	// null for a value it cannot convert.
	BadValue
	// RenamedTable: the table name (Type) matches a schema but for case
	// ("dnsevents"); the row is read as the schema's table.
	RenamedTable
)

var issueKindNames = [...]string{
	UnknownTable:  "unknown-table",
	UnknownColumn: "unknown-column",
	RenamedColumn: "renamed-column",
	BadValue:      "bad-value",
	RenamedTable:  "renamed-table",
}

// String returns the kind's name as the summary and metrics show it.
func (k IssueKind) String() string {
	if int(k) < len(issueKindNames) && issueKindNames[k] != "" {
		return issueKindNames[k]
	}
	return "IssueKind(" + strconv.Itoa(int(k)) + ")"
}

// Issue is one kind of finding on one column of one table, with how many
// rows had it and where it was first seen.
type Issue struct {
	Kind   IssueKind
	Table  string
	Column string // the exported name ("" for UnknownTable)
	// Schema is the schema's spelling (RenamedColumn) or the column's type
	// (BadValue).
	Schema string
	Count  int64
	// Example is the first offending value (BadValue), at most 64 bytes.
	Example string
	// Origin and Line say where the first row with the issue came from
	// (file or topic/partition, line or offset; Line 0 when unknown).
	Origin string
	Line   int64
}

// String describes the issue in one line: "origin:line: Table.Column: why
// (N rows)".
func (i *Issue) String() string {
	var why string
	switch i.Kind {
	case UnknownTable:
		why = fmt.Sprintf("%s: no schema for this table; columns read as written", i.Table)
	case UnknownColumn:
		why = fmt.Sprintf("%s.%s: not a column of the table's schema; kept as text", i.Table, i.Column)
	case RenamedColumn:
		why = fmt.Sprintf("%s.%s: read as %s (column names are case-sensitive)", i.Table, i.Column, i.Schema)
	case RenamedTable:
		why = fmt.Sprintf("%s: read as table %s (table names are case-sensitive)", i.Table, i.Schema)
	case BadValue:
		article := "a"
		if strings.ContainsRune("aeiou", rune(i.Schema[0])) {
			article = "an"
		}
		why = fmt.Sprintf("%s.%s: %q is not %s %s; column left empty", i.Table, i.Column, i.Example, article, i.Schema)
	}
	rows := "rows"
	if i.Count == 1 {
		rows = "row"
	}
	where := i.Origin
	if i.Line > 0 {
		where += ":" + strconv.FormatInt(i.Line, 10)
	}
	if where != "" {
		where += ": "
	}
	return fmt.Sprintf("%s%s (%d %s)", where, why, i.Count, rows)
}

// maxIssues bounds the distinct findings a Report keeps (an export with
// generated column names); later ones only count in Total.
const maxIssues = 10000

type issueKey struct {
	kind          IssueKind
	table, column string
}

// Report counts schema findings: one Issue per (kind, table, column). The
// zero Report is ready to use; it is safe for concurrent use (readers
// share one, a summary reads it while they run).
type Report struct {
	mu      sync.Mutex
	issues  map[issueKey]*Issue
	total   int64
	columns map[string]map[string]struct{} // distinct columns seen per typed table
}

// sawColumn records a column name of a table's rows.
func (r *Report) sawColumn(table, column string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.columns == nil {
		r.columns = map[string]map[string]struct{}{}
	}
	cols := r.columns[table]
	if cols == nil {
		if len(r.columns) >= maxIssues {
			return
		}
		cols = map[string]struct{}{}
		r.columns[strings.Clone(table)] = cols
	}
	if len(cols) < maxCachedColumns {
		cols[column] = struct{}{}
	}
}

// Columns is the number of distinct column names seen in rows of a table
// that has a schema (the schema's spelling for known ones).
func (r *Report) Columns(table string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.columns[table])
}

// Total is the number of findings counted (a row can have several).
func (r *Report) Total() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

// Issues returns the findings, most frequent first.
func (r *Report) Issues() []Issue {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Issue, 0, len(r.issues))
	for _, k := range slices.SortedFunc(maps.Keys(r.issues), func(a, b issueKey) int {
		return cmp.Or(cmp.Compare(r.issues[b].Count, r.issues[a].Count),
			cmp.Compare(a.table, b.table), cmp.Compare(a.column, b.column), cmp.Compare(a.kind, b.kind))
	}) {
		out = append(out, *r.issues[k])
	}
	return out
}

// add counts one finding; the first of its key is returned with true.
func (r *Report) add(kind IssueKind, table, column, schema, example, origin string, line int64) (Issue, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total++
	k := issueKey{kind, table, column}
	if is := r.issues[k]; is != nil {
		is.Count++
		return Issue{}, false
	}
	if r.issues == nil {
		r.issues = map[issueKey]*Issue{}
	}
	if len(r.issues) >= maxIssues {
		return Issue{}, false // counted in total only
	}
	if len(example) > 64 {
		example = example[:64]
	}
	// Clones: the strings may point into a whole decoded line.
	k = issueKey{kind, strings.Clone(table), strings.Clone(column)}
	is := &Issue{Kind: kind, Table: k.table, Column: k.column, Schema: strings.Clone(schema), Count: 1,
		Example: strings.Clone(example), Origin: origin, Line: line}
	r.issues[k] = is
	return *is, true
}

// Schema types the columns of decoded rows: see Decoder.
type Schema struct {
	// Schemas are the table schemas; nil decodes rows untyped, columns as
	// written.
	Schemas engine.Schemas
	// Report receives the findings; nil counts nothing.
	Report *Report
	// OnFirst, when set, is called with each finding the first time its
	// (kind, table, column) is seen (a stream logs it).
	OnFirst func(Issue)

	tables map[string]*tableColumns
}

// tableColumns caches how a table's exported names resolve.
type tableColumns struct {
	schema *engine.TableSchema // nil: no schema for the table
	name   string              // the schema's spelling of the table
	cols   map[string]column
}

// column is an exported name resolved against a schema.
type column struct {
	name  string
	typ   engine.ColumnType
	issue IssueKind // UnknownColumn or RenamedColumn; 0 when exact
}

// maxCachedColumns bounds the names cached per table: an export with
// generated column names must not grow memory without end.
const maxCachedColumns = 4096

// table returns the resolution cache of a table (nil schema when none).
func (s *Schema) table(name string) *tableColumns {
	tc := s.tables[name]
	if tc == nil {
		if s.tables == nil {
			s.tables = map[string]*tableColumns{}
		}
		name = strings.Clone(name) // may point into a reused line
		tc = &tableColumns{schema: s.Schemas[name], name: name, cols: map[string]column{}}
		if tc.schema == nil {
			for n, t := range s.Schemas {
				if strings.EqualFold(n, name) {
					tc.schema, tc.name = t, n
				}
			}
		}
		if len(s.tables) < maxCachedColumns {
			s.tables[name] = tc
		}
	}
	return tc
}

// resolve returns the column an exported name stands for, and whether the
// name is new to this cache.
func (tc *tableColumns) resolve(name string) (column, bool) {
	if c, ok := tc.cols[name]; ok {
		return c, false
	}
	// The name may point into a line the caller reuses (Decoder.Alias):
	// what is cached must own its strings.
	name = strings.Clone(name)
	c := column{name: name}
	if canon, typ, ok := tc.schema.Lookup(name); ok {
		c.name, c.typ = canon, typ
		if canon != name {
			c.issue = RenamedColumn
		}
	} else {
		c.issue = UnknownColumn
	}
	if len(tc.cols) < maxCachedColumns {
		tc.cols[name] = c
	}
	return c, true
}

// note counts a finding.
func (s *Schema) note(kind IssueKind, table, col, schema, example, origin string, line int64) {
	if s.Report == nil {
		return
	}
	if is, first := s.Report.add(kind, table, col, schema, example, origin, line); first && s.OnFirst != nil {
		s.OnFirst(is)
	}
}

// row is the typing of one row of table: set is called for each column
// to store, after renaming and conversion.
type row struct {
	s      *Schema
	tc     *tableColumns
	table  string
	origin string
	line   int64
}

// startRow begins typing a row of table; it counts an unknown table and
// a table named in another case, whose schema spelling becomes r.table.
func (s *Schema) startRow(table, origin string, line int64) row {
	r := row{s: s, table: table, origin: origin, line: line}
	if s == nil || s.Schemas == nil {
		return r
	}
	r.tc = s.table(table)
	switch {
	case r.tc.schema == nil:
		s.note(UnknownTable, table, "", "", "", origin, line)
		r.tc = nil
	case r.tc.name != table:
		s.note(RenamedTable, table, "", r.tc.name, "", origin, line)
		r.table = r.tc.name
	}
	return r
}

// typed reports whether rows are typed by a schema (the table has one).
func (r *row) typed() bool { return r.tc != nil }

// column resolves an exported name; counted findings are renames and
// unknown columns.
func (r *row) column(name string) column {
	if r.tc == nil {
		return column{name: name}
	}
	c, fresh := r.tc.resolve(name)
	if fresh && r.s.Report != nil {
		r.s.Report.sawColumn(r.table, c.name)
	}
	if c.issue != 0 {
		r.s.note(c.issue, r.table, name, c.name, "", r.origin, r.line)
	}
	return c
}

// value converts v to the column's type (see convert); a bad value is
// counted and ok is false.
func (r *row) value(c column, name, v string) (string, bool) {
	out, ok := convert(c.typ, v)
	if !ok {
		r.s.note(BadValue, r.table, name, c.typ.String(), v, r.origin, r.line)
	}
	return out, ok
}

// put stores one exported value v of column c (exported as name) in ev:
// TimeGenerated becomes the row's time (its parse error is returned for
// the caller to place), Type is skipped (the table, taken from the exact
// name only), needed columns are converted and set, the others only
// checked.
func (r *row) put(ev *engine.Event, c column, name, v string, need engine.ColumnSet) error {
	switch c.name {
	case "Type":
		return nil
	case "TimeGenerated":
		t, err := parseTimeGenerated(v)
		if err != nil {
			return err
		}
		ev.TimeGenerated = t
		return nil
	}
	if !need.Has(c.name) {
		if r.typed() {
			r.check(c, name, v)
		}
		return nil
	}
	if v, ok := r.value(c, name, v); ok {
		ev.Set(c.name, v)
	}
	return nil
}

// check counts v as a bad value when it is not of the column's type, for
// the columns that are not stored (no conversion, no allocation).
func (r *row) check(c column, name, v string) {
	if !valid(c.typ, v) {
		r.s.note(BadValue, r.table, name, c.typ.String(), v, r.origin, r.line)
	}
}

// valid reports whether v is a text form of typ (see convert).
func valid(typ engine.ColumnType, v string) bool {
	switch typ {
	case engine.ColumnInt, engine.ColumnLong, engine.ColumnReal, engine.ColumnBool, engine.ColumnGuid:
		_, ok := convert(typ, v) // allocates only for non-canonical ints
		return ok
	case engine.ColumnDatetime:
		_, err := parseTimeGenerated(strings.TrimSpace(v))
		return err == nil
	}
	return true
}

// convert checks that v is a text form of typ and returns the form timap
// stores, which Log Analytics would show: ints in decimal ("+7", "7.0" →
// "7"), bools as true/false (also True, FALSE, 1, 0), datetimes as RFC
// 3339 UTC (the portal's "1/2/2024, 3:04:05.000 PM" too); reals, guids,
// strings and dynamic values are kept as written once checked. Untyped
// columns (typ 0) are kept.
func convert(typ engine.ColumnType, v string) (string, bool) {
	switch typ {
	case engine.ColumnInt, engine.ColumnLong:
		bits := 64
		if typ == engine.ColumnInt {
			bits = 32
		}
		t := strings.TrimSpace(v)
		n, err := strconv.ParseInt(t, 10, bits)
		if err != nil {
			f, ferr := strconv.ParseFloat(t, 64)
			if ferr != nil || f != float64(int64(f)) || (bits == 32 && int64(int32(f)) != int64(f)) {
				return "", false
			}
			n = int64(f)
		}
		if canonicalInt(v) {
			return v, true // no allocation on the common path
		}
		return strconv.FormatInt(n, 10), true
	case engine.ColumnReal:
		if _, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil {
			return "", false
		}
		return strings.TrimSpace(v), true
	case engine.ColumnBool:
		switch {
		case strings.EqualFold(v, "true") || v == "1":
			return "true", true
		case strings.EqualFold(v, "false") || v == "0":
			return "false", true
		}
		return "", false
	case engine.ColumnDatetime:
		t, err := parseTimeGenerated(strings.TrimSpace(v))
		if err != nil {
			return "", false
		}
		if len(v) > 0 && v[len(v)-1] == 'Z' && strings.IndexByte(v, 'T') == 10 {
			return v, true // RFC 3339 in UTC already
		}
		return t.Format(time.RFC3339Nano), true
	case engine.ColumnGuid:
		if !isGUID(v) {
			return "", false
		}
	}
	return v, true
}

// canonicalInt reports whether v is an integer as strconv.FormatInt writes
// it: an optional minus, no leading zeros, no "-0".
func canonicalInt(v string) bool {
	d := strings.TrimPrefix(v, "-")
	if d == "" || (d[0] == '0' && (len(d) > 1 || len(v) > 1)) {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return true
}

// isGUID reports whether v is a GUID in the 8-4-4-4-12 hex form.
func isGUID(v string) bool {
	if len(v) != 36 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
