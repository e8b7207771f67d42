package files

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"timap/engine"
)

var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func all(string) engine.ColumnSet { return nil }

type row struct {
	table, origin string
	offset        int64
	cols          map[string]string
	t             time.Time
}

func readAll(t *testing.T, path, table string) ([]row, []error) {
	t.Helper()
	r, err := OpenEvents(path, table, now)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var rows []row
	var bad []error
	var ev engine.Event
	for {
		err := r.Next(&ev, all)
		if err == io.EOF {
			return rows, bad
		}
		var le *LineError
		if errors.As(err, &le) {
			bad = append(bad, err)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		cols := map[string]string{}
		for _, f := range ev.Fields() {
			cols[f.Column] = f.Value
		}
		rows = append(rows, row{ev.Table, ev.Origin, ev.Offset, cols, ev.TimeGenerated})
	}
}

func TestEventFormats(t *testing.T) {
	rows, bad := readAll(t, "testdata/rows.ndjson", "DnsEvents")
	if len(rows) != 2 || len(bad) != 1 {
		t.Fatalf("ndjson: %d rows, bad %v", len(rows), bad)
	}
	if rows[0].table != "CommonSecurityLog" || rows[0].cols["SourceIP"] != "17.81.146.1" ||
		!rows[0].t.Equal(time.Date(2026, 11, 30, 9, 0, 0, 123456700, time.UTC)) {
		t.Errorf("ndjson row 1: %+v", rows[0])
	}
	if rows[1].table != "DnsEvents" || rows[1].cols["Name"] != "evil.example" || rows[1].offset != 2 {
		t.Errorf("ndjson row 2 (table from --table): %+v", rows[1])
	}
	if le := (*LineError)(nil); !errors.As(bad[0], &le) || le.Line != 3 || le.Path != "testdata/rows.ndjson" {
		t.Errorf("bad line: %v", bad[0])
	}

	rows, bad = readAll(t, "testdata/rows.csv", "CommonSecurityLog")
	if len(rows) != 2 || len(bad) != 0 || rows[1].cols["SourceIP"] != "10.0.0.6" || rows[1].cols["DestinationIP"] != "198.51.100.1" {
		t.Errorf("csv: %+v %v", rows, bad)
	}

	rows, bad = readAll(t, "testdata/events.cef.gz", "")
	if len(rows) != 1 || len(bad) != 1 || rows[0].cols["DestinationIP"] != "203.0.113.9" || rows[0].offset != 1 {
		t.Errorf("gz cef: %+v %v", rows, bad)
	}
	if le := (*LineError)(nil); !errors.As(bad[0], &le) || le.Line != 4 {
		t.Errorf("gz bad line: %v", bad[0])
	}
}

func TestLoadIndicatorsDirectory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "c2.txt"), []byte("# C2\n203.0.113.9\n10.1.2.3\nevil.example\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "bundle.json"), []byte(`{"type":"bundle","objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--1","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z","pattern":"[url:value = 'http://evil.example/x']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}]}`), 0o644)
	os.WriteFile(filepath.Join(dir, "broken.json"), []byte(`{"type":`), 0o644)
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("# not indicators"), 0o644)
	var got []*engine.Indicator
	rep, err := LoadIndicators([]string{dir}, "auto", now, func(b []*engine.Indicator) { got = append(got, b...) })
	if err != nil {
		t.Fatal(err)
	}
	if rep.Files != 3 || rep.FileErrors != 1 || rep.Indicators != 3 || len(got) != 3 ||
		rep.Observables[engine.TypeIP] != 1 || rep.Observables[engine.TypeDomain] != 1 || rep.Observables[engine.TypeURL] != 1 ||
		rep.Rejected["non-routable"] != 1 || rep.Rejected["unreadable-file"] != 1 {
		t.Errorf("report %+v", rep)
	}
	rep, err = LoadIndicators([]string{filepath.Join(dir, "missing"), filepath.Join(dir, "c2.txt")}, "auto", now, func([]*engine.Indicator) {})
	if err != nil || rep.NamedUnreadable != 1 || rep.Indicators != 2 {
		t.Errorf("missing path next to a good one: %v %+v", err, rep)
	}
	if _, err := LoadIndicators([]string{dir}, "csv", now, func([]*engine.Indicator) {}); err == nil {
		t.Error("unknown format accepted")
	}
}

// BenchmarkLoadShared loads the full ../shared/data feeds and STIX folders
// into a Store: indicators/s from file to published snapshot, and heap
// bytes per live indicator.
func BenchmarkLoadShared(b *testing.B) {
	roots := []string{"../../../shared/data/feeds", "../../../shared/data/stix/v20", "../../../shared/data/stix/v21"}
	if _, err := os.Stat(roots[0]); err != nil {
		b.Skip("../shared/data absent")
	}
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		s := engine.NewStore(engine.StoreOptions{})
		var all []*engine.Indicator
		rep, err := LoadIndicators(roots, "auto", now, func(b []*engine.Indicator) { all = append(all, b...) })
		if err != nil {
			b.Fatal(err)
		}
		s.Upsert(all...)
		s.Rebuild()
		all = nil
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		live := s.Stats().Live
		b.ReportMetric(float64(rep.Indicators)/b.Elapsed().Seconds()*float64(i+1), "indicators/s")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(live), "bytes/indicator")
		b.ReportMetric(float64(live), "live")
		runtime.KeepAlive(s)
	}
}

// TestCSVBadRecordLine: a malformed CSV record is reported at its own line,
// not at the previous good row's.
func TestCSVBadRecordLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rag.csv")
	os.WriteFile(path, []byte("SourceIP,DestinationIP\n10.0.0.5,203.0.113.9\n10.0.0.6,198.51.100.1\n10.0.0.7\n10.0.0.8,203.0.113.9\n"), 0o600)
	rows, bad := readAll(t, path, "CommonSecurityLog")
	if len(rows) != 3 || len(bad) != 1 {
		t.Fatalf("%d rows, bad %v", len(rows), bad)
	}
	if le := (*LineError)(nil); !errors.As(bad[0], &le) || le.Line != 4 {
		t.Errorf("bad record at %v, want line 4", bad[0])
	}
	if rows[2].offset != 5 {
		t.Errorf("row after the bad one at line %d, want 5", rows[2].offset)
	}
}
