package pattern

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ErrUnsupported is wrapped by MatchObservations errors for inputs the
// reference matcher cannot decide faithfully (regular-expression features
// Go's RE2 lacks, or combinatorial blow-up of observation bindings). It
// means "no answer", never "no match".
var ErrUnsupported = errors.New("pattern: not supported by the reference matcher")

// Observed is one observed-data SDO as the matcher sees it (STIX 2.1
// "Observed Data" SDO; STIX 2.0 Part 2 "Observed Data").
type Observed struct {
	// Time is first_observed.
	Time time.Time
	// LastObserved is last_observed; the zero value means Time.
	LastObserved time.Time
	// NumberObserved is number_observed; 0 means 1, negative is an error.
	// Each observed-data counts as that many distinct observations.
	NumberObserved int
	// Objects holds the cyber-observable objects keyed by their key (2.0
	// "objects" dictionary) or id (2.1 object_refs), each decoded from
	// JSON: map[string]any, []any, string, float64 or json.Number, bool,
	// nil. Other Go integers/floats, []byte and time.Time are accepted
	// too. _ref/_refs properties resolve against this map.
	Objects map[string]map[string]any
}

// Bounds on the binding search; beyond them MatchObservations returns
// ErrUnsupported instead of exhausting memory.
const (
	maxBindings = 1 << 15
	maxSteps    = 1 << 22
)

// MatchObservations reports whether the observations satisfy the pattern,
// with the semantics of the OASIS cti-pattern-matcher for STIX 2.1 §9
// and STIX 2.0 Part 5:
//   - comparisons in one observation expression must hold on the same root
//     object (AND intersects, OR unions the matching roots);
//   - _ref/_refs steps dereference within the same observed-data; [*]
//     means any element; *_hex/*_bin properties compare as binary;
//   - = and IN coerce int/float; strings compare with binary values when
//     every code point is below 256; a timestamp literal parses JSON
//     strings as timestamps (an unparsable one is an error);
//   - NOT inverts the per-value result; an order comparison of
//     incomparable types is false even under NOT;
//   - LIKE uses SQL % and _, MATCHES uses Go RE2 (unanchored search);
//     ISSUBSET/ISSUPERSET take IPv4 or IPv6 addresses and CIDRs;
//   - observation AND/FOLLOWEDBY bind distinct observations (FOLLOWEDBY:
//     no left observation starts after a right one ends), REPEATS n needs
//     n disjoint bindings, WITHIN bounds all bound observations to one
//     window, START/STOP keeps observations overlapping [start, stop).
//
// Errors: the matcher's own errors (non-positive WITHIN, REPEATS 0, a
// mixed-type IN set, invalid CIDR or timestamp text, malformed
// observations) are returned as plain errors; errors wrapping
// ErrUnsupported mean the matcher cannot decide. Unicode NFC
// normalisation, which the Python matcher applies, is not done.
func (p *Pattern) MatchObservations(obs []Observed) (bool, error) {
	if p == nil || p.Root == nil {
		return false, errors.New("pattern: match: empty pattern")
	}
	m := &matcher{obs: obs, cmps: map[*Comparison]*compiledCmp{}}
	if err := m.prepareObs(p.Root); err != nil {
		return false, err
	}
	for i, o := range obs {
		n := o.NumberObserved
		if n < 0 {
			return false, fmt.Errorf("pattern: match: observation %d: number_observed %d < 1", i, n)
		}
		if n == 0 {
			n = 1
		}
		last := o.LastObserved
		if last.IsZero() {
			last = o.Time
		}
		if last.Before(o.Time) {
			return false, fmt.Errorf("pattern: match: observation %d: last_observed before first_observed", i)
		}
		ids := make([]int32, n)
		for j := range ids {
			ids[j] = int32(len(m.inst))
			m.inst = append(m.inst, instance{first: o.Time, last: last})
		}
		m.byObs = append(m.byObs, ids)
	}
	return m.exists(p.Root)
}

type matcher struct {
	obs   []Observed
	inst  []instance // observations after number_observed expansion
	byObs [][]int32  // instance ids of each Observed
	cmps  map[*Comparison]*compiledCmp
	steps int
	err   error // sticky error raised inside stream callbacks
}

// prepareObs validates qualifiers and compiles comparisons for the whole
// tree up front: the Python matcher walks every node, so these errors
// surface whatever the data.
func (m *matcher) prepareObs(e ObservationExpr) error {
	switch n := e.(type) {
	case *Observation:
		if err := m.prepareCmp(n.Expr); err != nil {
			return err
		}
		return prepareQuals(n.Qualifiers)
	case *Grouped:
		if err := m.prepareObs(n.Expr); err != nil {
			return err
		}
		return prepareQuals(n.Qualifiers)
	case *ObservationOp:
		if err := m.prepareObs(n.Left); err != nil {
			return err
		}
		return m.prepareObs(n.Right)
	}
	return fmt.Errorf("pattern: match: unknown observation node %T", e)
}

func (m *matcher) prepareCmp(e ComparisonExpr) error {
	switch n := e.(type) {
	case *ComparisonOp:
		if err := m.prepareCmp(n.Left); err != nil {
			return err
		}
		return m.prepareCmp(n.Right)
	case *Comparison:
		cc, err := compileCmp(n)
		if err != nil {
			return err
		}
		m.cmps[n] = cc
		return nil
	}
	return fmt.Errorf("pattern: match: unknown comparison node %T", e)
}

func prepareQuals(qs []Qualifier) error {
	for _, q := range qs {
		switch q.Kind {
		case Within:
			if q.Seconds.Kind == KindInt && q.Seconds.Int <= 0 || q.Seconds.Kind == KindFloat && !(q.Seconds.Float > 0) {
				return fmt.Errorf("pattern: match: invalid WITHIN value (must be positive): %s", q.Seconds)
			}
			if q.Seconds.Kind != KindInt && q.Seconds.Kind != KindFloat {
				return fmt.Errorf("pattern: match: WITHIN needs a number, got %s", q.Seconds.Kind)
			}
		case Repeats:
			if q.Times < 1 {
				return fmt.Errorf("pattern: match: invalid repetition count: %d", q.Times)
			}
		case StartStop:
			for _, l := range []Literal{q.Start, q.Stop} {
				if _, err := qualifierTime(l); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("pattern: match: unknown qualifier kind %d", q.Kind)
		}
	}
	return nil
}

// qualifierTime converts a START/STOP operand, checking the calendar.
func qualifierTime(l Literal) (time.Time, error) {
	if l.Kind != KindTimestamp && l.Kind != KindString {
		return time.Time{}, fmt.Errorf("pattern: match: START/STOP needs a timestamp, got %s", l.Kind)
	}
	t, ok := strictTime(l.Str)
	if !ok {
		return time.Time{}, fmt.Errorf("pattern: match: invalid START/STOP timestamp %q", l.Str)
	}
	return t, nil
}

// evalCmpAll evaluates a comparison expression on every observed-data and
// reports which have at least one matching root object.
func (m *matcher) evalCmpAll(e ComparisonExpr) ([]bool, error) {
	out := make([]bool, len(m.obs))
	for i := range m.obs {
		roots, err := m.evalCmp(e, &m.obs[i])
		if err != nil {
			return nil, err
		}
		out[i] = len(roots) > 0
	}
	return out, nil
}

// evalCmp returns the keys of root objects satisfying e within one
// observed-data.
func (m *matcher) evalCmp(e ComparisonExpr, o *Observed) (map[string]bool, error) {
	switch n := e.(type) {
	case *ComparisonOp:
		l, err := m.evalCmp(n.Left, o)
		if err != nil {
			return nil, err
		}
		r, err := m.evalCmp(n.Right, o)
		if err != nil {
			return nil, err
		}
		if n.Op == Or {
			for k := range r {
				l[k] = true
			}
			return l, nil
		}
		for k := range l {
			if !r[k] {
				delete(l, k)
			}
		}
		return l, nil
	case *Comparison:
		return m.evalComparison(n, o)
	}
	return nil, fmt.Errorf("pattern: match: unknown comparison node %T", e)
}

func (m *matcher) evalComparison(c *Comparison, o *Observed) (map[string]bool, error) {
	cc := m.cmps[c]
	keys := make([]string, 0, len(o.Objects))
	for k, obj := range o.Objects {
		if t, ok := obj["type"].(string); ok && t == c.Path.ObjectType {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys) // deterministic error reporting
	out := map[string]bool{}
	for _, k := range keys {
		vals, err := selectPath(o, o.Objects[k], c.Path.Steps)
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			ok, err := cc.test(v)
			if err != nil {
				return nil, err
			}
			if ok {
				out[k] = true
				break
			}
		}
	}
	return out, nil
}

// selectPath walks the steps from a root object, dereferencing _ref and
// _refs keys and decoding *_hex / *_bin values, like the Python matcher.
func selectPath(o *Observed, root map[string]any, steps []PathStep) ([]any, error) {
	vals := []any{root}
	for _, s := range steps {
		var next []any
		switch {
		case s.Index && s.Star:
			for _, v := range vals {
				next = append(next, asList(v)...)
			}
		case s.Index:
			for _, v := range vals {
				if l := asList(v); l != nil && s.N >= 0 && s.N < int64(len(l)) {
					next = append(next, l[s.N])
				}
			}
		default:
			for _, v := range vals {
				obj, ok := v.(map[string]any)
				if !ok {
					continue
				}
				x, ok := obj[s.Key]
				if !ok {
					continue
				}
				x, err := decodeSuffix(s.Key, x)
				if err != nil {
					return nil, err
				}
				x, keep, err := deref(o, s.Key, x)
				if err != nil {
					return nil, err
				}
				if keep {
					next = append(next, x)
				}
			}
		}
		vals = next
		if len(vals) == 0 {
			return nil, nil
		}
	}
	return vals, nil
}

func asList(v any) []any {
	switch l := v.(type) {
	case []any:
		return l
	case []string:
		out := make([]any, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out
	}
	return nil
}

// deref replaces reference values by the referenced objects. Unresolved
// references are dropped silently; non-string references are errors.
func deref(o *Observed, key string, v any) (any, bool, error) {
	switch {
	case strings.HasSuffix(key, "_ref"):
		id, ok := v.(string)
		if !ok {
			return nil, false, fmt.Errorf("pattern: match: value of reference property %q is not a string: %v", key, v)
		}
		obj, ok := o.Objects[id]
		return obj, ok, nil
	case strings.HasSuffix(key, "_refs"):
		l, ok := v.([]any)
		if !ok {
			if ls, isStrings := v.([]string); isStrings {
				l = asList(ls)
			} else {
				return nil, false, fmt.Errorf("pattern: match: value of reference list property %q is not a list: %v", key, v)
			}
		}
		var objs []any
		for _, r := range l {
			id, ok := r.(string)
			if !ok {
				return nil, false, fmt.Errorf("pattern: match: a value of reference property %q is not a string: %v", key, r)
			}
			if obj, ok := o.Objects[id]; ok {
				objs = append(objs, obj)
			}
		}
		return objs, len(objs) > 0, nil
	}
	return v, true, nil
}
