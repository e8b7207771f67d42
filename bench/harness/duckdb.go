package harness

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// SQLResult is one run of the DuckDB baseline (bench/duckdb) on a
// workload's NDJSON files.
type SQLResult struct {
	Version string
	Threads int
	// Indicators: side-file rows, live indicators, seconds to read and
	// normalise them.
	IndicatorRows, IndicatorLive int64
	IndicatorSeconds             float64
	Tables                       []SQLTable
	Alerts                       int
	// WallSeconds is the whole subprocess, start-up included.
	WallSeconds float64
}

// SQLTable is the baseline's run over one table: NDJSON ingest, then the
// join and aggregation of the table's rules.
type SQLTable struct {
	Table                                   string
	Rows                                    int64
	IngestSeconds, QuerySeconds, RowsPerSec float64
	Alerts                                  int
}

// Agreement is the comparison of timap's alert set of a table with the
// SQL baseline's.
type Agreement struct {
	Table       string
	SQLThreads  int
	TimapAlerts int
	SQLAlerts   int
	Equal       bool
	Diff        string `json:",omitempty"`
}

// buildDuckDB builds the baseline binary into the cache. DuckDB needs cgo
// and a C compiler; the error says why it could not be built.
func (cfg *Config) buildDuckDB(stderr io.Writer) (string, error) {
	dir := filepath.Join(cfg.Root, "bench", "duckdb")
	bin := filepath.Join(cfg.Cache, "bin", "timap-bench-duckdb")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build in %s (cgo, DuckDB): %v\n%s", dir, err, out)
	}
	return bin, nil
}

// runDuckDB runs the baseline with threads threads (0: all) on the
// workload and reads its alerts into sets per table.
func (cfg *Config) runDuckDB(bin string, w *Workload, threads int, tmp string, stderr io.Writer) (SQLResult, map[string]alertSet, error) {
	var res SQLResult
	out := filepath.Join(tmp, fmt.Sprintf("duckdb-%d.json", threads))
	alerts := filepath.Join(tmp, fmt.Sprintf("duckdb-%d-alerts.ndjson", threads))
	args := []string{"-indicators", w.Manifest.SideFile, "-now", cfg.Now.Format(time.RFC3339Nano),
		"-grace", cfg.Grace.String(), "-window", cfg.Window.String(), "-threads", strconv.Itoa(threads),
		"-out", out, "-alerts", alerts}
	names := map[string]string{"CommonSecurityLog": "csl", "DnsEvents": "dns", "EmailUrlInfo": "email"}
	for _, ef := range w.Manifest.Events {
		if ef.Format == "ndjson" {
			args = append(args, "-table", names[ef.Table]+"="+ef.Path)
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return res, nil, fmt.Errorf("bench: DuckDB baseline: %w", err)
	}
	res.WallSeconds = time.Since(start).Seconds()
	var raw struct {
		Version    string
		Threads    int
		Indicators struct {
			Rows, Live int64
			Seconds    float64
		}
		Tables []SQLTable
		Alerts int
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return res, nil, err
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return res, nil, fmt.Errorf("bench: %s: %w", out, err)
	}
	res.Version, res.Threads, res.Tables, res.Alerts = raw.Version, raw.Threads, raw.Tables, raw.Alerts
	res.IndicatorRows, res.IndicatorLive, res.IndicatorSeconds = raw.Indicators.Rows, raw.Indicators.Live, raw.Indicators.Seconds
	sets, err := readSQLAlerts(alerts)
	return res, sets, err
}

// compare checks timap's alert sets against the SQL baseline's, table by
// table.
func compare(timap, sql map[string]alertSet, threads int) []Agreement {
	var out []Agreement
	for _, t := range []string{"CommonSecurityLog", "DnsEvents", "EmailUrlInfo"} {
		a := Agreement{Table: t, SQLThreads: threads, TimapAlerts: len(timap[t]), SQLAlerts: len(sql[t])}
		a.Diff = diff("timap", timap[t], "SQL", sql[t], 10)
		a.Equal = a.Diff == ""
		out = append(out, a)
	}
	return out
}
