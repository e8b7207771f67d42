package files

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"timap/connectors/cef"
	"timap/connectors/tabular"
	"timap/engine"
)

// maxLine is the longest event line read (syslog/CEF lines are at most a
// few KiB; NDJSON exports of wide tables can be larger).
const maxLine = 4 << 20

// LineError is a bad event line: where it is and why.
type LineError struct {
	Path string
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.Path, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// EventReader reads log rows from one file (or standard input) in any of the
// formats timap decodes, chosen per line: CEF (with or without a syslog
// header) becomes CommonSecurityLog, a JSON object is one row whose keys
// are column names (table from its "Type" key, else the reader's table).
// A file named *.csv is a CSV export with a header row of column names.
// *.gz files are decompressed.
type EventReader struct {
	path  string
	table string
	close func() error
	lines *lineReader
	csv   *tabular.CSVReader
	line  int
	cef   cef.Parser
	json  tabular.Decoder

	needAny engine.ColumnSet
}

// OpenEvents opens path ("-" for standard input). table is the table of
// JSON rows without a "Type" and of CSV files ("" = CommonSecurityLog).
// now is the time given to rows that carry none.
func OpenEvents(path, table string, now time.Time) (*EventReader, error) {
	if table == "" {
		table = cef.Table
	}
	r := &EventReader{path: path, table: table, close: func() error { return nil }}
	r.json.Alias = true // rows are valid until the next Next, as documented
	r.cef.Now = now
	var in io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		in, r.close = f, f.Close
		if strings.EqualFold(filepath.Ext(path), ".gz") {
			z, err := gzip.NewReader(f)
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			in = z
		}
	} else {
		r.path = "stdin"
	}
	// Sniff gzip by its magic number, so compressed stdin works too.
	br := bufio.NewReader(in)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b && !strings.EqualFold(filepath.Ext(path), ".gz") {
		z, err := gzip.NewReader(br)
		if err != nil {
			r.close()
			return nil, fmt.Errorf("%s: %w", r.path, err)
		}
		in = z
	} else {
		in = br
	}
	if strings.HasSuffix(strings.ToLower(strings.TrimSuffix(path, ".gz")), ".csv") {
		r.csv = tabular.NewCSVReader(in, table)
		return r, nil
	}
	r.lines = newLineReader(in, maxLine)
	return r, nil
}

// Close closes the underlying file.
func (r *EventReader) Close() error { return r.close() }

// SetNeedAny sets the columns decoded for NDJSON rows, whose table is known
// only once decoded (nil = all columns).
func (r *EventReader) SetNeedAny(cols engine.ColumnSet) { r.needAny = cols }

// SetSchema makes NDJSON and CSV rows typed by the table schemas (see
// tabular.Schema): names resolved, values converted, findings counted in
// s.Report, which several readers may share.
func (r *EventReader) SetSchema(s tabular.Schema) {
	r.json.Schema = s
	if r.csv != nil {
		r.csv.Schema = s
		r.csv.Origin = r.path
	}
}

// Next reads the next row into ev, filling the columns need(table) asks
// for (NDJSON rows: the SetNeedAny columns). It returns io.EOF at the end, a *LineError for a bad line (the caller
// counts it and calls Next again), or another error when reading fails.
// ev's values stay valid until the next call.
func (r *EventReader) Next(ev *engine.Event, need func(table string) engine.ColumnSet) error {
	if r.csv != nil {
		ev.Reset(r.table)
		err := r.csv.Next(ev, r.csvNeed(need))
		r.line = r.csv.Line()
		ev.Origin, ev.Offset = r.path, int64(r.line)
		if err != nil && err != io.EOF {
			var le *tabular.Error
			if errors.As(err, &le) {
				if le.Line > 0 {
					r.line = le.Line // a malformed record: where the parser found it
				}
				return &LineError{r.path, r.line, err}
			}
		}
		if err == nil && ev.TimeGenerated.IsZero() {
			ev.TimeGenerated = r.cef.Now
		}
		return err
	}
	for {
		line, err := r.lines.next()
		if err == io.EOF {
			return io.EOF
		}
		r.line++
		if errors.Is(err, errLineTooLong) {
			return &LineError{r.path, r.line, err}
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %w", r.path, r.line, err)
		}
		if r.line == 1 {
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if line[0] == '{' || line[0] == '[' { // '[': a JSON array, refused as "want a JSON object"
			// The row's own Type key decides its table, so decode every
			// column any table's rules need.
			ev.Reset(r.table)
			err = r.json.Decode(line, ev, r.needAny, r.path, int64(r.line))
		} else {
			ev.Reset(cef.Table)
			err = r.cef.Decode(line, ev, need(cef.Table))
		}
		ev.Origin, ev.Offset = r.path, int64(r.line)
		if err != nil {
			return &LineError{r.path, r.line, err}
		}
		if ev.TimeGenerated.IsZero() {
			ev.TimeGenerated = r.cef.Now // a row without a time happened "now"
		}
		return nil
	}
}

// utf8BOM starts files written by some Windows tools.
var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// csvNeed is the column set of CSV rows: a Type column may put rows in any
// table, so every column some table needs is kept.
func (r *EventReader) csvNeed(need func(string) engine.ColumnSet) engine.ColumnSet {
	if r.needAny != nil {
		return r.needAny
	}
	return need(r.table)
}

// Walk replaces each directory of paths by the files below it, as
// LoadIndicators reads directories (listFiles: lexical order, hidden files
// and directories and *.md skipped). "-" and paths that are not
// directories are kept, and so are entries that cannot be read, so that
// opening them reports why.
func Walk(paths []string) []string {
	var out []string
	for _, p := range paths {
		if st, err := os.Stat(p); p == "-" || err != nil || !st.IsDir() {
			out = append(out, p)
			continue
		}
		found, errs := listFiles(p)
		out = append(out, found...)
		for _, err := range errs {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				out = append(out, pe.Path)
			}
		}
	}
	return out
}
