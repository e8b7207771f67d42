package pipeline

import (
	"context"
	"sync"

	"timap/engine"
)

// IndicatorChange is one entry of the indicator log: a new version of an
// indicator, or (Indicator nil) its withdrawal — a tombstone on the
// indicator topic.
type IndicatorChange struct {
	// ID is the IndicatorId (the topic's record key).
	ID string
	// Source is the configured name of the source that published it
	// (the topic's "timap-source" header); "" when unknown. It lets the
	// elected publisher withdraw what a source no longer lists, whoever
	// published it before.
	Source string
	// Indicator is the new version, or nil for a withdrawal.
	Indicator *engine.Indicator
}

// IndicatorWriter publishes indicator changes. connectors/kafka's
// IndicatorTopic writes them to the indicator topic (every instance then
// applies them); Indicators applies them to this instance alone.
type IndicatorWriter interface {
	// WriteIndicators publishes changes in order and returns when all are
	// durable (acknowledged) or one failed.
	WriteIndicators(ctx context.Context, changes []IndicatorChange) error
}

// Indicators is one instance's indicator state: the engine.Store the
// executor matches against, plus which source published each live id.
// It is safe for concurrent use.
type Indicators struct {
	// Store is the store matched against.
	Store *engine.Store

	mu    sync.Mutex
	owner map[string]string // IndicatorId → source name, live ids only
}

// NewIndicators wraps store.
func NewIndicators(store *engine.Store) *Indicators {
	return &Indicators{Store: store, owner: map[string]string{}}
}

// ApplyResult counts what Apply did.
type ApplyResult struct {
	engine.UpsertResult
	// Deleted counts withdrawals that removed a live indicator.
	Deleted int
}

// Apply applies changes in order: runs of new versions are upserted as
// one batch (one snapshot), and each withdrawal is applied after the
// versions before it, so a version followed by its tombstone ends
// deleted. Versions older than the store's are ignored (newest wins).
func (x *Indicators) Apply(changes []IndicatorChange) ApplyResult {
	var r ApplyResult
	var run []*engine.Indicator
	var dels []string
	flushRun := func() {
		if len(run) > 0 {
			u := x.Store.Upsert(run...)
			r.Added += u.Added
			r.Updated += u.Updated
			r.Revoked += u.Revoked
			r.Stale += u.Stale
			run = run[:0]
		}
	}
	flushDels := func() {
		if len(dels) > 0 {
			r.Deleted += x.Store.Delete(dels...)
			dels = dels[:0]
		}
	}
	x.mu.Lock()
	for _, c := range changes {
		if c.Indicator == nil {
			flushRun()
			dels = append(dels, c.ID)
			delete(x.owner, c.ID)
			continue
		}
		flushDels()
		run = append(run, c.Indicator)
		if c.Source != "" {
			x.owner[c.ID] = c.Source
		}
	}
	x.mu.Unlock()
	flushRun()
	flushDels()
	return r
}

// WriteIndicators applies changes to this instance (the IndicatorWriter
// of a deployment without an indicator topic).
func (x *Indicators) WriteIndicators(_ context.Context, changes []IndicatorChange) error {
	x.Apply(changes)
	return nil
}

// Owned returns the ids source published that are not withdrawn.
func (x *Indicators) Owned(source string) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	var ids []string
	for id, s := range x.owner {
		if s == source {
			ids = append(ids, id)
		}
	}
	return ids
}
