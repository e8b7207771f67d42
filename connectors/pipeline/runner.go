package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// IndicatorFeed keeps an instance's Indicators current from a shared log
// (connectors/kafka's IndicatorTopic).
type IndicatorFeed interface {
	// Sync applies everything published so far and returns.
	Sync(ctx context.Context) error
	// Follow applies later changes until ctx is done.
	Follow(ctx context.Context) error
}

// Leadership says whether this instance runs the pull sources. An event
// source that can elect (connectors/kafka's GroupSource) sets it; a
// configured leader sets it once. The zero value is not elected; it is
// safe for concurrent use.
type Leadership struct {
	mu      sync.Mutex
	elected bool
	changed chan struct{}
}

// Set records whether this instance is elected.
func (l *Leadership) Set(elected bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed == nil {
		l.changed = make(chan struct{})
	}
	if l.elected != elected {
		l.elected = elected
		close(l.changed)
		l.changed = make(chan struct{})
	}
}

// State returns whether this instance is elected and a channel closed at
// the next change.
func (l *Leadership) State() (bool, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed == nil {
		l.changed = make(chan struct{})
	}
	return l.elected, l.changed
}

// Runner runs one instance: indicators first, then the event sources,
// then an orderly stop.
type Runner struct {
	// Stage is the matching stage; required.
	Stage *Stage
	// Events are the event sources, run concurrently; required.
	Events []EventSource
	// Indicators is the instance's indicator state; required.
	Indicators *Indicators
	// Feed is the indicator topic, or nil when pull sources write to
	// Indicators directly (a single instance).
	Feed IndicatorFeed
	// Pulls are the pull sources and Publisher publishes their changes
	// (to the topic, or to Indicators).
	Pulls     []IndicatorSource
	Publisher *Publisher
	// Leader gates the pull sources when Feed is set; nil means this
	// instance always pulls. Without a Feed every instance pulls for
	// itself and Leader is ignored.
	Leader *Leadership
	// Logger receives the run's progress. Default: discard.
	Logger *slog.Logger
	// StatsInterval is how often the stage counters are logged; default
	// 1 min, negative never.
	StatsInterval time.Duration
	// FlushTimeout bounds the final sink flush. Default 30 s.
	FlushTimeout time.Duration
	// ExpirySweep is how often indicators whose expiry plus ExpiryGrace
	// has passed are dropped from the indexes (matching already ignores
	// them; the sweep frees their memory). Default 10 min, negative never.
	ExpirySweep time.Duration
	ExpiryGrace time.Duration
	// Now is the clock of the sweep; default time.Now.
	Now func() time.Time
}

// Run syncs the indicator topic (or, without one, pulls every source
// once, so the first events see the indicators), starts the pull loops
// and the topic follower, runs the event sources until they end or ctx
// is done, flushes the sink and returns. A failing first pull without a
// topic is an error; later pull failures are logged and retried at the
// next interval. The first event source error stops the others and is
// returned.
func (r *Runner) Run(ctx context.Context) error {
	log := r.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if r.Stage == nil || r.Indicators == nil || len(r.Events) == 0 {
		return errors.New("pipeline: Runner needs a Stage, Indicators and event sources")
	}
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var bgWG sync.WaitGroup
	defer func() {
		stopBG()
		bgWG.Wait()
	}()

	if r.Feed != nil {
		start := time.Now()
		if err := r.Feed.Sync(ctx); err != nil {
			return fmt.Errorf("indicator topic: %w", err)
		}
		st := r.Indicators.Store.Stats()
		log.Info("indicator topic synced", "indicators", st.Indicators, "live", st.Live, "took", time.Since(start).Round(time.Millisecond))
		bgWG.Go(func() {
			if err := r.Feed.Follow(bg); err != nil && bg.Err() == nil {
				log.Error("indicator topic follower stopped", "error", err)
			}
		})
	} else {
		for _, src := range r.Pulls {
			if err := r.pullOnce(ctx, src, log); err != nil {
				return err
			}
		}
	}
	if len(r.Pulls) > 0 {
		initial := r.Feed == nil // the first pull is done already
		leader := r.Leader
		if r.Feed == nil {
			leader = nil
		}
		bgWG.Go(func() { r.runPulls(bg, leader, initial, log) })
	}
	if r.StatsInterval >= 0 {
		bgWG.Go(func() { r.logStats(bg, log) })
	}
	if r.ExpirySweep >= 0 {
		bgWG.Go(func() { r.sweepExpired(bg, log) })
	}

	err := r.runEvents(ctx, log)
	flushTimeout := r.FlushTimeout
	if flushTimeout <= 0 {
		flushTimeout = 30 * time.Second
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	if ferr := r.Stage.Sink().Flush(fctx); ferr != nil && err == nil {
		err = fmt.Errorf("flushing alerts: %w", ferr)
	}
	s := r.Stage.Stats()
	log.Info("stopped", "records", s.Records, "bad", s.Bad, "matches", s.Matches, "alerts", s.Alerts, "dead_letters", s.DeadLetters, "column_issues", s.ColumnIssues)
	return err
}

// runEvents runs the event sources; the first error cancels the rest.
func (r *Runner) runEvents(ctx context.Context, log *slog.Logger) error {
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(r.Events))
	for i, src := range r.Events {
		wg.Go(func() {
			log.Info("event source started", "source", src.Name())
			if err := src.Run(ectx, r.Stage); err != nil {
				errs[i] = fmt.Errorf("event source %s: %w", src.Name(), err)
				cancel()
			}
			log.Info("event source stopped", "source", src.Name())
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (r *Runner) pullOnce(ctx context.Context, src IndicatorSource, log *slog.Logger) error {
	start := time.Now()
	pull, perr := src.Pull(ctx)
	if perr != nil && (pull.Complete || len(pull.Indicators) == 0) {
		return fmt.Errorf("indicator source %s: %w", src.Name(), perr)
	}
	res, err := r.Publisher.Publish(ctx, src.Name(), pull)
	if err != nil {
		return fmt.Errorf("indicator source %s: publishing: %w", src.Name(), err)
	}
	if pull.Commit != nil {
		if err := pull.Commit(); err != nil {
			return fmt.Errorf("indicator source %s: checkpoint: %w", src.Name(), err)
		}
	}
	log.Info("indicators pulled", "source", src.Name(), "indicators", len(pull.Indicators), "published", res.Published,
		"withdrawn", res.Withdrawn, "unchanged", res.Unchanged, "problems", len(pull.Problems), "took", time.Since(start).Round(time.Millisecond))
	for i, p := range pull.Problems {
		if i == 5 {
			log.Warn("more indicator problems not shown", "source", src.Name(), "count", len(pull.Problems)-i)
			break
		}
		log.Warn("indicator refused", "source", src.Name(), "problem", p)
	}
	if perr != nil {
		return fmt.Errorf("indicator source %s: %w", src.Name(), perr)
	}
	return nil
}

// runPulls runs every source's loop while this instance is elected (or
// always, with leader nil).
func (r *Runner) runPulls(ctx context.Context, leader *Leadership, skipFirst bool, log *slog.Logger) {
	for {
		elected, changed := true, (<-chan struct{})(nil)
		if leader != nil {
			elected, changed = leader.State()
		}
		var wg sync.WaitGroup
		lctx, stop := context.WithCancel(ctx)
		if elected {
			if leader != nil {
				log.Info("elected to pull indicator sources")
			}
			skip := skipFirst
			for _, src := range r.Pulls {
				wg.Go(func() { r.pullLoop(lctx, src, skip, log) })
			}
			skipFirst = false
		}
		select {
		case <-ctx.Done():
		case <-changed:
		}
		stop()
		wg.Wait()
		if ctx.Err() != nil {
			return
		}
	}
}

func (r *Runner) pullLoop(ctx context.Context, src IndicatorSource, skipFirst bool, log *slog.Logger) {
	every := src.Interval()
	if skipFirst && every <= 0 {
		return
	}
	for first := true; ; first = false {
		if !(first && skipFirst) {
			if err := r.pullOnce(ctx, src, log); err != nil && ctx.Err() == nil {
				log.Error("indicator pull failed", "source", src.Name(), "error", err)
			}
		}
		if every <= 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

func (r *Runner) logStats(ctx context.Context, log *slog.Logger) {
	every := r.StatsInterval
	if every == 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s := r.Stage.Stats()
			log.Info("stats", "records", s.Records, "bad", s.Bad, "matches", s.Matches, "alerts", s.Alerts, "dead_letters", s.DeadLetters, "column_issues", s.ColumnIssues)
		}
	}
}

// sweepExpired drops expired indicators every ExpirySweep until ctx ends.
func (r *Runner) sweepExpired(ctx context.Context, log *slog.Logger) {
	every := r.ExpirySweep
	if every == 0 {
		every = 10 * time.Minute
	}
	now := r.Now
	if now == nil {
		now = time.Now
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n := r.Indicators.Store.DropExpired(now(), r.ExpiryGrace); n > 0 {
				log.Info("expired indicators dropped", "count", n)
			}
		}
	}
}
