package harness

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// Main runs the harness with the command-line arguments of `go run ./bench`
// and returns the process exit code: 0, 1 when a phase fails or the alert
// sets of timap and the SQL baseline differ, 2 for usage errors.
func Main(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	if cfg.worker != "" {
		if err := cfg.runWorker(stderr); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		return 0
	}
	cfg.args, cfg.prefix = args, childPrefix(args)
	rep, err := Run(cfg, stderr)
	if rep != nil {
		fmt.Fprint(stdout, rep.headline())
		fmt.Fprintf(stdout, "\nreport: %s\n", filepath.Join(cfg.Out, "README.md"))
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	return 0
}

// Run generates (or reuses) the workload of every scale, measures timap,
// runs the SQL baseline, compares the alert sets and writes the report
// after each scale. A disagreement of alert sets is an error, returned
// with the report that shows it.
func Run(cfg *Config, stderr io.Writer) (*Report, error) {
	rep := newReport(cfg)
	start := time.Now()
	var err error
	if _, rep.Rules, rep.Unmeasured, err = loadRules(cfg); err != nil {
		return nil, err
	}
	ui := newProgress(stderr, cfg.Progress, "")
	bin := ""
	if cfg.DuckDB != "off" {
		ui.phase("build the DuckDB baseline (bench/duckdb, cgo)")
		b, err := cfg.buildDuckDB(stderr)
		switch {
		case err != nil && cfg.DuckDB == "on":
			return nil, err
		case err != nil:
			rep.SQLNote = "DuckDB baseline not run: " + err.Error()
			ui.phase("%s", rep.SQLNote)
		default:
			bin = b
		}
	} else {
		rep.SQLNote = "DuckDB baseline not run (-duckdb off)"
	}
	var failed error
	for _, scale := range cfg.Scales {
		ui.scale = scaleName(scale)
		w, err := cfg.prepare(scale, ui, stderr)
		if err != nil {
			return rep, err
		}
		sr, err := cfg.measureScale(w, ui, stderr)
		if err != nil {
			return rep, err
		}
		if bin != "" {
			if err := cfg.baseline(bin, w, sr, ui, stderr); err != nil {
				return rep, err
			}
		}
		for _, a := range sr.Agreement {
			if !a.Equal && failed == nil {
				failed = fmt.Errorf("%s, %s: timap's and the SQL baseline's alerts differ (%d vs %d): %s", sr.Name, a.Table, a.TimapAlerts, a.SQLAlerts, a.Diff)
			}
		}
		rep.Scales = append(rep.Scales, sr)
		rep.Seconds = time.Since(start).Seconds()
		if err := rep.write(cfg.Out); err != nil {
			return rep, err
		}
	}
	rep.Agree = failed == nil && bin != ""
	if err := rep.write(cfg.Out); err != nil {
		return rep, err
	}
	return rep, failed
}

// prepare returns the cached workload of scale, generating it (in a child
// process when isolating) when it is missing.
func (cfg *Config) prepare(scale int, ui *progress, stderr io.Writer) (*Workload, error) {
	if w := cfg.loadWorkload(scale); w != nil {
		ui.phase("workload cached in %s", w.Dir)
		return w, nil
	}
	ui.phase("generate the workload")
	if !cfg.Isolate {
		return cfg.generate(scale, ui)
	}
	if err := cfg.child("gen", scale, "", stderr); err != nil {
		return nil, err
	}
	if w := cfg.loadWorkload(scale); w != nil {
		return w, nil
	}
	return nil, fmt.Errorf("bench: generation of scale %d left no manifest", scale)
}

// measureScale measures timap at one scale, in a child process when
// isolating.
func (cfg *Config) measureScale(w *Workload, ui *progress, stderr io.Writer) (*ScaleResult, error) {
	if !cfg.Isolate {
		return measure(cfg, w, ui)
	}
	out := filepath.Join(w.Dir, "measure.json")
	if err := cfg.child("measure", w.Manifest.Params.Scale, out, stderr); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	var sr ScaleResult
	if err := json.Unmarshal(b, &sr); err != nil {
		return nil, fmt.Errorf("bench: %s: %w", out, err)
	}
	sr.AlertsFile = filepath.Join(w.Dir, "timap-alerts.json")
	return &sr, nil
}

// baseline runs the SQL baseline on all threads and on one, and compares
// each alert set with timap's.
func (cfg *Config) baseline(bin string, w *Workload, sr *ScaleResult, ui *progress, stderr io.Writer) error {
	timap, err := readAlertSets(sr.AlertsFile)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(w.Dir, "sql-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	threads := []int{threadsAll()}
	if threadsAll() > 1 {
		threads = append(threads, 1)
	}
	for _, t := range threads {
		ui.phase("DuckDB baseline, %d thread(s)", t)
		r, sets, err := cfg.runDuckDB(bin, w, t, tmp, stderr)
		if err != nil {
			return err
		}
		sr.SQL = append(sr.SQL, r)
		sr.Agreement = append(sr.Agreement, compare(timap, sets, r.Threads)...)
	}
	return nil
}

// child runs one phase of one scale in a new process of this program, so
// that memory measured there is that scale's alone.
func (cfg *Config) child(phase string, scale int, out string, stderr io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	args := append(append(slices.Clone(cfg.prefix), cfg.args...), "-worker", phase, "-worker-out", out, "-scales", strconv.Itoa(scale), "-isolate=false")
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("bench: %s of scale %d: %w", phase, scale, err)
	}
	return nil
}

// childPrefix returns the arguments of this program that come before the
// harness's own (["bench"] when a CLI runs Main as `timap bench ARGS`), so
// that a child is started the same way; nil when args are not the tail of
// os.Args.
func childPrefix(args []string) []string {
	n := len(os.Args) - len(args)
	if n >= 1 && slices.Equal(os.Args[n:], args) {
		return slices.Clone(os.Args[1:n])
	}
	return nil
}

// runWorker is the child side of child.
func (cfg *Config) runWorker(stderr io.Writer) error {
	if len(cfg.Scales) != 1 {
		return errors.New("-worker needs exactly one scale")
	}
	scale := cfg.Scales[0]
	ui := newProgress(stderr, cfg.Progress, scaleName(scale))
	switch cfg.worker {
	case "gen":
		_, err := cfg.generate(scale, ui)
		return err
	case "measure":
		w := cfg.loadWorkload(scale)
		if w == nil {
			return fmt.Errorf("no generated workload for scale %d", scale)
		}
		sr, err := measure(cfg, w, ui)
		if err != nil {
			return err
		}
		b, err := json.Marshal(sr)
		if err != nil {
			return err
		}
		return os.WriteFile(cfg.workerOut, b, 0o644)
	}
	return fmt.Errorf("unknown -worker %q", cfg.worker)
}
