package engine

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"
)

// AggregatorOptions configure an Aggregator.
type AggregatorOptions struct {
	// Window is the suppression window: one alert per (rule, indicator,
	// value) per window of event time, windows aligned to multiples of
	// Window since the Unix epoch. Default 1 h.
	Window time.Duration
	// Lateness is how far behind the newest event time a row may arrive and
	// still be counted into its window; a window is closed once the newest
	// event time passes its end plus Lateness. Default 0.
	Lateness time.Duration
	// EmitFirst emits each alert as soon as its first row matches
	// (EventCount 1), so a stream alerts within milliseconds. When the
	// window closes and later rows were counted, the alert is emitted again
	// with the same SystemAlertId and the final EndTime and EventCount:
	// consumers upsert by SystemAlertId. Without EmitFirst an alert is
	// emitted once, when its window closes (batch runs).
	EmitFirst bool
	// Clock and MaxFuture stop rows stamped in the future from closing
	// windows early: a row more than MaxFuture after Clock() (a device with
	// a wrong clock) is counted but does not advance the event time that
	// closes windows. Nil Clock: no limit.
	Clock     func() time.Time
	MaxFuture time.Duration
	// SentinelDedup groups alerts as the Sentinel originals de-duplicate
	// their hourly results: by each rule's SentinelDedup columns
	// (IndicatorId, a row column, else the matched value), carrying the
	// latest row (compatibility mode); a rule whose Compat has NoDedup
	// emits every matching row as an alert of its own, at once. Off: by
	// rule, indicator and value, carrying the first row.
	SentinelDedup bool
}

// Aggregator turns matches into alerts, suppressing repeats within a
// window. Not safe for concurrent use.
type Aggregator struct {
	opts      AggregatorOptions
	open      map[alertKey]*openAlert
	watermark time.Time
	emit      func(*Alert) error
}

// openAlert is an alert whose window has not closed, and the EventCount it
// had when last emitted (0: never emitted).
type openAlert struct {
	*Alert
	emitted int
	key     alertKey
}

// key is the group an alert of m belongs to.
func (a *Aggregator) key(m *Match, start time.Time) alertKey {
	k := alertKey{m.Rule.ID, m.Ind.IndicatorId, m.Value, start.UnixNano()}
	if !a.opts.SentinelDedup || len(m.Rule.SentinelDedup) == 0 {
		return k
	}
	k.ind, k.value = "", ""
	var vals []string
	for _, col := range m.Rule.SentinelDedup {
		switch v, ok := m.Event.Get(col); {
		case col == "IndicatorId":
			k.ind = m.Ind.IndicatorId
		case ok:
			vals = append(vals, v)
		default: // the rule's computed key (CS_ipEntity, Domain, …)
			vals = append(vals, m.Value)
		}
	}
	k.value = strings.Join(vals, "\x00")
	return k
}

type alertKey struct {
	rule, ind, value string
	window           int64
}

// NewAggregator returns an Aggregator that hands finished alerts to emit.
func NewAggregator(opts AggregatorOptions, emit func(*Alert) error) *Aggregator {
	if opts.Window <= 0 {
		opts.Window = time.Hour
	}
	return &Aggregator{opts: opts, open: map[alertKey]*openAlert{}, emit: emit}
}

// Add counts m into its window's alert, creating the alert on the first
// match, and emits the windows the event time has closed.
func (a *Aggregator) Add(m *Match) error {
	t := m.Event.TimeGenerated
	start := t.Truncate(a.opts.Window)
	if a.opts.SentinelDedup && m.Rule.Compat != nil && m.Rule.Compat.NoDedup {
		// No dedup in the original (spec §0.3 item 8): each row is final at
		// once. Its id names the row (origin:offset and time).
		al := newAlert(m, start)
		al.SystemAlertId = SystemAlertID(m.Rule.ID, m.Ind.IndicatorId, m.Value+"\x00"+al.Origin, t)
		if err := a.emit(al); err != nil {
			return err
		}
		return a.advance(t)
	}
	k := a.key(m, start)
	if al := a.open[k]; al != nil {
		al.EventCount++
		if t.Before(al.StartTime) {
			al.StartTime = t
		}
		if t.After(al.EndTime) {
			if a.opts.SentinelDedup {
				// The original keeps the latest row of the group.
				latest := newAlert(m, start)
				latest.SystemAlertId, latest.StartTime, latest.EventCount = al.SystemAlertId, al.StartTime, al.EventCount
				al.Alert = latest
			}
			al.EndTime = t
		}
	} else {
		// The key outlives the row, whose strings may alias a reused line.
		k.value = strings.Clone(k.value)
		al := &openAlert{Alert: newAlert(m, start), key: k}
		if a.opts.SentinelDedup {
			al.SystemAlertId = SystemAlertID(k.rule, k.ind, k.value, start)
		}
		a.open[k] = al
		if a.opts.EmitFirst {
			al.emitted = 1
			if err := a.emit(al.Alert); err != nil {
				return err
			}
		}
	}
	return a.advance(t)
}

// advance moves the event-time watermark to t and emits the windows it
// closes.
func (a *Aggregator) advance(t time.Time) error {
	if a.opts.Clock != nil && t.After(a.opts.Clock().Add(a.opts.MaxFuture)) {
		return nil
	}
	if t.After(a.watermark) {
		a.watermark = t
		return a.closeBefore(a.watermark.Add(-a.opts.Lateness).Truncate(a.opts.Window).UnixNano())
	}
	return nil
}

// Flush emits every open alert, in a deterministic order.
func (a *Aggregator) Flush() error { return a.closeBefore(math.MaxInt64) }

// Open returns the number of alerts whose window has not closed.
func (a *Aggregator) Open() int { return len(a.open) }

// closeBefore emits the alerts of windows starting before limit (Unix
// nanoseconds).
func (a *Aggregator) closeBefore(limit int64) error {
	var done []alertKey
	for k := range a.open {
		if k.window < limit {
			done = append(done, k)
		}
	}
	slices.SortFunc(done, func(x, y alertKey) int {
		return cmp.Or(cmp.Compare(x.window, y.window), cmp.Compare(x.rule, y.rule),
			cmp.Compare(x.ind, y.ind), cmp.Compare(x.value, y.value))
	})
	for _, k := range done {
		al := a.open[k]
		delete(a.open, k)
		if al.emitted == al.EventCount {
			continue // EmitFirst, nothing counted since
		}
		if err := a.emit(al.Alert); err != nil {
			return err
		}
	}
	return nil
}

// AggregatorState is what an Aggregator must remember across a restart:
// the open alerts (with how many rows each had when last emitted) and the
// newest event time seen. It marshals to JSON.
type AggregatorState struct {
	Watermark time.Time
	Open      []OpenAlert
}

// OpenAlert is one alert of an AggregatorState.
type OpenAlert struct {
	Alert *Alert
	// Emitted is the EventCount the alert had when last emitted; 0 if it
	// was not emitted yet.
	Emitted int
	// KeyIndicator and KeyValue are the alert's group (IndicatorId and
	// matched value, or the Sentinel dedup values).
	KeyIndicator, KeyValue string
}

// State returns a copy of the aggregator's state, in a deterministic order.
func (a *Aggregator) State() AggregatorState {
	st := AggregatorState{Watermark: a.watermark}
	for _, al := range a.open {
		c := *al.Alert
		st.Open = append(st.Open, OpenAlert{Alert: &c, Emitted: al.emitted, KeyIndicator: al.key.ind, KeyValue: al.key.value})
	}
	slices.SortFunc(st.Open, func(x, y OpenAlert) int { return cmp.Compare(x.Alert.SystemAlertId, y.Alert.SystemAlertId) })
	return st
}

// Restore replaces the aggregator's state with st (as State returned it).
func (a *Aggregator) Restore(st AggregatorState) {
	a.watermark = st.Watermark
	clear(a.open)
	for _, o := range st.Open {
		al := *o.Alert
		k := alertKey{al.RuleId, al.IndicatorId, al.MatchedValue, al.StartTime.Truncate(a.opts.Window).UnixNano()}
		if o.KeyIndicator != "" || o.KeyValue != "" {
			k.ind, k.value = o.KeyIndicator, o.KeyValue
		}
		a.open[k] = &openAlert{Alert: &al, emitted: o.Emitted, key: k}
	}
}
