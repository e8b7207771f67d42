package engine

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func aggMatch(r *Rule, in *Indicator, value string, at time.Time) *Match {
	ev := row(r.Table, at, "SourceIP", value)
	ev.Origin, ev.Offset = "test", at.Unix()
	return &Match{Rule: r, Ind: in, Obs: &in.Observables[0], Column: "SourceIP", Value: value, Event: ev}
}

func TestAggregatorWindows(t *testing.T) {
	r := &Rule{ID: "r", Name: "R", Severity: "Low", Table: "T",
		Entities: []EntityMapping{{Type: "IP", Identifiers: []Identifier{{"Address", "MatchedValue"}}}}}
	in := ind(t, "i", TypeIP, "NetworkIP", "203.0.113.9")
	var got []Alert
	a := NewAggregator(AggregatorOptions{Window: time.Hour}, func(al *Alert) error { got = append(got, *al); return nil })
	base := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	for _, m := range []time.Duration{5 * time.Minute, 50 * time.Minute, 20 * time.Minute} {
		a.Add(aggMatch(r, in, "203.0.113.9", base.Add(m)))
	}
	if len(got) != 0 || a.Open() != 1 {
		t.Fatalf("emitted before the window closed: %d", len(got))
	}
	// A row of the next hour closes the first window.
	a.Add(aggMatch(r, in, "203.0.113.9", base.Add(70*time.Minute)))
	if len(got) != 1 || got[0].EventCount != 3 || !got[0].StartTime.Equal(base.Add(5*time.Minute)) || !got[0].EndTime.Equal(base.Add(50*time.Minute)) {
		t.Fatalf("first window: %+v", got)
	}
	if got[0].SystemAlertId != SystemAlertID("r", "i", "203.0.113.9", base) {
		t.Errorf("SystemAlertId not derived from rule, indicator, value and window")
	}
	if len(got[0].Entities) != 1 || got[0].Entities[0].Identifiers[0].Column != "203.0.113.9" {
		t.Errorf("entities: %+v", got[0].Entities)
	}
	a.Flush()
	if len(got) != 2 || got[1].EventCount != 1 || got[1].SystemAlertId == got[0].SystemAlertId {
		t.Errorf("second window: %+v", got)
	}
}

func TestAggregatorEmitFirstAndState(t *testing.T) {
	r := &Rule{ID: "r", Name: "R", Severity: "Low", Table: "T"}
	in := ind(t, "i", TypeIP, "NetworkIP", "203.0.113.9")
	var got []Alert
	emit := func(al *Alert) error { got = append(got, *al); return nil }
	a := NewAggregator(AggregatorOptions{EmitFirst: true}, emit)
	base := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	a.Add(aggMatch(r, in, "203.0.113.9", base.Add(time.Minute)))
	a.Add(aggMatch(r, in, "198.51.100.1", base.Add(2*time.Minute)))
	if len(got) != 2 || got[0].EventCount != 1 {
		t.Fatalf("EmitFirst: %+v", got)
	}
	a.Add(aggMatch(r, in, "203.0.113.9", base.Add(3*time.Minute)))
	if len(got) != 2 {
		t.Fatalf("repeat in window emitted: %d alerts", len(got))
	}

	// Checkpoint, restore into a fresh aggregator, continue.
	data, err := json.Marshal(a.State())
	if err != nil {
		t.Fatal(err)
	}
	var st AggregatorState
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	b := NewAggregator(AggregatorOptions{EmitFirst: true}, emit)
	b.Restore(st)
	b.Add(aggMatch(r, in, "203.0.113.9", base.Add(4*time.Minute)))
	if len(got) != 2 {
		t.Fatalf("restored aggregator re-emitted an open alert")
	}
	b.Flush()
	// The alert with later rows is emitted again with its final count;
	// the one with a single row is not repeated.
	if len(got) != 3 || got[2].SystemAlertId != got[0].SystemAlertId || got[2].EventCount != 3 {
		t.Fatalf("close after restore: %+v", got[2:])
	}
}

func TestEntityJSON(t *testing.T) {
	e := Entity{Type: "FileHash", Identifiers: []Identifier{{"Value", "44d8"}, {"Algorithm", "MD5"}}}
	b, _ := json.Marshal(e)
	if string(b) != `{"Algorithm":"MD5","Type":"FileHash","Value":"44d8"}` {
		t.Errorf("marshal: %s", b)
	}
	var back Entity
	if err := json.Unmarshal(b, &back); err != nil || back.Type != "FileHash" || len(back.Identifiers) != 2 || back.Identifiers[0] != (Identifier{"Algorithm", "MD5"}) {
		t.Errorf("unmarshal: %+v %v", back, err)
	}
}

func TestAggregatorFutureRowsDoNotCloseWindows(t *testing.T) {
	r := &Rule{ID: "r", Name: "R", Severity: "Low", Table: "T"}
	in := ind(t, "i", TypeIP, "NetworkIP", "203.0.113.9")
	base := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	var got []Alert
	a := NewAggregator(AggregatorOptions{Clock: func() time.Time { return base.Add(time.Hour) }, MaxFuture: 24 * time.Hour},
		func(al *Alert) error { got = append(got, *al); return nil })
	a.Add(aggMatch(r, in, "203.0.113.9", base.Add(time.Minute)))
	a.Add(aggMatch(r, in, "203.0.113.9", base.AddDate(5, 0, 0))) // a device clock five years ahead
	a.Add(aggMatch(r, in, "203.0.113.9", base.Add(10*time.Minute)))
	a.Flush()
	if len(got) != 2 || got[0].EventCount != 2 {
		t.Fatalf("alerts %+v: the future row closed the 09:00 window", got)
	}
}

func TestValidFrom(t *testing.T) {
	in := ind(t, "i", TypeIP, "NetworkIP", "203.0.113.9")
	in.ValidFrom = t0
	if in.Live(t0.Add(-time.Second), t0, 0) || !in.Live(t0, t0, 0) {
		t.Error("valid_from not honoured")
	}
}

// TestAlertEmptyLists: a rule without tactics or techniques gives JSON
// lists, not null, to alert consumers.
func TestAlertEmptyLists(t *testing.T) {
	r := &Rule{ID: "r", Name: "R", Severity: "Low", Table: "T"}
	in := ind(t, "i", TypeIP, "NetworkIP", "203.0.113.9")
	var got []*Alert
	a := NewAggregator(AggregatorOptions{}, func(al *Alert) error { got = append(got, al); return nil })
	a.Add(aggMatch(r, in, "203.0.113.9", time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)))
	a.Flush()
	b, _ := json.Marshal(got[0])
	if !strings.Contains(string(b), `"Tactics":[],"Techniques":[]`) {
		t.Errorf("alert JSON %s", b)
	}
}
