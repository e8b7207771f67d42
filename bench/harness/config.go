// Package harness is timap's benchmark harness (issue 6): it builds
// workloads from the real data under ../shared/data, measures matching
// throughput, allocation, latency, load rate, memory and live updates at
// several indicator counts, runs the DuckDB SQL baseline and the I/O floor
// on the same files, checks that timap's and the SQL baseline's alert sets
// are equal, and writes a JSON result, a Markdown report and PNG plots.
//
// Entry point: Main (go run ./bench). docs/benchmarks.md explains every
// phase and the SQL.
package harness

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Config is one harness run.
type Config struct {
	// Root is the timap module root; Data the shared data folder
	// (../shared/data); Out where the report goes; Cache where workloads
	// are kept (bench/cache, keyed by seed and parameters).
	Root, Data, Out, Cache string
	// Scales are the indicator counts.
	Scales []int
	// Events is the number of CommonSecurityLog rows; DnsEvents and
	// EmailUrlInfo get half as many each.
	Events int
	// HitRate is the fraction of rows carrying an indicator value.
	HitRate float64
	Seed    uint64
	// Now is the fixed clock (and the first event's time); Grace the expiry
	// grace; Window the suppression window.
	Now           time.Time
	Grace, Window time.Duration
	// DuckDB is "on" (the SQL baseline must run), "auto" (run it when it
	// builds, say so when not) or "off".
	DuckDB string
	// Isolate runs generation and measurement of each scale in a child
	// process, so memory figures of one scale are not inflated by another.
	Isolate bool
	// Updates indicators are applied in batches of UpdateBatch while
	// matching runs.
	Updates, UpdateBatch int
	// Repeat runs every timed pass this many times and keeps the fastest,
	// which filters out interference from other processes.
	Repeat int
	// Progress shows progress bars on standard error.
	Progress bool
	Short    bool
	// Command is the command line, for the report.
	Command string

	// worker and workerOut: a child's phase ("gen" or "measure") and its
	// result file; args are the parent's arguments, passed on to children,
	// after prefix (see childPrefix).
	worker, workerOut string
	args, prefix      []string
}

// parseFlags reads args into a Config. Errors are usage errors.
func parseFlags(args []string, stderr io.Writer) (*Config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := &Config{}
	short := fs.Bool("short", false, "quick run (scale 10k, 20k events, no child processes): under a minute")
	scales := fs.String("scales", "", "indicator counts, comma-separated, k/M suffixes (default 10k,100k,1M,10M; -short: 10k)")
	events := fs.Int("events", 0, "CommonSecurityLog rows; DnsEvents and EmailUrlInfo get half as many (default 1000000; -short: 20000)")
	fs.Float64Var(&cfg.HitRate, "hits", 0.01, "fraction of rows carrying an indicator value")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed of the workloads")
	now := fs.String("now", "2026-11-30T08:00:00Z", "the fixed clock and the first event's time (RFC 3339)")
	fs.DurationVar(&cfg.Grace, "expiry-grace", time.Hour, "expiry grace, as timap match --expiry-grace")
	fs.DurationVar(&cfg.Window, "window", time.Hour, "suppression window")
	fs.StringVar(&cfg.Data, "data", "", "shared data folder (default ../shared/data beside the module; examples/ when absent)")
	fs.StringVar(&cfg.Out, "out", "", "report folder (default bench/results)")
	fs.StringVar(&cfg.Cache, "cache", "", "workload cache (default bench/cache)")
	fs.StringVar(&cfg.DuckDB, "duckdb", "on", "SQL baseline: on (must run), auto (skip with a note when it cannot build) or off")
	isolate := fs.String("isolate", "", "one child process per scale: true or false (default true; -short: false)")
	fs.IntVar(&cfg.Updates, "updates", 10000, "indicators upserted while matching runs")
	fs.IntVar(&cfg.UpdateBatch, "update-batch", 100, "indicators per Upsert call")
	fs.BoolVar(&cfg.Progress, "progress", true, "progress bars on standard error")
	fs.IntVar(&cfg.Repeat, "repeat", 0, "runs of every timed pass, the fastest kept (default 3; -short: 1)")
	fs.StringVar(&cfg.worker, "worker", "", "internal: run one phase of one scale (gen, measure)")
	fs.StringVar(&cfg.workerOut, "worker-out", "", "internal: the phase's result file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg.Short = *short
	var err error
	if cfg.Now, err = time.Parse(time.RFC3339, *now); err != nil {
		return nil, fmt.Errorf("-now: %w", err)
	}
	cfg.Now = cfg.Now.UTC()
	def := "10k,100k,1M,10M"
	cfg.Events, cfg.Isolate = 1_000_000, true
	if cfg.Short {
		def, cfg.Events, cfg.Isolate = "10k", 20_000, false
	}
	if *scales == "" {
		*scales = def
	}
	if cfg.Scales, err = parseScales(*scales); err != nil {
		return nil, err
	}
	if *events > 0 {
		cfg.Events = *events
	}
	if cfg.Repeat <= 0 {
		cfg.Repeat = 3
		if cfg.Short {
			cfg.Repeat = 1
		}
	}
	if *isolate != "" {
		if cfg.Isolate, err = strconv.ParseBool(*isolate); err != nil {
			return nil, fmt.Errorf("-isolate: %w", err)
		}
	}
	switch cfg.DuckDB {
	case "on", "auto", "off":
	default:
		return nil, fmt.Errorf("-duckdb: want on, auto or off, got %q", cfg.DuckDB)
	}
	if cfg.HitRate < 0 || cfg.HitRate > 1 {
		return nil, fmt.Errorf("-hits: want a fraction in [0, 1], got %v", cfg.HitRate)
	}
	if cfg.UpdateBatch <= 0 || cfg.Updates < 0 {
		return nil, errors.New("-updates must be ≥ 0 and -update-batch > 0")
	}
	if cfg.Root, err = moduleRoot(); err != nil {
		return nil, err
	}
	if cfg.Data == "" {
		cfg.Data = filepath.Join(cfg.Root, "..", "shared", "data")
	}
	if cfg.Out == "" {
		cfg.Out = filepath.Join(cfg.Root, "bench", "results")
	}
	if cfg.Cache == "" {
		cfg.Cache = filepath.Join(cfg.Root, "bench", "cache")
	}
	cfg.Command = strings.TrimSpace("go run ./bench " + strings.Join(args, " "))
	return cfg, nil
}

// parseScales reads "10k,100k,1M" (k = 1,000, M = 1,000,000).
func parseScales(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		mul := 1
		switch {
		case strings.HasSuffix(f, "k"), strings.HasSuffix(f, "K"):
			mul, f = 1_000, f[:len(f)-1]
		case strings.HasSuffix(f, "M"):
			mul, f = 1_000_000, f[:len(f)-1]
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-scales: bad count %q", f)
		}
		out = append(out, n*mul)
	}
	return out, nil
}

// scaleName writes 10000 as "10k" and 1000000 as "1M".
func scaleName(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1_000 && n%1_000 == 0:
		return strconv.Itoa(n/1_000) + "k"
	}
	return strconv.Itoa(n)
}

// moduleRoot finds the timap module root: the first directory upwards from
// the working directory whose go.mod declares module timap.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "module timap\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("bench: not inside the timap module (no go.mod declaring module timap above the working directory)")
		}
		dir = parent
	}
}

// threadsAll is the thread count of the all-cores runs.
func threadsAll() int { return runtime.NumCPU() }
