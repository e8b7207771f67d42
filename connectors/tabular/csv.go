package tabular

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"

	"timap/engine"
)

// CSVReader reads rows of a CSV export (RFC 4180) whose first row names
// the columns. Each row must have as many fields as the header.
type CSVReader struct {
	// Schema types the rows (see Decoder); the zero value reads them
	// untyped.
	Schema Schema
	// Origin labels schema findings (the file name).
	Origin string

	r       *csv.Reader
	table   string
	cols    []string // column names, after columnName; "" for skipped
	typeAt  int      // index of the Type column, or -1
	line    int      // first line of the row last returned by Next
	started bool
}

// NewCSVReader returns a reader of rows of table from r. The header is
// read by the first Next. A "Type" column, when present and not empty,
// overrides table row by row.
func NewCSVReader(r io.Reader, table string) *CSVReader {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	return &CSVReader{r: cr, table: table, typeAt: -1}
}

// Next reads the next row into ev: it resets ev to the reader's table (or
// the row's Type), sets ev.TimeGenerated from a TimeGenerated column, and
// sets the other non-empty columns that need asks for (all when need is
// nil). ev.Origin is left to the caller; Line gives the row's line number.
//
// Next returns io.EOF after the last row, and an *Error carrying the line
// number for malformed CSV (wrapping the *csv.ParseError), a row with the
// wrong number of fields, or an unparsable TimeGenerated. Values are
// fresh strings: ev stays valid after later calls.
func (c *CSVReader) Next(ev *engine.Event, need engine.ColumnSet) error {
	if !c.started {
		if err := c.readHeader(); err != nil {
			return err
		}
	}
	rec, err := c.r.Read()
	if err != nil {
		return c.wrap(err)
	}
	c.line, _ = c.r.FieldPos(0)
	ev.Reset(c.table)
	if c.typeAt >= 0 && rec[c.typeAt] != "" {
		ev.Table = rec[c.typeAt]
	}
	row := c.Schema.startRow(ev.Table, c.Origin, int64(c.line))
	ev.Table = row.table
	for i, v := range rec {
		name := c.cols[i]
		if i == c.typeAt || name == "" {
			if i == c.typeAt && name != "Type" {
				row.column(name) // counted as read as Type
			}
			continue
		}
		col := row.column(name)
		if v == "" {
			continue
		}
		if err := row.put(ev, col, name, v, need); err != nil {
			return &Error{Line: c.line, Msg: "bad TimeGenerated", Err: err}
		}
	}
	return nil
}

// Line returns the line number (1-based) where the row last returned by
// Next starts, for error messages and ev.Origin; 0 before the first row.
func (c *CSVReader) Line() int { return c.line }

// Columns returns the column names of the header, after dropping the
// portal's " [UTC]" suffix; nil before the first Next.
func (c *CSVReader) Columns() []string { return c.cols }

func (c *CSVReader) readHeader() error {
	c.started = true
	hdr, err := c.r.Read()
	if err != nil {
		return c.wrap(err)
	}
	c.cols = make([]string, len(hdr))
	for i, h := range hdr {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // Excel and the portal write a BOM
		}
		col := columnName(h)
		c.cols[i] = col
		if col == "Type" {
			c.typeAt = i
		}
	}
	if c.typeAt < 0 && c.Schema.Schemas != nil {
		// With schemas, names are matched ignoring case: "type" too.
		for i, col := range c.cols {
			if strings.EqualFold(col, "Type") {
				c.typeAt = i
				break
			}
		}
	}
	return nil
}

func (c *CSVReader) wrap(err error) error {
	if err == io.EOF {
		return io.EOF
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &Error{Line: pe.Line, Msg: "bad CSV", Err: err}
	}
	return &Error{Line: c.line, Msg: "read failed", Err: err}
}
