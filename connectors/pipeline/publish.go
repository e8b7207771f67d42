package pipeline

import (
	"context"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"time"

	"timap/engine"
)

// IndicatorSource is a source timap pulls indicators from: files, flat
// feeds, STIX documents, TAXII collections. In a deployment with an
// indicator topic only the elected instance pulls, and publishes what
// changed; every instance applies the topic.
type IndicatorSource interface {
	// Name is the source's configured name; it labels the changes it
	// publishes, so that what it stops listing can be withdrawn.
	Name() string
	// Pull fetches the source once. An incremental source may return
	// what it fetched together with an error (a pull that failed part
	// way): the Runner publishes it and commits, then reports the error.
	// A complete pull with an error is not published.
	Pull(ctx context.Context) (Pull, error)
	// Interval is the time between two pulls; 0 pulls once.
	Interval() time.Duration
}

// Pull is what one IndicatorSource.Pull fetched.
type Pull struct {
	// Indicators are the versions fetched.
	Indicators []*engine.Indicator
	// Complete says the pull lists everything the source holds (a file
	// or feed read in full), so ids it published before and no longer
	// lists are withdrawn. False for incremental sources (TAXII pulls
	// what was added since a checkpoint).
	Complete bool
	// Problems are refused values and unreadable inputs, for the log.
	Problems []string
	// Commit, when set, is called once the pull's changes are published:
	// an incremental source saves its checkpoint there, so that a pull
	// whose publication failed is fetched again.
	Commit func() error
}

// Publisher turns pulls into indicator changes and hands them to a
// writer: a version is published only when it is newer than what the
// store holds and differs in content (so reloading an unchanged feed
// publishes nothing, although flat-feed versions carry the load time),
// and a complete pull withdraws the ids its source no longer lists.
type Publisher struct {
	// Indicators is the instance's state the pulls are compared with.
	Indicators *Indicators
	// Writer publishes the changes.
	Writer IndicatorWriter
	// Logger receives one line per pull. Default: discard.
	Logger *slog.Logger
}

// PublishResult counts what one Publish did.
type PublishResult struct {
	// Published counts new versions written, Withdrawn tombstones
	// written, Unchanged versions skipped (not newer, or same content).
	Published, Withdrawn, Unchanged int
}

// Publish publishes the changes of one pull of source and returns what
// it did. The error is the writer's.
func (p *Publisher) Publish(ctx context.Context, source string, pull Pull) (PublishResult, error) {
	var res PublishResult
	newest := make(map[string]*engine.Indicator, len(pull.Indicators))
	for _, ind := range pull.Indicators {
		if old := newest[ind.IndicatorId]; old == nil || ind.Modified.After(old.Modified) {
			newest[ind.IndicatorId] = ind
		}
	}
	var changes []IndicatorChange
	for id, ind := range newest {
		old, ok := p.Indicators.Store.Get(id)
		if ok && (!ind.Modified.After(old.Modified) || SameIndicator(old, ind)) {
			res.Unchanged++
			continue
		}
		changes = append(changes, IndicatorChange{ID: id, Source: source, Indicator: ind})
		res.Published++
	}
	if pull.Complete {
		for _, id := range p.Indicators.Owned(source) {
			if newest[id] == nil {
				changes = append(changes, IndicatorChange{ID: id, Source: source})
				res.Withdrawn++
			}
		}
	}
	// A stable order makes topic contents reproducible.
	slices.SortFunc(changes, func(a, b IndicatorChange) int { return strings.Compare(a.ID, b.ID) })
	if len(changes) == 0 {
		return res, nil
	}
	return res, p.Writer.WriteIndicators(ctx, changes)
}

// SameIndicator reports whether a and b carry the same content, ignoring
// the ingest times (TimeGenerated, Modified), the versions a store keeps
// behind them, and the difference between a nil and an empty list.
func SameIndicator(a, b *engine.Indicator) bool {
	x, y := a.Unversioned(), b.Unversioned()
	for _, c := range []*engine.Indicator{&x, &y} {
		c.TimeGenerated, c.Modified = time.Time{}, time.Time{}
		c.ExpirationDateTime = c.ExpirationDateTime.UTC()
		c.ValidFrom = c.ValidFrom.UTC()
		for _, l := range []*[]string{&c.Tags, &c.ActivityGroupNames, &c.KillChainPhases, &c.ExternalReferences, &c.Unenforced, &c.RefusedIPColumns} {
			if len(*l) == 0 {
				*l = nil
			}
		}
		if len(c.Observables) == 0 {
			c.Observables = nil
		}
	}
	return reflect.DeepEqual(x, y)
}
