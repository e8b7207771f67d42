// Package tabular reads Log Analytics rows exported as NDJSON or CSV
// (Sentinel's "Export to CSV", Azure-Sentinel sample data, `az monitor
// log-analytics query` output) into engine.Events, so rules can be replayed
// on recorded data of any table (CommonSecurityLog, DnsEvents, …).
//
// In both formats the keys or header names are the table's column names.
// Three names are special:
//   - Type sets ev.Table (Log Analytics stores the table name there);
//   - TimeGenerated sets ev.TimeGenerated instead of a column;
//   - a " [UTC]" suffix, which the portal's CSV export adds to datetime
//     columns ("TimeGenerated [UTC]", "StartTime [UTC]"), is dropped.
//
// Empty values are not set, since a missing column and an empty one read
// the same (engine.Event.Value).
package tabular

import (
	"strconv"
	"strings"
	"time"
)

// Error reports a row that could not be read. Line is the 1-based line
// number in the CSV input (0 for DecodeJSON, whose caller knows the line);
// Offset is the byte offset in a JSON line (0 for CSV). Err, when set, is
// the underlying error (a *csv.ParseError or a time parse error).
type Error struct {
	Line   int
	Offset int
	Msg    string
	Err    error
}

// Error returns "tabular: line L: msg" or "tabular: offset O: msg",
// followed by the underlying error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("tabular: ")
	if e.Line > 0 {
		b.WriteString("line " + strconv.Itoa(e.Line) + ": ")
	} else {
		b.WriteString("offset " + strconv.Itoa(e.Offset) + ": ")
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// columnName maps an exported name to the column name: the portal's
// " [UTC]" suffix on datetime columns is dropped.
func columnName(name string) string {
	name = strings.TrimSpace(name)
	if base, ok := strings.CutSuffix(name, " [UTC]"); ok {
		return base
	}
	return name
}

// timeLayouts are the TimeGenerated forms exports use: RFC 3339 with any
// fraction length (Log Analytics API, NDJSON; time.Parse accepts a
// fraction the layout does not show), the same without a zone, and the
// portal's US-style display form.
var timeLayouts = []string{
	time.RFC3339,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"1/2/2006, 3:04:05.000 PM",
	"1/2/2006, 3:04:05 PM",
}

// parseTimeGenerated parses a TimeGenerated value; times without a zone
// are UTC, as Log Analytics stores them. The result is in UTC.
func parseTimeGenerated(v string) (time.Time, error) {
	var first error
	for _, layout := range timeLayouts {
		t, err := time.Parse(layout, v)
		if err == nil {
			return t.UTC(), nil
		}
		if first == nil {
			first = err
		}
	}
	return time.Time{}, first
}
