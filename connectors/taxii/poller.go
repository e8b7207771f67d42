package taxii

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"timap/engine"
)

// Poller pulls its sources, each on its own polling frequency
// (Source.Interval), and hands every batch of indicators to Handle. The
// checkpoints live in State, so a restart continues where it stopped.
//
// Delivery is at least once: a checkpoint is saved after Handle returns,
// and engine.Store.Upsert ignores versions it already has. A failed pull
// is reported and retried at the next interval; a pull that failed after
// some pages still hands those pages over and keeps their progress.
type Poller struct {
	// Client does the pulls. Required.
	Client *Client
	// Sources are the collections to poll; they are validated by Run and
	// PollOnce. Two sources may not share a Key (API root + collection).
	Sources []Source
	// State keeps the checkpoints; nil keeps them in memory only.
	State *State
	// Handle receives each pull's indicators (never an empty batch).
	// Calls are serialised, so Handle needs no locking of its own.
	Handle func([]*engine.Indicator)
	// Report, when set, is told the outcome of every pull: res may be
	// non-nil with err non-nil for a pull that failed part way.
	Report func(src Source, res *PullResult, err error)
	// Wait sleeps between polls; default Client's Options.Sleep.
	Wait func(ctx context.Context, d time.Duration) error

	mu  sync.Mutex // serialises Handle and guards mem
	mem map[string]time.Time
}

// Run polls every source now and then every Source.Interval after its
// previous pull ended, until ctx is done; it then returns ctx.Err(). It
// returns at once with an error when a source is invalid.
func (p *Poller) Run(ctx context.Context) error {
	srcs, err := p.sources()
	if err != nil {
		return err
	}
	wait := p.Wait
	if wait == nil {
		wait = p.Client.opts.Sleep
	}
	var wg sync.WaitGroup
	for _, src := range srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				p.poll(ctx, src)
				if wait(ctx, src.Interval()) != nil || ctx.Err() != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// PollOnce pulls every source once, one after the other, and returns the
// pull errors joined.
func (p *Poller) PollOnce(ctx context.Context) error {
	srcs, err := p.sources()
	if err != nil {
		return err
	}
	var errs []error
	for _, src := range srcs {
		if _, err := p.poll(ctx, src); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// sources validates copies of p.Sources.
func (p *Poller) sources() ([]Source, error) {
	if p.Client == nil || p.Handle == nil {
		return nil, errors.New("taxii poller: Client and Handle are required")
	}
	out := make([]Source, len(p.Sources))
	keys := map[string]string{}
	for i, src := range p.Sources {
		if err := src.Validate(); err != nil {
			return nil, err
		}
		if other, dup := keys[src.Key()]; dup {
			return nil, fmt.Errorf("taxii poller: sources %q and %q read the same collection %s", other, src.Name, src.Key())
		}
		keys[src.Key()] = src.Name
		out[i] = src
	}
	return out, nil
}

// Since is the added_after the next pull of src starts from: its saved
// checkpoint, or zero (Pull then applies src's lookback).
func (p *Poller) Since(src Source) time.Time {
	if p.State != nil {
		if cp, ok := p.State.Get(src); ok {
			return cp.AddedAfter
		}
		return time.Time{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mem[src.Key()]
}

// poll pulls src once, hands the batch over and saves the checkpoint.
func (p *Poller) poll(ctx context.Context, src Source) (*PullResult, error) {
	since := p.Since(src)
	res, err := p.Client.Pull(ctx, src, since)
	if res != nil {
		if len(res.Indicators) > 0 {
			p.mu.Lock()
			p.Handle(res.Indicators)
			p.mu.Unlock()
		}
		if res.Checkpoint.After(since) {
			if serr := p.save(src, res.Checkpoint); serr != nil {
				err = errors.Join(err, serr)
			}
		}
	}
	if p.Report != nil {
		p.Report(src, res, err)
	}
	return res, err
}

func (p *Poller) save(src Source, cp time.Time) error {
	if p.State != nil {
		return p.State.Set(src, cp, p.Client.opts.Now())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mem == nil {
		p.mem = map[string]time.Time{}
	}
	p.mem[src.Key()] = cp
	return nil
}
