package engine

import (
	"time"
	"unsafe"
)

// Field is one decoded column of a log row: a Sentinel column name
// (for example "SourceIP", "RequestURL") and its text value.
type Field struct {
	Column string
	Value  string
}

// Event is one log row of one table (CommonSecurityLog, DnsEvents, …) as the
// executor sees it. Decoders fill only the columns some rule needs (see
// Executor.Needs), so an Event is small; it is reused between rows with Reset
// to keep the per-event path free of allocations.
type Event struct {
	// Table is the Log Analytics table name, e.g. "CommonSecurityLog".
	Table string
	// TimeGenerated is when the logged activity happened (UTC). Expiry is
	// judged against it: an indicator matches only events stamped before its
	// ExpirationDateTime.
	TimeGenerated time.Time
	// Origin names the stream the row came from ("logs/fw.cef", "stdin",
	// "topic/3") and Offset its position there (line number, Kafka offset);
	// alerts carry both as "origin:offset". Kept apart so that setting them
	// per row does not allocate.
	Origin string
	Offset int64

	fields []Field
}

// Reset empties e for the next row of table, keeping its storage.
func (e *Event) Reset(table string) {
	e.Table = table
	e.TimeGenerated = time.Time{}
	e.Origin = ""
	e.Offset = 0
	e.fields = e.fields[:0]
}

// Set sets column to value. A later Set of the same column replaces the
// earlier value (CEF allows a key twice; the last one wins, as in ArcSight).
func (e *Event) Set(column, value string) {
	for i := range e.fields {
		if e.fields[i].Column == column {
			e.fields[i].Value = value
			return
		}
	}
	e.fields = append(e.fields, Field{column, value})
}

// Get returns the value of column and whether the row has it.
func (e *Event) Get(column string) (string, bool) {
	for i := range e.fields {
		if e.fields[i].Column == column {
			return e.fields[i].Value, true
		}
	}
	return "", false
}

// Value returns the value of column, or "" when the row lacks it (KQL's
// isempty treats a missing column and an empty string alike).
func (e *Event) Value(column string) string {
	v, _ := e.Get(column)
	return v
}

// Fields returns the row's columns in the order they were set. The slice is
// e's own storage: valid until the next Reset.
func (e *Event) Fields() []Field { return e.fields }

// ColumnSet says which columns a consumer needs; decoders skip the others.
// A nil ColumnSet means "all columns".
type ColumnSet map[string]struct{}

// Has reports whether column is needed. A nil set needs every column.
func (s ColumnSet) Has(column string) bool {
	if s == nil {
		return true
	}
	_, ok := s[column]
	return ok
}

// Clone returns a copy of e that owns its strings, for rows kept beyond the
// decoder's next line (rows waiting for a join). Names and values share
// one allocation.
func (e *Event) Clone() *Event {
	n := 0
	for _, f := range e.fields {
		n += len(f.Column) + len(f.Value)
	}
	c, p := e.shell(len(e.fields), n)
	for _, f := range e.fields {
		c.fields = append(c.fields, Field{p.copy(f.Column), p.copy(f.Value)})
	}
	return c
}

// Project returns a copy of e with only the columns cols it has, in that
// order, owning its values (one allocation for all of them); the column
// names are cols' own strings.
func (e *Event) Project(cols []string) *Event {
	n := 0
	for _, col := range cols {
		n += len(e.Value(col))
	}
	c, p := e.shell(len(cols), n)
	for _, col := range cols {
		if v, ok := e.Get(col); ok {
			c.fields = append(c.fields, Field{col, p.copy(v)})
		}
	}
	return c
}

// shell is an empty copy of e with room for fields columns, and a packer
// of size bytes for its strings.
func (e *Event) shell(fields, size int) (*Event, *packer) {
	// Table is no copy: decoders give it from a constant or an intern table.
	c := &Event{Table: e.Table, TimeGenerated: e.TimeGenerated, Origin: e.Origin, Offset: e.Offset,
		fields: make([]Field, 0, fields)}
	return c, &packer{buf: make([]byte, 0, size)}
}

// packer copies strings into one buffer sized up front, so the strings
// handed out never move.
type packer struct{ buf []byte }

func (p *packer) copy(s string) string {
	if s == "" {
		return ""
	}
	at := len(p.buf)
	p.buf = append(p.buf, s...)
	return unsafe.String(&p.buf[at], len(s))
}
