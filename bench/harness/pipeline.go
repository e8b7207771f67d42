package harness

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"timap/connectors/cef"
	"timap/connectors/tabular"
	"timap/engine"
)

// pass is how much of the per-event pipeline a run does. Each pass adds
// one stage to the previous, so the differences of their times are the
// cost of each stage.
type pass int

const (
	// passSplit reads the file and splits it into lines: the I/O floor.
	passSplit pass = iota
	// passDecode also decodes each line (CEF or NDJSON) into an Event,
	// filling the columns the rules need.
	passDecode
	// passMatch also runs every rule of the table (Matcher.Match).
	passMatch
	// passFull also aggregates matches into alerts and writes them as
	// NDJSON to a file: the whole pipeline of `timap match`.
	passFull
	// passLatency is passFull in streaming mode: an alert is written and
	// flushed at its first matching row (EmitFirst), and the time from
	// reading each row to its alert being written is recorded.
	passLatency
)

var passNames = [...]string{"split", "decode", "match", "full", "latency"}

func (p pass) String() string { return passNames[p] }

// RunResult is one timed pass over one event file.
type RunResult struct {
	Pass    string
	Threads int
	// Events are the lines read, Bad those that did not decode.
	Events, Bad, Bytes int64
	Seconds            float64
	EventsPerSec       float64
	BytesPerSec        float64
	NsPerEvent         float64
	// AllocsPerEvent and AllocBytesPerEvent are heap allocations over the
	// whole pass (alert objects and their JSON included) per event.
	AllocsPerEvent, AllocBytesPerEvent float64
	// Matches are rule matches; Alerts the alerts emitted.
	Matches int64
	Alerts  int
}

// matchEnv is what the passes share.
type matchEnv struct {
	x      *engine.Executor
	now    time.Time
	window time.Duration
	tmp    string // alert files
	repeat int    // runs per timed pass, the fastest kept
	// joins are the joins of each table's rules.
	joins map[string]joinInfo
}

// joinInfo is what the rules of one table join: the partner tables and
// the longest join window.
type joinInfo struct {
	partners []string
	window   time.Duration
}

// joinsOf collects the joins of rules by table.
func joinsOf(rules []*engine.Rule) map[string]joinInfo {
	out := map[string]joinInfo{}
	for _, r := range rules {
		if r.Join == nil {
			continue
		}
		ji := out[r.Table]
		if !slices.Contains(ji.partners, r.Join.Table) {
			ji.partners = append(ji.partners, r.Join.Table)
		}
		w := r.Join.Window
		if w <= 0 {
			w = time.Hour // the engine's default
		}
		ji.window = max(ji.window, w)
		out[r.Table] = ji
	}
	return out
}

// shardResult is what one goroutine of a pass produced.
type shardResult struct {
	events, bad, bytes, matches int64
	alerts                      alertSet
	lat, latAll                 []int64
	err                         error
}

// section is a byte range of a file that starts at a line start.
type section struct{ off, n int64 }

// sections splits path into n ranges at line boundaries.
func sections(path string, n int) ([]section, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	cuts := []int64{0}
	buf := make([]byte, 64<<10)
	for k := 1; k < n; k++ {
		off := max(size*int64(k)/int64(n), cuts[len(cuts)-1])
		for {
			m, err := f.ReadAt(buf, off)
			if i := bytes.IndexByte(buf[:m], '\n'); i >= 0 {
				off += int64(i) + 1
				break
			}
			off += int64(m)
			if err != nil {
				off = size
				break
			}
		}
		cuts = append(cuts, off)
	}
	cuts = append(cuts, size)
	var out []section
	for i := 0; i+1 < len(cuts); i++ {
		out = append(out, section{cuts[i], cuts[i+1] - cuts[i]})
	}
	return out, nil
}

// run makes one pass over in with threads goroutines (and GOMAXPROCS
// threads), each over its own section of the file with its own parser,
// Matcher and Aggregator. Alerts of the sections are merged by
// SystemAlertId.
func (env *matchEnv) run(in EventFile, p pass, threads int) (RunResult, alertSet, []int64, []int64, error) {
	// Collect before the pass, on every core: with 10M indicators a
	// single-core GC takes seconds.
	runtime.GC()
	prev := runtime.GOMAXPROCS(threads)
	defer runtime.GOMAXPROCS(prev)
	secs, err := sections(in.Path, threads)
	if err != nil {
		return RunResult{}, nil, nil, nil, err
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res := make([]shardResult, len(secs))
	start := time.Now()
	var wg sync.WaitGroup
	for i := range secs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i].err = env.shard(in, secs[i], p, i, &res[i])
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	runtime.ReadMemStats(&after)
	r := RunResult{Pass: p.String(), Threads: threads, Seconds: elapsed}
	all := alertSet{}
	var lat, latAll []int64
	for i := range res {
		if res[i].err != nil {
			return r, nil, nil, nil, fmt.Errorf("bench: %s %s pass: %w", filepath.Base(in.Path), p, res[i].err)
		}
		r.Events += res[i].events
		r.Bad += res[i].bad
		r.Bytes += res[i].bytes
		r.Matches += res[i].matches
		all.merge(res[i].alerts)
		lat, latAll = append(lat, res[i].lat...), append(latAll, res[i].latAll...)
	}
	r.Alerts = len(all)
	r.EventsPerSec = float64(r.Events) / elapsed
	r.BytesPerSec = float64(r.Bytes) / elapsed
	if r.Events > 0 {
		r.NsPerEvent = elapsed * 1e9 / float64(r.Events)
		r.AllocsPerEvent = float64(after.Mallocs-before.Mallocs) / float64(r.Events)
		r.AllocBytesPerEvent = float64(after.TotalAlloc-before.TotalAlloc) / float64(r.Events)
	}
	return r, all, lat, latAll, nil
}

// latencyEvery samples the processing time of one row in this many.
const latencyEvery = 16

// shard runs pass p over one section.
//
// When the table's rules join another table whose rows the file carries
// (EmailUrlInfo and EmailEvents), a section's rows need the partner rows
// up to the join window before and after it: the matching passes read
// those too and give Match only their partner rows (not counted as the
// section's rows), so the sections' alerts add up to the single-core
// run's. The aggregator then waits as long as the join window before
// closing a window, since a match released by a later partner row carries
// its own, earlier row time.
func (env *matchEnv) shard(in EventFile, sec section, p pass, id int, res *shardResult) error {
	f, err := os.Open(in.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	ji := env.joins[in.Table]
	need := env.x.Needs(in.Table)
	if len(ji.partners) > 0 {
		need = engine.ColumnSet{}
		for _, t := range append([]string{in.Table}, ji.partners...) {
			for c := range env.x.Needs(t) {
				need[c] = struct{}{}
			}
		}
	}
	joined := len(ji.partners) > 0 && p >= passMatch && in.Format == "ndjson"
	from, to := sec.off, sec.off+sec.n // the section; [from, to) grows by the join margins
	if joined {
		if to, err = fileSize(f); err != nil {
			return err
		}
		if sec.off > 0 {
			t0, err := lineTime(f, sec.off)
			if err != nil {
				return err
			}
			if from, err = firstLineAt(f, sec.off, t0.Add(-ji.window)); err != nil {
				return err
			}
		}
	}
	sc := bufio.NewScanner(io.NewSectionReader(f, from, to-from))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var ev engine.Event
	cp := cef.Parser{Now: env.now}
	m := env.x.NewMatcher()
	res.alerts = alertSet{}
	var readAt time.Time
	var agg *engine.Aggregator
	if p >= passFull {
		af, err := os.Create(filepath.Join(env.tmp, fmt.Sprintf("alerts-%s-%s-%d.ndjson", filepath.Base(in.Path), p, id)))
		if err != nil {
			return err
		}
		defer af.Close()
		bw := bufio.NewWriterSize(af, 64<<10)
		defer bw.Flush()
		enc := json.NewEncoder(bw)
		agg = engine.NewAggregator(engine.AggregatorOptions{Window: env.window, Lateness: ji.window, EmitFirst: p == passLatency}, func(a *engine.Alert) error {
			if err := enc.Encode(a); err != nil {
				return err
			}
			if _, ok := res.alerts[a.SystemAlertId]; ok && p == passFull {
				// A batch run emits each alert once, when its window closes.
				return fmt.Errorf("alert %s (rule %s, %s, window %s) emitted twice: a match came after its window closed",
					a.SystemAlertId, a.RuleId, a.MatchedValue, a.StartTime.Truncate(env.window).Format(time.RFC3339))
			}
			res.alerts.put(a)
			if p == passLatency {
				if err := bw.Flush(); err != nil {
					return err
				}
				if a.EventCount == 1 { // the first emission, caused by this row
					res.lat = append(res.lat, time.Since(readAt).Nanoseconds())
				}
			}
			return nil
		})
	}
	emit := func(mt *engine.Match) {
		res.matches++
		if agg != nil {
			if err := agg.Add(mt); err != nil && res.err == nil {
				res.err = err
			}
		}
	}
	origin := filepath.Base(in.Path)
	pos := from
	var last time.Time // of the section's last row, when joined
	for sc.Scan() {
		if p == passLatency {
			readAt = time.Now()
		}
		line := sc.Bytes()
		at := pos
		pos += int64(len(line)) + 1
		if joined && (at < sec.off || at >= sec.off+sec.n) {
			// A margin row: only partner rows, and after the section only
			// up to the join window past its last row.
			ev.Reset(in.Table)
			if err := tabular.DecodeJSON(line, &ev, need); err != nil {
				continue // counted as bad by the section that owns it
			}
			if at >= sec.off+sec.n && ev.TimeGenerated.After(last.Add(ji.window)) {
				break
			}
			if ev.Table != in.Table {
				ev.Origin, ev.Offset = origin, 0
				m.Match(&ev, env.now, emit)
			}
			continue
		}
		res.events++
		res.bytes += int64(len(line)) + 1
		if p == passSplit {
			continue
		}
		ev.Reset(in.Table)
		var err error
		if in.Format == "cef" {
			err = cp.Decode(line, &ev, need)
		} else {
			err = tabular.DecodeJSON(line, &ev, need)
		}
		if err != nil {
			res.bad++
			continue
		}
		last = ev.TimeGenerated
		ev.Origin, ev.Offset = origin, res.events
		if p == passDecode {
			continue
		}
		m.Match(&ev, env.now, emit)
		if res.err != nil {
			return res.err
		}
		if p == passLatency && res.events%latencyEvery == 0 {
			res.latAll = append(res.latAll, time.Since(readAt).Nanoseconds())
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if res.err != nil {
		return res.err
	}
	if agg != nil {
		return agg.Flush()
	}
	return nil
}

func fileSize(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// lineTime is the TimeGenerated of the NDJSON line starting at off.
func lineTime(f *os.File, off int64) (time.Time, error) {
	sc := bufio.NewScanner(io.NewSectionReader(f, off, 1<<62))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	if !sc.Scan() {
		return time.Time{}, fmt.Errorf("bench: %s: no line at offset %d", f.Name(), off)
	}
	var ev engine.Event
	err := tabular.DecodeJSON(sc.Bytes(), &ev, engine.ColumnSet{})
	return ev.TimeGenerated, err
}

// firstLineAt returns the start of the first line before limit (a line
// start) whose time is at least t, limit when there is none, by bisection
// over byte offsets: the file is in time order.
func firstLineAt(f *os.File, limit int64, t time.Time) (int64, error) {
	lo, hi := int64(0), limit
	for lo < hi {
		mid := lo + (hi-lo)/2
		s, err := lineAfter(f, mid)
		if err != nil {
			return 0, err
		}
		ok := s >= limit
		if !ok {
			lt, err := lineTime(f, s)
			if err != nil {
				return 0, err
			}
			ok = !lt.Before(t)
		}
		if ok {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lineAfter(f, lo)
}

// lineAfter returns the first line start at or after off (the file size
// when there is none).
func lineAfter(f *os.File, off int64) (int64, error) {
	if off == 0 {
		return 0, nil
	}
	buf := make([]byte, 4096)
	for p := off - 1; ; {
		n, err := f.ReadAt(buf, p)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return p + int64(i) + 1, nil
		}
		p += int64(n)
		if err == io.EOF {
			return p, nil
		}
		if err != nil {
			return 0, err
		}
	}
}
