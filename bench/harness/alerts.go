package harness

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"timap/engine"
)

// alertVal is what is compared of one alert: which rule and table, how
// many rows it counts and the times of the first and last.
type alertVal struct {
	Rule, Table string
	Count       int
	First, Last time.Time
}

func (v alertVal) equal(w alertVal) bool {
	return v.Rule == w.Rule && v.Table == w.Table && v.Count == w.Count && v.First.Equal(w.First) && v.Last.Equal(w.Last)
}

// alertSet holds alerts by SystemAlertId, which is a hash of rule,
// indicator, matched value and window start: equal ids mean equal keys.
type alertSet map[string]alertVal

// put records an alert as emitted; a later emission of the same id (the
// final counts of a streaming alert) replaces the earlier one.
func (s alertSet) put(a *engine.Alert) {
	s[a.SystemAlertId] = alertVal{a.RuleId, a.Table, a.EventCount, a.StartTime.UTC(), a.EndTime.UTC()}
}

// merge adds the alerts of another section of the same stream: counts
// add up, times widen.
func (s alertSet) merge(o alertSet) {
	for id, v := range o {
		if w, ok := s[id]; ok {
			w.Count += v.Count
			if v.First.Before(w.First) {
				w.First = v.First
			}
			if v.Last.After(w.Last) {
				w.Last = v.Last
			}
			v = w
		}
		s[id] = v
	}
}

// perRule counts alerts per rule id.
func (s alertSet) perRule() map[string]int {
	m := map[string]int{}
	for _, v := range s {
		m[v.Rule]++
	}
	return m
}

// diff describes how two alert sets differ: counts of ids only in one,
// of ids with other values, and up to max examples. Empty when equal.
func diff(aName string, a alertSet, bName string, b alertSet, max int) string {
	var ex []string
	onlyA, onlyB, other := 0, 0, 0
	for _, id := range slices.Sorted(mapKeys(a)) {
		va := a[id]
		vb, ok := b[id]
		switch {
		case !ok:
			onlyA++
			if len(ex) < max {
				ex = append(ex, fmt.Sprintf("only in %s: %s %+v", aName, id, va))
			}
		case !va.equal(vb):
			other++
			if len(ex) < max {
				ex = append(ex, fmt.Sprintf("differs: %s %s=%+v %s=%+v", id, aName, va, bName, vb))
			}
		}
	}
	for _, id := range slices.Sorted(mapKeys(b)) {
		if _, ok := a[id]; !ok {
			onlyB++
			if len(ex) < max {
				ex = append(ex, fmt.Sprintf("only in %s: %s %+v", bName, id, b[id]))
			}
		}
	}
	if onlyA+onlyB+other == 0 {
		return ""
	}
	return fmt.Sprintf("%d alerts only in %s, %d only in %s, %d with other counts or times:\n  %s",
		onlyA, aName, onlyB, bName, other, strings.Join(ex, "\n  "))
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// sqlAlert is one row of the SQL baseline's alert file (bench/duckdb).
type sqlAlert struct {
	Table, Rule, Ind, Val   string
	Fam                     int
	Hi, Lo                  uint64
	Win, Count, First, Last int64
}

// readSQLAlerts reads the SQL baseline's alerts into sets per table,
// computing each SystemAlertId as timap does (engine.SystemAlertID) from
// rule, indicator, the canonical matched value and the window start.
func readSQLAlerts(path string) (map[string]alertSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]alertSet{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for n := 1; sc.Scan(); n++ {
		var a sqlAlert
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		val := a.Val
		if a.Fam != 0 {
			var b [16]byte
			binary.BigEndian.PutUint64(b[:8], a.Hi)
			binary.BigEndian.PutUint64(b[8:], a.Lo)
			addr := netip.AddrFrom16(b)
			if a.Fam == 4 {
				addr = netip.AddrFrom4([4]byte(b[12:]))
			}
			val = addr.String()
		}
		id := engine.SystemAlertID(a.Rule, a.Ind, val, time.UnixMicro(a.Win).UTC())
		if out[a.Table] == nil {
			out[a.Table] = alertSet{}
		}
		out[a.Table][id] = alertVal{a.Rule, a.Table, int(a.Count), time.UnixMicro(a.First).UTC(), time.UnixMicro(a.Last).UTC()}
	}
	return out, sc.Err()
}

// writeAlertSets writes sets per table as JSON (the child's timap alerts
// for the parent's comparison).
func writeAlertSets(path string, sets map[string]alertSet) error {
	b, err := json.Marshal(sets)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func readAlertSets(path string) (map[string]alertSet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var sets map[string]alertSet
	if err := json.Unmarshal(b, &sets); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sets, nil
}
