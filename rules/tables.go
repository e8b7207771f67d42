package rules

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"reflect"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"timap/engine"
)

// The column schemas of the tables rules read, one YAML file per table
// (spec §3): table name, source, notes and column → KQL type.
//
//go:embed tables/*.yaml
var tableFiles embed.FS

// Table is the schema of one Log Analytics table or ASIM parser output.
type Table = engine.TableSchema

// standardColumns are in every Log Analytics table (spec §3).
var standardColumns = []string{"TenantId", "TimeGenerated", "Type", "SourceSystem"}

type tableFile struct {
	Table   string            `yaml:"table"`
	Source  string            `yaml:"source"`
	Notes   string            `yaml:"notes"`
	Columns map[string]string `yaml:"columns"`
}

var loadTables = sync.OnceValues(func() (map[string]*Table, error) {
	return readTables(tableFiles, "tables")
})

// Tables returns the built-in table schemas by table name. The map is
// shared: callers must not change it.
func Tables() (map[string]*Table, error) { return loadTables() }

func readTables(fsys fs.FS, dir string) (map[string]*Table, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	ts := map[string]*Table{}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".yaml" {
			continue
		}
		name := path.Join(dir, e.Name())
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		t, err := parseTable(name, data)
		if err != nil {
			return nil, err
		}
		if _, dup := ts[t.Name]; dup {
			return nil, &Error{File: name, Line: 1, Field: "table", Msg: fmt.Sprintf("%s defined twice", t.Name)}
		}
		ts[t.Name] = t
	}
	return ts, nil
}

// parseTable decodes one table schema file.
func parseTable(name string, data []byte) (*Table, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &Error{File: name, Line: yamlLine(err), Msg: yamlMessage(err)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f tableFile
	if err := dec.Decode(&f); err != nil {
		if e := shapeError(name, &root, reflect.TypeFor[tableFile](), "a mapping of table keys (table, source, notes, columns)"); e != nil {
			return nil, e
		}
		return nil, &Error{File: name, Line: yamlLine(err), Msg: yamlMessage(err)}
	}
	fail := func(field, format string, args ...any) error {
		path := []any{}
		for _, p := range strings.Split(field, ".") {
			path = append(path, p)
		}
		return &Error{File: name, Line: max(nodeLine(&root, path...), 1), Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if f.Table == "" {
		return nil, fail("table", "required")
	}
	if base := strings.TrimSuffix(path.Base(name), path.Ext(name)); base != f.Table {
		return nil, fail("table", "%q in file %s.yaml: name the file after the table", f.Table, base)
	}
	t := &Table{Name: f.Table, Source: f.Source, Notes: f.Notes, Columns: make(map[string]engine.ColumnType, len(f.Columns))}
	for col, name := range f.Columns {
		typ, err := engine.ParseColumnType(name)
		if err != nil {
			return nil, fail("columns."+col, "%v", err)
		}
		t.Columns[col] = typ
	}
	t.Fold()
	for _, col := range standardColumns {
		if _, ok := f.Columns[col]; !ok {
			return nil, fail("columns", "%s is missing (every table has %s)", col, strings.Join(standardColumns, ", "))
		}
	}
	return t, nil
}

// checkColumns reports the first column r names that none of its tables
// has: filter columns, derive arguments, candidate columns, the same three
// in the sentinel.compat block, project.log, and the row columns of
// entities and of the alert name and description templates. Columns a
// derivation computes count as present (after the filters, which run
// first), and so do the partner columns a join keeps (join.columns; the
// join's key, filters and columns are checked against its table). A
// rule's own columns block adds columns to (or, for a table timap has no
// schema of, defines) its tables; it may not give a column of a known
// table another type. The rule's tables are read as a union, so a column
// need only exist in one of them (SecurityEvent's TargetUserName,
// WindowsEvent's EventData).
func checkColumns(name string, root *yaml.Node, f *file, r *engine.Rule) error {
	schemas, err := Tables()
	if err != nil {
		return err
	}
	fail := func(line int, field, format string, args ...any) error {
		if line == 0 {
			line = 1
		}
		return &Error{File: name, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	for _, col := range slices.Sorted(maps.Keys(f.Columns)) {
		line, field := nodeLine(root, "columns", col), "columns."+col
		typ, err := engine.ParseColumnType(f.Columns[col])
		if err != nil {
			return fail(line, field, "%v", err)
		}
		// Adding a column to a known table is fine; retyping one would
		// decode the table's rows differently for every rule.
		for _, tn := range r.AllTables() {
			t := schemas[tn]
			if t == nil {
				continue
			}
			if old, ok := t.Columns[col]; ok && old != typ {
				return fail(line, field, "%s is a %s column of %s, not %s (columns: may add columns to a known table, not change their type)", col, old, tn, typ)
			}
			if known, _, ok := t.Lookup(col); ok && known != col {
				return fail(line, field, "%s already has %s, and column names are case-sensitive (did you mean %q?)", tn, known, known)
			}
		}
		if r.Columns == nil {
			r.Columns = map[string]engine.ColumnType{}
		}
		r.Columns[col] = typ
	}
	var tables []*Table
	for i, tn := range r.AllTables() {
		if t := schemas[tn]; t != nil {
			tables = append(tables, t)
			continue
		}
		if len(f.Columns) > 0 {
			continue
		}
		field, line := "table", nodeLine(root, "table")
		if i > 0 {
			field, line = fmt.Sprintf("tables[%d]", i-1), nodeLine(root, "tables", i-1)
		}
		return fail(line, field, "no schema for table %q%s; declare the columns of a custom table under columns:",
			tn, knownTable(tn, schemas))
	}
	// inTables: a column of the rule's tables or its columns block.
	inTables := func(col string) bool {
		if _, ok := f.Columns[col]; ok {
			return true
		}
		for _, t := range tables {
			if t.Has(col) {
				return true
			}
		}
		return false
	}
	derived := map[string]bool{}
	has := func(col string) bool { return derived[col] || inTables(col) }
	// missing words a column none of the rule's tables has; derived are
	// the derived columns the field may read, for the suggestion.
	missing := func(line int, field, col string, derived map[string]bool) error {
		msg := fmt.Sprintf("%q is not a column of %s", col, strings.Join(r.AllTables(), " or "))
		if r.Join != nil && !readsBeforeJoin(field) {
			msg += fmt.Sprintf(" nor a join column (%s)", strings.Join(r.Join.Columns, ", "))
		}
		if s := suggest(col, tables, f.Columns, derived); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return fail(line, field, "%s", msg)
	}
	for i, fl := range r.Filters {
		if !has(fl.Column) {
			return missing(nodeLine(root, "filters", i), fmt.Sprintf("filters[%d]", i), fl.Column, derived)
		}
	}
	for i, d := range r.Derive {
		for _, a := range d.Args {
			if !has(a) {
				return missing(nodeLine(root, "derive", i), fmt.Sprintf("derive[%d]", i), a, derived)
			}
		}
		derived[d.Column] = true
	}
	for i, c := range r.Candidates {
		if !has(c.Column) {
			return missing(nodeLine(root, "candidates", i), fmt.Sprintf("candidates[%d]", i), c.Column, derived)
		}
	}
	// The compat block's filters, derivations and candidates replace the
	// rule's own under --compat sentinel (engine's compatView): they are
	// checked the same way, the derivations being the block's when it has
	// any and the rule's otherwise.
	if c := r.Compat; c != nil {
		at := func(key string, i int) (int, string) {
			return nodeLine(root, "sentinel", "compat", key, i), fmt.Sprintf("sentinel.compat.%s[%d]", key, i)
		}
		for i, fl := range c.Filters {
			if !inTables(fl.Column) {
				line, field := at("filters", i)
				return missing(line, field, fl.Column, nil)
			}
		}
		cderived := derived
		if c.Derive != nil {
			cderived = map[string]bool{}
			for i, d := range c.Derive {
				for _, a := range d.Args {
					if !cderived[a] && !inTables(a) {
						line, field := at("derive", i)
						return missing(line, field, a, cderived)
					}
				}
				cderived[d.Column] = true
			}
		}
		for i, cc := range c.Candidates {
			if !cderived[cc.Column] && !inTables(cc.Column) {
				line, field := at("candidates", i)
				return missing(line, field, cc.Column, cderived)
			}
		}
	}
	// A join's key must be in both tables; its filters and kept columns
	// are the partner table's, and the kept columns count as row columns
	// for projections, entities and templates.
	if j := r.Join; j != nil {
		jt := schemas[j.Table]
		if jt == nil {
			return fail(nodeLine(root, "join", "table"), "join.table", "no schema for table %q%s", j.Table, knownTable(j.Table, schemas))
		}
		if !has(j.On) || !jt.Has(j.On) {
			msg := fmt.Sprintf("%q is not a column of both %s and %s", j.On, strings.Join(r.AllTables(), " or "), j.Table)
			if s := suggest(j.On, append(slices.Clone(tables), jt), f.Columns, derived); s != "" && s != j.On {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return fail(nodeLine(root, "join", "on"), "join.on", "%s", msg)
		}
		for i, fl := range j.Filters {
			if !jt.Has(fl.Column) {
				return fail(nodeLine(root, "join", "filters", i), fmt.Sprintf("join.filters[%d]", i), "%q is not a column of %s", fl.Column, j.Table)
			}
		}
		for i, col := range j.Columns {
			if !jt.Has(col) {
				return fail(nodeLine(root, "join", "columns", i), fmt.Sprintf("join.columns[%d]", i), "%q is not a column of %s", col, j.Table)
			}
		}
		primary := has
		has = func(col string) bool { return primary(col) || slices.Contains(j.Columns, col) }
	}
	for i, col := range r.ProjectLog {
		if !has(col) {
			return missing(nodeLine(root, "project", "log", i), fmt.Sprintf("project.log[%d]", i), col, derived)
		}
	}
	for i, e := range r.Entities {
		for _, id := range e.Identifiers {
			if col, ok := engine.RowColumn(id.Column); ok && !has(col) {
				return missing(nodeLine(root, "entities", i, "identifiers", id.Name), fmt.Sprintf("entities[%d]", i), col, derived)
			}
		}
	}
	for _, tpl := range []struct{ field, text string }{{"alert_name", r.AlertNameTemplate}, {"alert_description", r.AlertDescriptionTemplate}} {
		for _, ref := range engine.TemplateColumns(tpl.text) {
			if col, ok := engine.RowColumn(ref); ok && !has(col) {
				return missing(nodeLine(root, tpl.field), tpl.field, col, derived)
			}
		}
	}
	return nil
}

// readsBeforeJoin reports whether field names a column read before the
// join (filters, derivations, candidates, their compat versions), so
// that the join's kept columns are not offered for it.
func readsBeforeJoin(field string) bool {
	field = strings.TrimPrefix(field, "sentinel.compat.")
	for _, p := range []string{"filters[", "derive[", "candidates["} {
		if strings.HasPrefix(field, p) {
			return true
		}
	}
	return false
}

// suggest returns a known column equal to col but for case, if any.
func suggest(col string, tables []*Table, extra map[string]string, derived map[string]bool) string {
	for c := range derived {
		if strings.EqualFold(c, col) {
			return c
		}
	}
	for c := range extra {
		if strings.EqualFold(c, col) {
			return c
		}
	}
	for _, t := range tables {
		for _, c := range slices.Sorted(maps.Keys(t.Columns)) {
			if strings.EqualFold(c, col) {
				return c
			}
		}
	}
	return ""
}

// knownTable says where to find the known tables, or the one meant when
// name differs from it only in case.
func knownTable(name string, ts map[string]*Table) string {
	for _, n := range tableNames(ts) {
		if strings.EqualFold(n, name) {
			return fmt.Sprintf(" (did you mean %q?)", n)
		}
	}
	return " (timap rules tables lists the known ones)"
}

func tableNames(ts map[string]*Table) []string {
	var names []string
	for n := range ts {
		if n != "ThreatIntelligenceIndicator" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// nodeLine returns the line of the node at path below the document root:
// strings select mapping keys, ints sequence items. A path that does not
// resolve fully yields the line of its longest resolving prefix (0 when
// not even the first key exists).
func nodeLine(root *yaml.Node, path ...any) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, p := range path {
		var next *yaml.Node
		switch k := p.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == k {
						line = n.Content[i].Line
						next = n.Content[i+1]
						break
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && k < len(n.Content) {
				next = n.Content[k]
				line = next.Line
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

// Schemas returns the schemas decoders use for the rows rs read: the
// built-in tables, with the columns a rule file declares added to its
// tables (custom *_CL tables get their whole schema from there). The
// built-in schemas are not changed.
func Schemas(rs []*engine.Rule) (engine.Schemas, error) {
	builtin, err := Tables()
	if err != nil {
		return nil, err
	}
	out := make(engine.Schemas, len(builtin))
	maps.Copy(out, builtin)
	for _, r := range rs {
		if len(r.Columns) == 0 {
			continue
		}
		for _, tn := range r.AllTables() {
			t := &Table{Name: tn, Columns: map[string]engine.ColumnType{}}
			if old := out[tn]; old != nil {
				*t = Table{Name: tn, Source: old.Source, Notes: old.Notes, Columns: maps.Clone(old.Columns)}
			} else {
				t.Source = "columns declared in " + r.SourceFile
				for _, c := range standardColumns {
					t.Columns[c] = engine.ColumnString
				}
				t.Columns["TimeGenerated"] = engine.ColumnDatetime
			}
			maps.Copy(t.Columns, r.Columns)
			t.Fold()
			out[tn] = t
		}
	}
	return out, nil
}
