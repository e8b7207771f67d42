package kafka

import (
	"fmt"
	"testing"
	"time"

	"timap/connectors/pipeline"
	"timap/engine"
)

// TestIndicatorUpdates publishes an indicator to the indicator topic
// while three instances run and checks that events produced after it
// match on every partition, hence on every instance (each holds some of
// the six); then that its tombstone stops the matches. The deadline is
// generous and only guards against a hang: the time each partition took
// is logged, not asserted.
func TestIndicatorUpdates(t *testing.T) {
	const partitions = 6
	addr := startCluster(t, partitions)
	var ins []*instance
	for i := range 3 {
		ins = append(ins, startInstance(t, addr, fmt.Sprintf("u%d", i), instanceOptions{}))
	}
	waitBalanced(t, addr, 3)
	reader := newAlertReader(t, addr)

	ip := func(id, addr string, modified time.Time) pipeline.IndicatorChange {
		o, err := engine.NewObservable(engine.TypeIP, "NetworkIP", addr, "")
		if err != nil {
			t.Fatal(err)
		}
		return pipeline.IndicatorChange{ID: id, Indicator: &engine.Indicator{IndicatorId: id, Active: true, ConfidenceScore: -1,
			Modified: modified, Observables: []engine.Observable{o}}}
	}
	// event is a CEF row to dst at time at, produced to partition p.
	event := func(p int32, dst string, at time.Time) []byte {
		return fmt.Appendf(nil, "CEF:0|Fortinet|Fortigate|v7.2.4|00013|traffic:forward close|3|rt=%d src=10.0.0.%d dst=%s dpt=443 dvchost=fw-%d",
			at.UnixMilli(), p+1, dst, p)
	}
	sendTo := func(p int32, rows ...[]byte) { produceTo(t, addr, p, rows...) }
	// waitAlerts produces rows to every partition not yet satisfied
	// (again and again, the rows not matching before the update is
	// applied) until until(p) holds for all.
	waitAlerts := func(what string, rows func(p int32) [][]byte, until func(p int32) bool) {
		start := time.Now()
		took := map[int32]time.Duration{}
		for len(took) < partitions {
			if time.Since(start) > 30*time.Second {
				t.Fatalf("%s: only partitions %v matched", what, took)
			}
			for p := range int32(partitions) {
				if _, ok := took[p]; !ok {
					sendTo(p, rows(p)...)
				}
			}
			reader.poll(t, 100*time.Millisecond)
			for p := range int32(partitions) {
				if _, ok := took[p]; !ok && until(p) {
					took[p] = time.Since(start)
				}
			}
		}
		t.Logf("%s: per partition, time from publication to alert: %v", what, took)
	}
	hasAlert := func(p int32, value string, window time.Time) bool {
		origin := fmt.Sprintf("%s/%d:", topicEvents, p)
		for _, a := range reader.all {
			if a.MatchedValue == value && len(a.Origin) > len(origin) && a.Origin[:len(origin)] == origin &&
				a.StartTime.Truncate(time.Hour).Equal(window) {
				return true
			}
		}
		return false
	}

	w1 := testNow.Truncate(time.Hour)
	w2, w3 := w1.Add(2*time.Hour), w1.Add(4*time.Hour)
	const evil, barrier = "198.51.100.77", "198.51.100.78"
	publishIndicators(t, addr, []pipeline.IndicatorChange{ip("indicator--evil", evil, testNow)})
	waitAlerts("new indicator", func(p int32) [][]byte { return [][]byte{event(p, evil, w1)} },
		func(p int32) bool { return hasAlert(p, evil, w1) })

	// Withdraw it, then publish a barrier indicator after it on the same
	// (single-partition) topic: once the barrier matches on a partition,
	// its instance has applied the tombstone too.
	publishIndicators(t, addr, []pipeline.IndicatorChange{{ID: "indicator--evil"}, ip("indicator--barrier", barrier, testNow)})
	waitAlerts("tombstone applied", func(p int32) [][]byte { return [][]byte{event(p, barrier, w2)} },
		func(p int32) bool { return hasAlert(p, barrier, w2) })
	for p := range int32(partitions) {
		sendTo(p, event(p, evil, w3), event(p, barrier, w3))
	}
	waitAlerts("after the tombstone", func(int32) [][]byte { return nil },
		func(p int32) bool { return hasAlert(p, barrier, w3) })
	for p := range int32(partitions) {
		if hasAlert(p, evil, w3) {
			t.Errorf("partition %d: the withdrawn indicator still matched", p)
		}
	}
	for _, in := range ins {
		if ind, ok := in.inds.Store.Get("indicator--evil"); !ok || ind.Active {
			t.Errorf("%s: indicator--evil is not withdrawn", in.name)
		}
	}
}
