package pattern

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// The observation-level matcher finds "bindings": sets of observation
// instances that satisfy a subtree. Bindings are produced lazily so that
// an existence query stops at the first one, like the Python matcher's
// generators. Every operator depends only on the set of instances, so a
// binding is a sorted set.

type instance struct{ first, last time.Time }

// binding is the sorted set of observation instances bound to a subtree.
type binding []int32

// stream yields bindings until yield returns false. Each stream is run at
// most once.
type stream func(yield func(binding) bool) error

// prune is a monotone filter from an enclosing WITHIN or START/STOP: if a
// binding fails it, so does every superset, so descendants may drop such
// bindings early without changing the result.
type prune func(binding) bool

// exists reports whether the tree has at least one binding.
func (m *matcher) exists(root ObservationExpr) (bool, error) {
	s, err := m.streamObs(root, nil)
	if err != nil {
		return false, err
	}
	found := false
	err = s(func(binding) bool { found = true; return false })
	if m.err != nil {
		return false, m.err
	}
	return found, err
}

func (m *matcher) streamObs(e ObservationExpr, prunes []prune) (stream, error) {
	switch n := e.(type) {
	case *Observation:
		roots, err := m.evalCmpAll(n.Expr)
		if err != nil {
			return nil, err
		}
		inner := append(prunes[:len(prunes):len(prunes)], m.monotone(n.Qualifiers)...)
		var singles []binding
		for i, ok := range roots {
			if !ok {
				continue
			}
			for _, id := range m.byObs[i] {
				if b := (binding{id}); pass(b, inner) {
					singles = append(singles, b)
				}
			}
		}
		return m.qualify(sliceStream(singles), n.Qualifiers, prunes), nil
	case *Grouped:
		inner := append(prunes[:len(prunes):len(prunes)], m.monotone(n.Qualifiers)...)
		s, err := m.streamObs(n.Expr, inner)
		if err != nil {
			return nil, err
		}
		return m.qualify(s, n.Qualifiers, prunes), nil
	case *ObservationOp:
		l, err := m.streamObs(n.Left, prunes)
		if err != nil {
			return nil, err
		}
		r, err := m.streamObs(n.Right, prunes)
		if err != nil {
			return nil, err
		}
		switch n.Op {
		case Or:
			return orStream(l, r), nil
		case And, FollowedBy:
			return m.joinStream(l, r, n.Op == FollowedBy, prunes), nil
		}
		return nil, fmt.Errorf("pattern: match: unknown observation operator %v", n.Op)
	}
	return nil, fmt.Errorf("pattern: match: unknown observation node %T", e)
}

// monotone returns the WITHIN and START/STOP filters of a qualifier list.
func (m *matcher) monotone(qs []Qualifier) []prune {
	var out []prune
	for _, q := range qs {
		switch q.Kind {
		case Within:
			out = append(out, m.withinFilter(withinDuration(q.Seconds)))
		case StartStop:
			start, _ := qualifierTime(q.Start)
			stop, _ := qualifierTime(q.Stop)
			out = append(out, m.startStopFilter(start, stop))
		}
	}
	return out
}

// qualify applies qualifiers in source order; REPEATS prunes its
// combinations with the enclosing filters and the monotone qualifiers
// that follow it.
func (m *matcher) qualify(s stream, qs []Qualifier, prunes []prune) stream {
	for i, q := range qs {
		switch q.Kind {
		case Repeats:
			later := append(prunes[:len(prunes):len(prunes)], m.monotone(qs[i+1:])...)
			s = m.repeatStream(s, q.Times, later)
		case Within:
			s = filterStream(s, m.withinFilter(withinDuration(q.Seconds)))
		case StartStop:
			start, _ := qualifierTime(q.Start)
			stop, _ := qualifierTime(q.Stop)
			s = filterStream(s, m.startStopFilter(start, stop))
		}
	}
	return s
}

func pass(b binding, prunes []prune) bool {
	for _, p := range prunes {
		if !p(b) {
			return false
		}
	}
	return true
}

func sliceStream(bs []binding) stream {
	return func(yield func(binding) bool) error {
		for _, b := range bs {
			if !yield(b) {
				return nil
			}
		}
		return nil
	}
}

func filterStream(s stream, keep prune) stream {
	return func(yield func(binding) bool) error {
		return s(func(b binding) bool { return !keep(b) || yield(b) })
	}
}

func orStream(l, r stream) stream {
	return func(yield func(binding) bool) error {
		stopped := false
		err := l(func(b binding) bool {
			stopped = !yield(b)
			return !stopped
		})
		if err != nil || stopped {
			return err
		}
		return r(yield)
	}
}

// joinStream combines disjoint left/right bindings; for FOLLOWEDBY no left
// observation may start after the earliest right last_observed.
func (m *matcher) joinStream(l, r stream, followed bool, prunes []prune) stream {
	return func(yield func(binding) bool) error {
		right, err := m.collect(r)
		if err != nil || len(right) == 0 {
			return err
		}
		return l(func(a binding) bool {
			latestFirst := m.inst[a[0]].first
			for _, id := range a[1:] {
				if t := m.inst[id].first; t.After(latestFirst) {
					latestFirst = t
				}
			}
			for _, b := range right {
				if !m.step() {
					return false
				}
				if !disjoint(a, b) || followed && latestFirst.After(m.earliestLast(b)) {
					continue
				}
				if u := union(a, b); pass(u, prunes) && !yield(u) {
					return false
				}
			}
			return true
		})
	}
}

// repeatStream yields unions of k pairwise-disjoint child bindings.
func (m *matcher) repeatStream(child stream, k int64, prunes []prune) stream {
	return func(yield func(binding) bool) error {
		if k < 1 {
			return fmt.Errorf("pattern: match: invalid repetition count: %d", k)
		}
		bs, err := m.collect(child)
		if err != nil || int64(len(bs)) < k {
			return err
		}
		n := int(k)
		var rec func(start int, acc binding, left int) bool
		rec = func(start int, acc binding, left int) bool {
			for i := start; i <= len(bs)-left; i++ {
				if !m.step() {
					return false
				}
				if !disjoint(acc, bs[i]) {
					continue
				}
				u := union(acc, bs[i])
				if !pass(u, prunes) {
					continue
				}
				if left == 1 {
					if !yield(u) {
						return false
					}
				} else if !rec(i+1, u, left-1) {
					return false
				}
			}
			return true
		}
		rec(0, nil, n)
		return nil
	}
}

// collect materialises a stream, dropping bindings with equal sets.
func (m *matcher) collect(s stream) ([]binding, error) {
	var out []binding
	seen := map[string]bool{}
	var key []byte
	err := s(func(b binding) bool {
		key = key[:0]
		for _, id := range b {
			key = binary.LittleEndian.AppendUint32(key, uint32(id))
		}
		if seen[string(key)] {
			return true
		}
		seen[string(key)] = true
		out = append(out, b)
		if len(out) > maxBindings {
			m.fail(fmt.Errorf("%w: more than %d candidate bindings", ErrUnsupported, maxBindings))
			return false
		}
		return true
	})
	if m.err != nil {
		return nil, m.err
	}
	return out, err
}

func (m *matcher) fail(err error) {
	if m.err == nil {
		m.err = err
	}
}

// step charges one unit of search work; false means the budget is spent.
func (m *matcher) step() bool {
	m.steps++
	if m.steps > maxSteps {
		m.fail(fmt.Errorf("%w: binding search exceeded %d steps", ErrUnsupported, maxSteps))
		return false
	}
	return m.err == nil
}

func (m *matcher) earliestLast(b binding) time.Time {
	t := m.inst[b[0]].last
	for _, id := range b[1:] {
		if l := m.inst[id].last; l.Before(t) {
			t = l
		}
	}
	return t
}

// withinDuration converts WITHIN seconds to a duration rounded to the
// microsecond (Python timedelta precision); -1 means "unbounded".
func withinDuration(l Literal) time.Duration {
	sec := l.Float
	if l.Kind == KindInt {
		sec = float64(l.Int)
	}
	us := math.Round(sec * 1e6)
	if us >= math.MaxInt64/1000 {
		return -1
	}
	return time.Duration(us) * time.Microsecond
}

// withinFilter accepts bindings whose observations all overlap one window
// of length d starting at the earliest last_observed.
func (m *matcher) withinFilter(d time.Duration) prune {
	return func(b binding) bool {
		if d < 0 {
			return true
		}
		limit := m.earliestLast(b).Add(d)
		for _, id := range b {
			if m.inst[id].first.After(limit) {
				return false
			}
		}
		return true
	}
}

// startStopFilter accepts bindings whose observations all overlap
// [start, stop); nothing passes unless start < stop.
func (m *matcher) startStopFilter(start, stop time.Time) prune {
	return func(b binding) bool {
		if !start.Before(stop) {
			return false
		}
		for _, id := range b {
			in := m.inst[id]
			if !in.first.Before(stop) || in.last.Before(start) {
				return false
			}
		}
		return true
	}
}

func disjoint(a, b binding) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			return false
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return true
}

func union(a, b binding) binding {
	out := make(binding, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		if j == len(b) || (i < len(a) && a[i] < b[j]) {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	return out
}
