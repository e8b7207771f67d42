package engine

import "time"

// joinState is one Matcher's state of one rule's join: partner rows by key
// and matches waiting for a partner. Both are bounded by count (oldest
// dropped first) and by the join window in event time.
type joinState struct {
	j       *Join
	cols    []string          // the key and the kept columns of partner rows
	rows    map[string]*Event // key → newest partner row (a clone)
	rowKeys []string          // insertion order, for eviction
	pending map[string][]parked
	pendQ   []pendingRef
	seq     uint64
	npend   int
	newest  time.Time // newest event time seen by the join
}

// parked is a match waiting for its partner row; seq ties it to its entry
// in the eviction queue.
type parked struct {
	m   *Match
	seq uint64
}

type pendingRef struct {
	key string
	at  time.Time
	seq uint64
}

func newJoinState(j *Join) *joinState {
	cols := append([]string{j.On}, j.Columns...)
	return &joinState{j: j, cols: cols, rows: map[string]*Event{}, pending: map[string][]parked{}}
}

// see advances the join's clock and evicts what the window has passed.
func (js *joinState) see(t time.Time) {
	if t.After(js.newest) {
		js.newest = t
	}
	limit := js.newest.Add(-js.j.Window)
	for len(js.pendQ) > 0 && (js.pendQ[0].at.Before(limit) || js.npend > js.j.MaxPending) {
		ref := js.pendQ[0]
		js.pendQ = js.pendQ[1:]
		ms := js.pending[ref.key]
		if len(ms) > 0 && ms[0].seq == ref.seq { // else released already
			js.pending[ref.key] = ms[1:]
			js.npend--
			if len(ms) == 1 {
				delete(js.pending, ref.key)
			}
		}
	}
	for len(js.rowKeys) > js.j.MaxRows {
		k := js.rowKeys[0]
		js.rowKeys = js.rowKeys[1:]
		if r := js.rows[k]; r != nil {
			delete(js.rows, k)
		}
	}
	for len(js.rowKeys) > 0 {
		r := js.rows[js.rowKeys[0]]
		if r != nil && !r.TimeGenerated.Before(limit) {
			break
		}
		delete(js.rows, js.rowKeys[0])
		js.rowKeys = js.rowKeys[1:]
	}
}

// within reports whether two event times are at most the window apart.
func (js *joinState) within(a, b time.Time) bool {
	d := a.Sub(b)
	return d <= js.j.Window && d >= -js.j.Window
}

// partnerRow records a row of the join table and returns the matches that
// were waiting for it.
func (js *joinState) partnerRow(ev *Event) []*Match {
	key := ev.Value(js.j.On)
	if key == "" || !filtersHold(js.j.Filters, ev) {
		return nil
	}
	row := ev.Project(js.cols) // owned: ev's strings may alias a reused line
	key = row.Value(js.j.On)
	if _, ok := js.rows[key]; !ok {
		js.rowKeys = append(js.rowKeys, key)
	}
	js.rows[key] = row
	js.see(row.TimeGenerated)
	var out []*Match
	for _, p := range js.pending[key] {
		if js.within(p.m.Event.TimeGenerated, row.TimeGenerated) {
			mm := *p.m
			mm.Joined = row
			out = append(out, &mm)
		}
	}
	js.npend -= len(js.pending[key])
	delete(js.pending, key)
	return out
}

// primaryMatch returns the partner row of a match, or nil after parking a
// copy of the match (with a clone of its row) until the partner comes.
func (js *joinState) primaryMatch(m *Match, clone func() *Event) *Event {
	key := m.Event.Value(js.j.On)
	if key == "" {
		return nil
	}
	if row := js.rows[key]; row != nil && js.within(m.Event.TimeGenerated, row.TimeGenerated) {
		js.see(m.Event.TimeGenerated)
		return row
	}
	p := *m
	p.Event = clone()
	key = p.Event.Value(js.j.On) // owned by the clone, unlike the row's
	js.seq++
	js.pending[key] = append(js.pending[key], parked{&p, js.seq})
	js.pendQ = append(js.pendQ, pendingRef{key, p.Event.TimeGenerated, js.seq})
	js.npend++
	js.see(m.Event.TimeGenerated)
	return nil
}
