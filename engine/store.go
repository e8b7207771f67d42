package engine

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Snapshot is an immutable view of the indicator indexes. Readers take one
// with Store.Snapshot and look values up without locks; the store publishes
// a new snapshot after every update.
//
// A snapshot is a large base index plus a small delta index of the
// indicators changed since the base was built: an update rebuilds only the
// delta, and the base is rebuilt when the delta grows past
// StoreOptions.MaxDelta.
type Snapshot struct {
	base, delta *indexSet
	// dead holds the IndicatorIds whose base postings a newer version (in
	// delta, or a revocation) supersedes.
	dead map[string]struct{}
	// Version increases by one with every published snapshot.
	Version uint64
}

// AppendIP appends the postings of every live-version indicator whose
// address or range contains a. a should be unmapped (ParseAddr does that).
func (s *Snapshot) AppendIP(dst []Posting, a netip.Addr) []Posting {
	dst = s.base.lookupIP(dst, a, s.dead)
	return s.delta.lookupIP(dst, a, nil)
}

// AppendDomain appends the postings of the normalised domain name
// (AppendDomain) and, with subdomains, of its parents below the public
// suffix.
func (s *Snapshot) AppendDomain(dst []Posting, name []byte, subdomains bool) []Posting {
	dst = s.base.lookupDomain(dst, name, subdomains, s.dead)
	return s.delta.lookupDomain(dst, name, subdomains, nil)
}

// AppendValue appends the postings of a normalised URL, e-mail address or
// hash (AppendURL, AppendEmail, AppendHash) of type t.
func (s *Snapshot) AppendValue(dst []Posting, t ObservableType, v []byte) []Posting {
	dst = s.base.lookupString(dst, t, v, s.dead)
	return s.delta.lookupString(dst, t, v, nil)
}

// StoreOptions configure a Store.
type StoreOptions struct {
	// MaxDelta is the number of changed indicators kept in the delta index
	// before the base index is rebuilt. Default 4096, or 1/16 of the store
	// when that is larger: a delta rebuild is O(delta), a base rebuild
	// O(store).
	MaxDelta int
	// KeepVersions keeps, per IndicatorId, the superseded versions ingested
	// (TimeGenerated) within 14 days of the newest one, at most MaxVersions
	// versions in all, for Sentinel compatibility mode: the originals read
	// every TI row of the last 14 days and filter them before keeping each
	// indicator's latest (spec §0.3 item 3), or keep none (Q15, R05). The
	// observables of an indicator's active versions are then indexed under
	// its newest version, revoked or not, so only an executor in compat
	// mode, which picks the version per rule, may read such a store
	// (NewExecutor refuses it otherwise). Versions arriving out of order
	// (older Modified) are still dropped as stale.
	KeepVersions bool
	// MaxVersions caps the versions kept per id by KeepVersions, the newest
	// included. Default 8.
	MaxVersions int
}

// Store keeps the newest version of every indicator, keyed by IndicatorId,
// and publishes Snapshots of the live ones. Writers serialise on a mutex;
// readers never lock.
//
// Lifecycle (spec §0.3 items 3–8, quirks fixed): the version with the newest
// Modified wins whatever order versions arrive in; an equal or older version
// is stale and ignored (so re-importing a feed changes nothing); a newest
// version that is inactive (revoked) removes the indicator from matching, and
// a later active version brings it back. Expiry is judged per match
// (Indicator.Live), since it depends on the event's time.
//
// The store owns the indicators given to Upsert: callers must not change
// them afterwards.
type Store struct {
	opts StoreOptions

	mu    sync.Mutex
	all   map[string]*Indicator // newest version per id, revoked ones too
	delta map[string]*Indicator // changed since the base was built
	base  *indexSet
	snap  atomic.Pointer[Snapshot]
	ver   uint64
}

// NewStore returns an empty store with a published empty snapshot.
func NewStore(opts StoreOptions) *Store {
	if opts.MaxDelta <= 0 {
		opts.MaxDelta = 4096
	}
	if opts.MaxVersions <= 0 {
		opts.MaxVersions = 8
	}
	s := &Store{opts: opts, all: map[string]*Indicator{}, delta: map[string]*Indicator{}}
	s.base = buildIndexes(nil)
	s.publish(buildIndexes(nil), nil)
	return s
}

// KeepsVersions reports whether the store keeps superseded versions
// (StoreOptions.KeepVersions).
func (s *Store) KeepsVersions() bool { return s.opts.KeepVersions }

// Snapshot returns the current snapshot. It never blocks.
func (s *Store) Snapshot() *Snapshot { return s.snap.Load() }

// UpsertResult counts what an Upsert did.
type UpsertResult struct {
	Added, Updated, Revoked, Stale int
}

// Upsert applies new indicator versions and publishes one new snapshot for
// the whole batch.
func (s *Store) Upsert(batch ...*Indicator) UpsertResult {
	var r UpsertResult
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.all) == 0 && len(batch) > 1024 {
		s.all = make(map[string]*Indicator, len(batch)) // first bulk load
	}
	changed := make([]*Indicator, 0, min(len(batch), 4096))
	for _, v := range batch {
		old := s.all[v.IndicatorId]
		switch {
		case old != nil && !v.Modified.After(old.Modified):
			r.Stale++
			continue
		case !v.Active:
			r.Revoked++
		case old == nil:
			r.Added++
		default:
			r.Updated++
		}
		if s.opts.KeepVersions && old != nil {
			v.older = keptVersions(v, old, s.opts.MaxVersions)
		}
		s.all[v.IndicatorId] = v
		changed = append(changed, v)
	}
	if len(changed) == 0 {
		return r
	}
	if len(s.delta)+len(changed) > max(s.opts.MaxDelta, len(s.all)/16) {
		s.rebuildLocked() // a bulk load: skip filling the delta map
		return r
	}
	for _, v := range changed {
		s.delta[v.IndicatorId] = v
	}
	s.publishDeltaLocked()
	return r
}

// Rebuild folds the delta into a new base index and publishes it; with an
// empty delta it does nothing.
func (s *Store) Rebuild() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.delta) > 0 {
		s.rebuildLocked()
	}
}

func (s *Store) rebuildLocked() {
	live := make([]*Indicator, 0, len(s.all))
	for _, ind := range s.all {
		if ind.Active || len(ind.older) > 0 {
			live = append(live, ind)
		}
	}
	s.base = buildIndexes(live)
	clear(s.delta)
	s.publish(buildIndexes(nil), nil)
}

func (s *Store) publish(delta *indexSet, dead map[string]struct{}) {
	s.ver++
	s.snap.Store(&Snapshot{base: s.base, delta: delta, dead: dead, Version: s.ver})
}

// keptVersions are the versions kept behind v, which supersedes old: old
// and its own kept versions, newest first, those ingested within the
// 14-day lookback before v, at most max-1. A new slice: readers of old's
// may still walk it.
func keptVersions(v, old *Indicator, max int) []*Indicator {
	cut := v.TimeGenerated.Add(-sentinelLookback)
	out := make([]*Indicator, 0, min(1+len(old.older), max-1))
	for u := range old.versions() {
		if len(out) == max-1 {
			break
		}
		if !u.TimeGenerated.Before(cut) {
			out = append(out, u)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Get returns the newest version of an indicator (revoked ones included).
func (s *Store) Get(id string) (*Indicator, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ind, ok := s.all[id]
	return ind, ok
}

// Stats describes the store's content.
type Stats struct {
	// Indicators is the number of distinct IndicatorIds known, Live those
	// whose newest version is active.
	Indicators, Live int
	// Observables counts the observables of live indicators per type.
	Observables map[ObservableType]int
}

// Stats counts the store's content. It walks the whole store: not for the
// per-event path.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Indicators: len(s.all), Observables: map[ObservableType]int{}}
	for _, ind := range s.all {
		if !ind.Active {
			continue
		}
		st.Live++
		for _, o := range ind.Observables {
			st.Observables[o.Type]++
		}
	}
	return st
}

// DropExpired forgets live indicators that can no longer match anything
// processed at or after now (their expiry plus grace has passed), freeing
// their index space, and returns how many it dropped. Their ids stay known,
// so an older version arriving later is still stale.
//
// With KeepVersions it also forgets kept versions ingested before the
// 14-day lookback (compat mode can no longer see them), and an indicator
// counts as dropped only when none of its versions can match any more
// (all expired or revoked); otherwise its newest version stays as it is,
// since it still decides which version a rule uses.
func (s *Store) DropExpired(now time.Time, grace time.Duration) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.KeepVersions {
		return s.dropExpiredVersionsLocked(now, grace)
	}
	n := 0
	for id, ind := range s.all {
		if ind.Active && ind.Expired(now, grace) {
			gone := *ind
			gone.Active = false
			gone.Observables = nil
			s.all[id] = &gone
			n++
		}
	}
	if n > 0 {
		s.rebuildLocked()
	}
	return n
}

// dropExpiredVersionsLocked is DropExpired for a store keeping versions.
func (s *Store) dropExpiredVersionsLocked(now time.Time, grace time.Duration) int {
	cut := now.Add(-sentinelLookback)
	n, changed := 0, false
	for id, ind := range s.all {
		if !ind.Active && len(ind.older) == 0 {
			continue // nothing indexed
		}
		alive := false
		var kept []*Indicator
		for _, v := range ind.older {
			if !v.TimeGenerated.Before(cut) {
				kept = append(kept, v)
				alive = alive || (v.Active && !v.Expired(now, grace))
			}
		}
		headAlive := ind.Active && !ind.Expired(now, grace)
		switch {
		case !headAlive && !alive:
			gone := *ind
			gone.Active, gone.Observables, gone.older = false, nil, nil
			s.all[id] = &gone
			if ind.Active {
				n++
			}
			changed = true
		case len(kept) != len(ind.older):
			c := *ind // published versions are never changed
			c.older = kept
			s.all[id] = &c
			changed = true
		}
	}
	if changed {
		s.rebuildLocked()
	}
	return n
}

// Delete removes indicators by id, whatever their version (a tombstone on
// an indicator topic, a feed entry withdrawn). The id stays known with its
// last Modified, so only a strictly newer version brings it back. Unknown
// ids are ignored. It returns how many live indicators it removed.
func (s *Store) Delete(ids ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, id := range ids {
		if old := s.all[id]; old != nil && old.Active {
			t := *old
			t.Active = false
			if s.opts.KeepVersions {
				// A revocation row: it keeps its values, so that it is the
				// version a rule picks, as in Sentinel (older versions then
				// match only where no latest is picked, Q15).
				t.older = keptVersions(&t, old, s.opts.MaxVersions)
			} else {
				t.Observables = nil
			}
			s.all[id], s.delta[id] = &t, &t
			n++
		}
	}
	if n > 0 {
		s.publishDeltaLocked()
	}
	return n
}

// publishDeltaLocked publishes the changes in s.delta: a new delta index,
// or a new base when the delta has grown past its limit.
func (s *Store) publishDeltaLocked() {
	if len(s.delta) > max(s.opts.MaxDelta, len(s.all)/16) {
		s.rebuildLocked()
		return
	}
	inDelta := make([]*Indicator, 0, len(s.delta))
	dead := make(map[string]struct{}, len(s.delta))
	for id, ind := range s.delta {
		inDelta = append(inDelta, ind)
		dead[id] = struct{}{}
	}
	s.publish(buildIndexes(inDelta), dead)
}
