package engine

import (
	"fmt"
	"strings"
)

// ColumnType is the KQL type of a Log Analytics column (spec §3; Kusto
// "scalar data types").
type ColumnType uint8

// The column types a table schema may name.
const (
	ColumnString ColumnType = iota + 1
	ColumnInt
	ColumnLong
	ColumnReal
	ColumnBool
	ColumnDatetime
	ColumnDynamic
	ColumnGuid
)

var columnTypeNames = [...]string{
	ColumnString:   "string",
	ColumnInt:      "int",
	ColumnLong:     "long",
	ColumnReal:     "real",
	ColumnBool:     "bool",
	ColumnDatetime: "datetime",
	ColumnDynamic:  "dynamic",
	ColumnGuid:     "guid",
}

// String returns the KQL name of t ("string", "int", …).
func (t ColumnType) String() string {
	if int(t) < len(columnTypeNames) && columnTypeNames[t] != "" {
		return columnTypeNames[t]
	}
	return fmt.Sprintf("ColumnType(%d)", uint8(t))
}

// ColumnTypeNames lists the KQL type names ParseColumnType accepts.
func ColumnTypeNames() []string { return append([]string(nil), columnTypeNames[1:]...) }

// ParseColumnType returns the type a KQL type name names; "double" is
// KQL's alias of real. Unknown names are an error listing the known ones.
func ParseColumnType(name string) (ColumnType, error) {
	if name == "double" {
		return ColumnReal, nil
	}
	for t, n := range columnTypeNames {
		if n != "" && n == name {
			return ColumnType(t), nil
		}
	}
	return 0, fmt.Errorf("type %q is not one of %s", name, strings.Join(ColumnTypeNames(), ", "))
}

// TableSchema is the column schema of one Log Analytics table, ASIM parser
// output or custom (*_CL) table: what rule files may name and how exported
// rows of the table are decoded.
type TableSchema struct {
	Name string
	// Source says where the column list comes from.
	Source string
	// Notes are remarks on the table's columns.
	Notes string
	// Columns maps every column name to its type.
	Columns map[string]ColumnType

	folded map[string]string // lower-case name → name, built by Fold
}

// Has reports whether the table has column (exact name).
func (t *TableSchema) Has(column string) bool {
	_, ok := t.Columns[column]
	return ok
}

// Fold prepares case-insensitive lookups (Lookup); call it once, after
// Columns is complete and before the schema is shared.
func (t *TableSchema) Fold() {
	t.folded = make(map[string]string, len(t.Columns))
	for c := range t.Columns {
		t.folded[strings.ToLower(c)] = c
	}
}

// Lookup finds a column by name: exactly, else ignoring case (exports
// written by other tools lower-case column names; KQL names are
// case-sensitive, so "sourceip" can only mean SourceIP). It returns the
// schema's spelling, the type and whether it was found.
func (t *TableSchema) Lookup(name string) (column string, typ ColumnType, ok bool) {
	if typ, ok := t.Columns[name]; ok {
		return name, typ, true
	}
	if c, ok := t.folded[strings.ToLower(name)]; ok {
		return c, t.Columns[c], true
	}
	return "", 0, false
}

// Schemas are table schemas by table name.
type Schemas map[string]*TableSchema
