package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Report is the result of a harness run: bench.json holds it whole,
// README.md renders it.
type Report struct {
	Command string
	Machine Machine
	Started time.Time
	Seconds float64
	Config  struct {
		Scales               []int
		Events               int
		HitRate              float64
		Seed                 uint64
		Now                  time.Time
		Grace, Window        string
		Isolated, Short      bool
		Updates, UpdateBatch int
		Repeat               int
	}
	// Rules are the rules both engines run; Unmeasured the built-in rules
	// on the benchmarked tables that the SQL baseline has no SQL for yet
	// (left out of both, so that the alert sets stay comparable).
	Rules, Unmeasured []RuleInfo
	// SQLNote says why the SQL baseline did not run, when it did not.
	SQLNote string `json:",omitempty"`
	Scales  []*ScaleResult
	// Agree is set when the SQL baseline ran and every alert set agreed.
	Agree bool
}

func newReport(cfg *Config) *Report {
	r := &Report{Command: cfg.Command, Machine: machine(), Started: time.Now().UTC()}
	c := &r.Config
	c.Scales, c.Events, c.HitRate, c.Seed, c.Now = cfg.Scales, cfg.Events, cfg.HitRate, cfg.Seed, cfg.Now
	c.Grace, c.Window, c.Isolated, c.Short = cfg.Grace.String(), cfg.Window.String(), cfg.Isolate, cfg.Short
	c.Updates, c.UpdateBatch, c.Repeat = cfg.Updates, cfg.UpdateBatch, cfg.Repeat
	return r
}

// write writes bench.json, README.md and the plots into dir.
func (r *Report) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(r.markdown()), 0o644); err != nil {
		return err
	}
	return r.plots(dir)
}

// table is a Markdown table under construction.
type table struct {
	b    *strings.Builder
	cols int
}

func newTable(b *strings.Builder, head ...string) *table {
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|" + strings.Repeat("---|", len(head)) + "\n")
	return &table{b: b, cols: len(head)}
}

func (t *table) row(cells ...string) {
	t.b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
}

// rate formats a per-second figure: 1234567 → "1.23M".
func rate(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// size formats bytes: 1536 → "1.5 KiB".
func size(v float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", v)
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func us(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f ms", v/1000)
	}
	return fmt.Sprintf("%.1f µs", v)
}

// sqlTable returns the baseline's run of table with threads threads.
func (s *ScaleResult) sqlTable(table string, threads int) (SQLTable, bool) {
	for _, r := range s.SQL {
		if r.Threads != threads {
			continue
		}
		for _, t := range r.Tables {
			if t.Table == table {
				return t, true
			}
		}
	}
	return SQLTable{}, false
}

// tableResult returns timap's passes over table in format.
func (s *ScaleResult) tableResult(table, format string) (TableResult, bool) {
	for _, t := range s.Tables {
		if t.Table == table && t.Format == format {
			return t, true
		}
	}
	return TableResult{}, false
}

// headline is the main throughput table: CommonSecurityLog on every
// scale, timap against the I/O floor and the SQL baseline.
func (r *Report) headline() string {
	var b strings.Builder
	n := r.Machine.CPUs
	fmt.Fprintf(&b, "CommonSecurityLog, %d rows, %.0f%% carrying an indicator value; events/s (ratio = timap ÷ baseline)\n\n", r.Config.Events, 100*r.Config.HitRate)
	t := newTable(&b, "indicators", "timap CEF 1 core", fmt.Sprintf("timap CEF %d cores", n), "timap NDJSON 1 core",
		fmt.Sprintf("timap NDJSON %d cores", n), "of I/O floor (CEF, 1 core)", "DuckDB 1 thread", fmt.Sprintf("DuckDB %d threads", n),
		"timap ÷ DuckDB (NDJSON, 1 core)", fmt.Sprintf("timap ÷ DuckDB (NDJSON, %d cores)", n))
	for _, s := range r.Scales {
		cefT, _ := s.tableResult("CommonSecurityLog", "cef")
		ndT, _ := s.tableResult("CommonSecurityLog", "ndjson")
		q1, _ := s.sqlTable("CommonSecurityLog", 1)
		qn, _ := s.sqlTable("CommonSecurityLog", n)
		t.row(s.Name, rate(cefT.Timap1.EventsPerSec), rate(cefT.TimapN.EventsPerSec), rate(ndT.Timap1.EventsPerSec),
			rate(ndT.TimapN.EventsPerSec), fmt.Sprintf("%.0f%%", 100*cefT.OfFloor1), rate(q1.RowsPerSec), rate(qn.RowsPerSec),
			ratio(ndT.Timap1.EventsPerSec, q1.RowsPerSec), ratio(ndT.TimapN.EventsPerSec, qn.RowsPerSec))
	}
	return b.String()
}
