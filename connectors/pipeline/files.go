package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"timap/connectors/files"
	"timap/engine"
)

// EventSource feeds records to the stage's lanes. Implementations:
// FileSource, SyslogSource, connectors/kafka's GroupSource.
type EventSource interface {
	// Name labels the source in logs.
	Name() string
	// Run consumes until ctx is done or the input ends, then finishes
	// what it started (acknowledged alerts, commits) and returns. A nil
	// error after ctx is done is a clean stop.
	Run(ctx context.Context, st *Stage) error
}

// sealEvery is how many rows a FileSource matches between two ack
// batches.
const sealEvery = 1024

// FileSource reads events from files and standard input, in the formats
// and with the line numbering of `timap match --events`: CEF lines with
// or without a syslog header, NDJSON rows, *.csv exports, *.gz of these,
// "-" for standard input; directories are read file by file
// (files.Walk). The files are one lane, read in order, so a suppression
// window or a join (R05/R37) spans files as in `timap match`; alerts
// carry "path:line" origins, and the lane's open alerts are flushed with
// their final counts at the end. Bad lines are counted and logged, never
// fatal; a file that cannot be opened is an error, and the others are
// still read.
type FileSource struct {
	// Label names the source in logs. Default "files".
	Label string
	// Paths are the files to read in order; "-" is standard input.
	Paths []string
	// Route.Table is the table of NDJSON rows without a "Type" key and
	// of CSV files (default CommonSecurityLog). Route.Format and
	// Route.Location apply to standard input only: files are decoded by
	// connectors/files, which picks the format per line.
	Route Route
	// Stdin is read for "-". Default os.Stdin.
	Stdin io.Reader
}

// Name returns Label or "files".
func (f *FileSource) Name() string {
	if f.Label == "" {
		return "files"
	}
	return f.Label
}

// Run reads every path to its end, or until ctx is done. A file that
// cannot be opened or read is logged and skipped, as `timap match` does;
// the error returned at the end names every such file.
func (f *FileSource) Run(ctx context.Context, st *Stage) error {
	var errs []error
	var lane *Lane // the files' lane, made at the first file
	for _, path := range files.Walk(f.Paths) {
		var err error
		if path == "-" {
			err = f.runStdin(ctx, st)
		} else {
			if lane == nil {
				lane = st.NewLane(f.Name(), -1, f.Route)
			}
			err = f.runFile(ctx, st, lane, path)
		}
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			st.log.Error("event file failed", "path", path, "error", err)
			errs = append(errs, err)
		}
	}
	if lane != nil {
		if err := lane.Flush(ctx); err != nil && ctx.Err() == nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (f *FileSource) runFile(ctx context.Context, st *Stage, lane *Lane, path string) error {
	now := st.cfg.Now
	if now.IsZero() {
		now = time.Now().UTC()
	}
	r, err := files.OpenEvents(path, f.Route.Table, now)
	if err != nil {
		return err
	}
	defer r.Close()
	r.SetNeedAny(st.cfg.Executor.NeedsAny())
	if st.cfg.Schemas != nil {
		r.SetSchema(st.schema())
	}
	var ev engine.Event
	for n := 1; ; n++ {
		err := r.Next(&ev, st.cfg.Executor.Needs)
		if err == io.EOF {
			break
		}
		var le *files.LineError
		if errors.As(err, &le) {
			lane.BadRow(err)
			continue
		}
		if err != nil {
			return err
		}
		if err := lane.ProcessEvent(ctx, &ev); err != nil {
			return err
		}
		if n%sealEvery == 0 {
			if err := lane.Seal(); err != nil {
				return err
			}
			if ctx.Err() != nil {
				break
			}
		}
	}
	return lane.Seal()
}

// runStdin reads standard input on its own goroutine, since a read of a
// terminal or pipe cannot be interrupted: Run returns on ctx while the
// reader stays blocked until the process exits.
func (f *FileSource) runStdin(ctx context.Context, st *Stage) error {
	in := f.Stdin
	if in == nil {
		in = os.Stdin
	}
	batches := make(chan []Record, 4)
	var readErr error
	go func() {
		defer close(batches)
		readErr = readLines(ctx, in, "stdin", batches)
	}()
	lane := st.NewLane("stdin", -1, f.Route)
	for {
		select {
		case recs, ok := <-batches:
			if !ok {
				if readErr != nil {
					return readErr
				}
				return lane.Flush(ctx)
			}
			if err := lane.Process(ctx, recs); err != nil {
				return err
			}
		case <-ctx.Done():
			return lane.Flush(context.WithoutCancel(ctx))
		}
	}
}

// maxLine is the longest line read from standard input, as in
// connectors/files.
const maxLine = 4 << 20

// readLines splits r into records of one line each (numbered from 1,
// blank and '#' lines skipped, as connectors/files does) and sends them
// in batches.
func readLines(ctx context.Context, r io.Reader, name string, out chan<- []Record) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var batch []Record
	line := int64(0)
	flush := func() bool {
		if len(batch) == 0 {
			return true
		}
		select {
		case out <- batch:
			batch = nil
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		b, err := readLine(br)
		if len(b) > 0 || err == nil {
			line++
		}
		if err != nil && err != io.EOF {
			flush()
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if b = bytes.TrimSpace(b); len(b) > 0 && b[0] != '#' {
			batch = append(batch, Record{Topic: name, Partition: -1, Offset: line, Value: b})
		}
		// A pipe delivers lines one by one: hand over what is there
		// rather than wait for a full batch.
		if len(batch) >= sealEvery || br.Buffered() == 0 || err == io.EOF {
			if !flush() {
				return nil
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// readLine returns the next line without its newline, in a new slice.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := readDelimited(br, maxLine)
	return bytes.TrimSuffix(line, []byte("\n")), err
}

// openFile opens a local file for reading.
func openFile(path string) (io.ReadCloser, error) { return os.Open(path) }
