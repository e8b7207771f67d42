package harness

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"timap/connectors/files"
	"timap/engine"
	"timap/rules"
)

// ScaleResult is everything measured at one indicator count.
type ScaleResult struct {
	Scale    int
	Name     string
	Workload Manifest
	Load     LoadResult
	Memory   MemoryResult
	// Tables has one entry per event file (CommonSecurityLog as CEF and
	// as NDJSON, DnsEvents, EmailUrlInfo).
	Tables  []TableResult
	Latency LatencyResult
	Update  UpdateResult
	// SQL are the DuckDB baseline runs (all threads, one thread) and
	// Agreement the alert-set comparisons; filled by the parent.
	SQL       []SQLResult
	Agreement []Agreement
	// LoadAvgBefore and LoadAvgAfter are /proc/loadavg around the
	// matching passes: other processes on the machine show there.
	LoadAvgBefore, LoadAvgAfter string
	// AlertsFile holds timap's alert sets per table (single core, CEF for
	// CommonSecurityLog) for the comparison with the SQL baseline.
	AlertsFile string `json:"-"`
}

// LoadResult is the indicator load: flat feeds and STIX bundles read and
// normalised by timap's connectors, then indexed (Store.Upsert + Rebuild).
type LoadResult struct {
	FlatIndicators, STIXIndicators int
	FlatSeconds, STIXSeconds       float64
	FlatPerSec, STIXPerSec         float64
	IndexSeconds                   float64
	// TotalPerSec is every indicator over flat + STIX + index time: from
	// files to a published snapshot.
	TotalPerSec float64
}

// MemoryResult is memory after the load, after a GC: the Go heap grown by
// the store (HeapBytes, per live indicator) and the process's resident
// memory now and at its peak (VmRSS, VmHWM), also at the end of the run.
type MemoryResult struct {
	HeapBytes                uint64
	BytesPerIndicator        float64
	RSSBytes, HWMBytes       uint64
	RSSEndBytes, HWMEndBytes uint64
}

// TableResult is the passes over one event file.
type TableResult struct {
	Table, Format, File string
	Rows, Hits          int
	Bytes               int64
	// Floor1/FloorN read and split the file without matching, on one core
	// and on all; Timap1/TimapN run the whole pipeline. Decode1 and Match1
	// are the intermediate single-core passes used for the stage costs.
	Floor1, FloorN, Decode1, Match1, Timap1, TimapN RunResult
	// OfFloor1 and OfFloorN are timap's events/s as a fraction of the
	// floor's.
	OfFloor1, OfFloorN float64
	Stages             StageResult
	Alerts             int
	PerRule            map[string]int
}

// StageResult is the cost of each stage per event, single core: the
// difference of the passes' times per event.
type StageResult struct {
	ReadSplitNs, DecodeNs, MatchNs, AlertNs float64
	Slowest                                 string
	SlowestNs                               float64
}

// RuleInfo names a rule in the report.
type RuleInfo struct {
	ID, Name, Table, From string
}

// benchTables are the tables the workloads have rows of (EmailEvents only
// as the join partner of EmailUrlInfo).
var benchTables = []string{"CommonSecurityLog", "DnsEvents", "EmailUrlInfo", "EmailEvents"}

// loadRules returns the rules the harness runs: the built-in rules the SQL
// baseline implements (the "-- rule:" headers of bench/duckdb/sql/*.sql)
// and the harness's own rules in bench/rules, if any, so that both engines
// run the same rules and their alerts can be compared exactly. It also
// returns the built-in rules on the benchmarked tables that are left out
// because the baseline has no SQL for them.
func loadRules(cfg *Config) (run []*engine.Rule, measured, left []RuleInfo, err error) {
	covered, err := sqlRuleIDs(filepath.Join(cfg.Root, "bench", "duckdb", "sql"))
	if err != nil {
		return nil, nil, nil, err
	}
	builtin, err := rules.Builtin()
	if err != nil {
		return nil, nil, nil, err
	}
	var own []*engine.Rule
	if dir := filepath.Join(cfg.Root, "bench", "rules"); exists(dir) {
		if own, err = rules.Load(dir); err != nil {
			return nil, nil, nil, err
		}
	}
	for _, r := range builtin {
		info := RuleInfo{r.ID, r.Name, r.Table, "built-in"}
		switch {
		case covered[r.ID]:
			run, measured = append(run, r), append(measured, info)
			delete(covered, r.ID)
		case slices.Contains(benchTables, r.Table):
			left = append(left, info)
		}
	}
	for _, r := range own {
		run, measured = append(run, r), append(measured, RuleInfo{r.ID, r.Name, r.Table, "bench/rules"})
		delete(covered, r.ID)
	}
	for id := range covered {
		return nil, nil, nil, fmt.Errorf("bench: bench/duckdb/sql has SQL for rule %s, which timap does not have", id)
	}
	return run, measured, left, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// sqlRuleIDs reads the rule ids of the SQL baseline's rule files.
func sqlRuleIDs(dir string) (map[string]bool, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(b), "\n") {
			if id, ok := strings.CutPrefix(line, "-- rule: "); ok {
				ids[strings.TrimSpace(id)] = true
			}
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("bench: no rule files in %s", dir)
	}
	return ids, nil
}

// measure runs every timap measurement of one scale on a prepared
// workload. The update phase comes last, as it changes the store.
func measure(cfg *Config, w *Workload, ui *progress) (*ScaleResult, error) {
	m := w.Manifest
	res := &ScaleResult{Scale: m.Params.Scale, Name: scaleName(m.Params.Scale), Workload: m}
	rs, _, _, err := loadRules(cfg)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(w.Dir, "run-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	ui.phase("load %d indicators (%d flat, %d STIX objects)", m.Indicators, m.FeedIndicators, m.STIXObjects)
	store, err := cfg.loadStore(m, res, ui)
	if err != nil {
		return nil, err
	}
	x, err := engine.NewExecutor(store, rs, engine.ExecutorOptions{Grace: cfg.Grace})
	if err != nil {
		return nil, err
	}
	env := &matchEnv{x: x, now: cfg.Now, window: cfg.Window, tmp: tmp, repeat: cfg.Repeat, joins: joinsOf(rs)}
	res.LoadAvgBefore = loadAvg()
	sets := map[string]alertSet{}
	for _, ef := range m.Events {
		ui.phase("match %s (%d rows)", filepath.Base(ef.Path), ef.Rows)
		tr, set, err := env.table(ef, ui)
		if err != nil {
			return nil, err
		}
		if prev, ok := sets[ef.Table]; ok {
			if d := diff("CEF", prev, "NDJSON", set, 10); d != "" {
				return nil, fmt.Errorf("bench: %s: timap's alerts from the CEF and the NDJSON file differ: %s", ef.Table, d)
			}
		} else {
			sets[ef.Table] = set
		}
		res.Tables = append(res.Tables, tr)
	}
	cefFile := m.Events[0]
	ui.phase("latency on %s", filepath.Base(cefFile.Path))
	if res.Latency, err = env.latency(cefFile, sets[cefFile.Table]); err != nil {
		return nil, err
	}
	if cfg.Updates > 0 {
		ui.phase("apply %d indicator updates in batches of %d while matching", cfg.Updates, cfg.UpdateBatch)
		if res.Update, err = env.update(store, cefFile, m.UpdateFile, cfg.UpdateBatch, threadsAll()); err != nil {
			return nil, err
		}
	}
	res.Memory.RSSEndBytes, res.Memory.HWMEndBytes = procStatus("VmRSS"), procStatus("VmHWM")
	res.LoadAvgAfter = loadAvg()
	res.AlertsFile = filepath.Join(w.Dir, "timap-alerts.json")
	return res, writeAlertSets(res.AlertsFile, sets)
}

// loadStore loads the workload's indicators into a new store and records
// load rates and memory.
func (cfg *Config) loadStore(m Manifest, res *ScaleResult, ui *progress) (*engine.Store, error) {
	runtime.GC()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var all []*engine.Indicator
	collect := func(b []*engine.Indicator) { all = append(all, b...) }
	load := func(dir, format string) (int, float64, error) {
		names, err := filepath.Glob(filepath.Join(dir, "*"))
		if err != nil {
			return 0, 0, err
		}
		sort.Strings(names)
		b := ui.bar(int64(len(names)), "load "+format)
		n, rejected, secs := 0, 0, 0.0
		var problems []files.Problem
		for _, name := range names {
			start := time.Now()
			rep, err := files.LoadIndicators([]string{name}, format, cfg.Now, collect)
			secs += time.Since(start).Seconds()
			if err != nil {
				return 0, 0, err
			}
			n += rep.Indicators
			for _, c := range rep.Rejected {
				rejected += c
			}
			problems = append(problems, rep.Problems[:min(len(rep.Problems), 3)]...)
			b.add(1)
		}
		b.finish()
		if rejected > 0 {
			return 0, 0, fmt.Errorf("bench: %s: timap refused %d generated values, e.g. %v", dir, rejected, problems)
		}
		return n, secs, nil
	}
	var err error
	l := &res.Load
	if l.FlatIndicators, l.FlatSeconds, err = load(m.FeedDir, "feed"); err != nil {
		return nil, err
	}
	if l.STIXIndicators, l.STIXSeconds, err = load(m.STIXDir, "stix"); err != nil {
		return nil, err
	}
	start := time.Now()
	store := engine.NewStore(engine.StoreOptions{})
	store.Upsert(all...)
	store.Rebuild()
	l.IndexSeconds = time.Since(start).Seconds()
	total := len(all)
	all = nil
	l.FlatPerSec = float64(l.FlatIndicators) / l.FlatSeconds
	l.STIXPerSec = float64(l.STIXIndicators) / max(l.STIXSeconds, 1e-9)
	l.TotalPerSec = float64(total) / (l.FlatSeconds + l.STIXSeconds + l.IndexSeconds)
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	st := store.Stats()
	if st.Live != m.Live || st.Indicators != m.Indicators {
		return nil, fmt.Errorf("bench: store holds %d indicators (%d live), the workload has %d (%d live)", st.Indicators, st.Live, m.Indicators, m.Live)
	}
	res.Memory.HeapBytes = after.HeapAlloc - min(before.HeapAlloc, after.HeapAlloc)
	res.Memory.BytesPerIndicator = float64(res.Memory.HeapBytes) / float64(max(st.Live, 1))
	res.Memory.RSSBytes, res.Memory.HWMBytes = procStatus("VmRSS"), procStatus("VmHWM")
	return store, nil
}

// table makes the passes over one event file: the floor and the pipeline
// on one core and on all, and the intermediate passes for the stage
// costs. The single-core and all-core alert sets must be equal.
func (env *matchEnv) table(ef EventFile, ui *progress) (TableResult, alertSet, error) {
	tr := TableResult{Table: ef.Table, Format: ef.Format, File: filepath.Base(ef.Path), Rows: ef.Rows, Hits: ef.Hits, Bytes: ef.Bytes}
	if err := warm(ef.Path); err != nil {
		return tr, nil, err
	}
	n := threadsAll()
	type step struct {
		dst     *RunResult
		p       pass
		threads int
	}
	steps := []step{{&tr.Floor1, passSplit, 1}, {&tr.FloorN, passSplit, n}, {&tr.Decode1, passDecode, 1},
		{&tr.Match1, passMatch, 1}, {&tr.Timap1, passFull, 1}, {&tr.TimapN, passFull, n}}
	b := ui.bar(int64(len(steps)), "passes "+tr.File)
	var set1, setN alertSet
	for _, s := range steps {
		var r RunResult
		var set alertSet
		for i := 0; i < env.repeat; i++ {
			ri, seti, _, _, err := env.run(ef, s.p, s.threads)
			if err != nil {
				return tr, nil, err
			}
			if i == 0 || ri.Seconds < r.Seconds {
				r, set = ri, seti
			}
		}
		if r.Bad > 0 {
			return tr, nil, fmt.Errorf("bench: %s: %d lines did not decode", ef.Path, r.Bad)
		}
		*s.dst = r
		if s.p == passFull && s.threads == 1 {
			set1 = set
		} else if s.p == passFull {
			setN = set
		}
		b.add(1)
	}
	b.finish()
	if d := diff("1 core", set1, fmt.Sprintf("%d cores", n), setN, 10); d != "" {
		return tr, nil, fmt.Errorf("bench: %s: alerts of the single-core and the sharded run differ: %s", ef.Path, d)
	}
	tr.OfFloor1 = tr.Timap1.EventsPerSec / tr.Floor1.EventsPerSec
	tr.OfFloorN = tr.TimapN.EventsPerSec / tr.FloorN.EventsPerSec
	tr.Alerts, tr.PerRule = len(set1), set1.perRule()
	st := &tr.Stages
	st.ReadSplitNs = tr.Floor1.NsPerEvent
	st.DecodeNs = tr.Decode1.NsPerEvent - tr.Floor1.NsPerEvent
	st.MatchNs = tr.Match1.NsPerEvent - tr.Decode1.NsPerEvent
	st.AlertNs = tr.Timap1.NsPerEvent - tr.Match1.NsPerEvent
	for _, c := range []struct {
		name string
		ns   float64
	}{{"read+split", st.ReadSplitNs}, {"decode", st.DecodeNs}, {"match", st.MatchNs}, {"aggregate+write", st.AlertNs}} {
		if c.ns > st.SlowestNs {
			st.Slowest, st.SlowestNs = c.name, c.ns
		}
	}
	return tr, set1, nil
}

// warm reads a file once so that every pass finds it in the page cache:
// the passes compare CPU cost, not the disk.
func warm(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}
