package harness

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"timap/connectors/cef"
	"timap/connectors/stix"
	"timap/connectors/tabular"
	"timap/engine"
)

// UpdateResult is the live update: indicator versions applied with
// Store.Upsert in batches while Threads goroutines keep matching the CEF
// file (each looping over its own section).
type UpdateResult struct {
	Indicators, Batches, Threads int
	// Seconds is the time to apply them all (every snapshot published);
	// PerIndicatorUs the same per indicator; Batch* are per Upsert call.
	Seconds, PerIndicatorUs            float64
	BatchP50Ms, BatchP99Ms, BatchMaxMs float64
	// BaselineEventsPerSec is the matching rate over BaselineSeconds
	// before the update, DuringEventsPerSec while it was applied.
	BaselineEventsPerSec, DuringEventsPerSec float64
	BaselineSeconds                          float64
	// Added… are Store.Upsert's counts; SnapshotsPublished the snapshots
	// the update published; VisibleAfter that the last version is in the
	// store once the last Upsert returned.
	Added, Updated, Revoked, Stale int
	SnapshotsPublished             uint64
	VisibleAfter                   bool
}

// counter is a per-goroutine event count on its own cache line.
type counter struct {
	n atomic.Int64
	_ [56]byte
}

// update measures applying the update bundle at path in batches while
// matching runs on threads goroutines.
func (env *matchEnv) update(store *engine.Store, in EventFile, path string, batch, threads int) (UpdateResult, error) {
	res := UpdateResult{Threads: threads}
	lr, err := stix.LoadFile(path, stix.Options{SourceSystem: "update", Now: env.now})
	if err != nil {
		return res, err
	}
	upd := lr.Indicators
	res.Indicators = len(upd)
	prev := runtime.GOMAXPROCS(threads)
	defer runtime.GOMAXPROCS(prev)
	secs, err := sections(in.Path, threads)
	if err != nil {
		return res, err
	}
	var stop atomic.Bool
	counts := make([]counter, len(secs))
	errs := make([]error, len(secs))
	var wg sync.WaitGroup
	for i := range secs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = env.loop(in, secs[i], &stop, &counts[i].n)
		}()
	}
	total := func() int64 {
		var n int64
		for i := range counts {
			n += counts[i].n.Load()
		}
		return n
	}
	time.Sleep(300 * time.Millisecond) // past start-up
	c0, t0 := total(), time.Now()
	time.Sleep(time.Second)
	c1, t1 := total(), time.Now()
	res.BaselineSeconds = t1.Sub(t0).Seconds()
	res.BaselineEventsPerSec = float64(c1-c0) / res.BaselineSeconds
	v0 := store.Snapshot().Version
	var batches []int64
	c2, u0 := total(), time.Now()
	for i := 0; i < len(upd); i += batch {
		start := time.Now()
		r := store.Upsert(upd[i:min(i+batch, len(upd))]...)
		batches = append(batches, time.Since(start).Nanoseconds())
		res.Added += r.Added
		res.Updated += r.Updated
		res.Revoked += r.Revoked
		res.Stale += r.Stale
	}
	c3, u1 := total(), time.Now()
	stop.Store(true)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return res, err
		}
	}
	res.Batches = len(batches)
	res.Seconds = u1.Sub(u0).Seconds()
	res.PerIndicatorUs = res.Seconds * 1e6 / float64(max(len(upd), 1))
	res.DuringEventsPerSec = float64(c3-c2) / max(res.Seconds, 1e-9)
	p50, p99, _ := percentiles(batches)
	res.BatchP50Ms, res.BatchP99Ms = p50/1e3, p99/1e3
	for _, b := range batches {
		res.BatchMaxMs = max(res.BatchMaxMs, float64(b)/1e6)
	}
	res.SnapshotsPublished = store.Snapshot().Version - v0
	if len(upd) > 0 {
		got, ok := store.Get(upd[len(upd)-1].IndicatorId)
		res.VisibleAfter = ok && got.Modified.Equal(upd[len(upd)-1].Modified)
	}
	if !res.VisibleAfter && len(upd) > 0 {
		return res, fmt.Errorf("bench: update: the last upserted indicator is not in the store")
	}
	return res, nil
}

// loop matches the rows of one section over and over until stop is set,
// counting rows into n.
func (env *matchEnv) loop(in EventFile, sec section, stop *atomic.Bool, n *atomic.Int64) error {
	f, err := os.Open(in.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	var ev engine.Event
	cp := cef.Parser{Now: env.now}
	m := env.x.NewMatcher()
	need := env.x.Needs(in.Table)
	emit := func(*engine.Match) {}
	for !stop.Load() {
		sc := bufio.NewScanner(io.NewSectionReader(f, sec.off, sec.n))
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() && !stop.Load() {
			ev.Reset(in.Table)
			var err error
			if in.Format == "cef" {
				err = cp.Decode(sc.Bytes(), &ev, need)
			} else {
				err = tabular.DecodeJSON(sc.Bytes(), &ev, need)
			}
			if err == nil {
				m.Match(&ev, env.now, emit)
			}
			n.Add(1)
		}
		if err := sc.Err(); err != nil {
			return err
		}
	}
	return nil
}
