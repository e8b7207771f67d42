package kafka

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"timap/connectors/pipeline"
	"timap/engine"
)

// slowSink forwards to the real sink at most one alert every delay, with
// at most capacity unacknowledged: a slow downstream.
type slowSink struct {
	pipeline.AlertSink
	slots chan struct{}
	delay time.Duration
	acked atomic.Int64
}

func (s *slowSink) Send(ctx context.Context, key string, value []byte, done func(error)) error {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	time.Sleep(s.delay)
	return s.AlertSink.Send(ctx, key, value, func(err error) {
		s.acked.Add(1)
		done(err)
		<-s.slots
	})
}

// TestBackPressure: with a slow sink the instance matches only as fast
// as alerts are acknowledged. Every row raises one alert, so the rows
// matched (alerts sent) never run ahead of the acknowledged alerts by
// more than the sink's capacity: the lane blocks in Send, its bounded
// queue fills, and the poll loop stops fetching. Nothing is lost.
func TestBackPressure(t *testing.T) {
	addr := startCluster(t, 1)
	o, _ := engine.NewObservable(engine.TypeIP, "NetworkIP", "198.51.100.77", "")
	publishIndicators(t, addr, []pipeline.IndicatorChange{{ID: "indicator--bp", Indicator: &engine.Indicator{
		IndicatorId: "indicator--bp", Active: true, ConfidenceScore: -1, Modified: testNow, Observables: []engine.Observable{o}}}})
	const capacity, n = 4, 300
	var sink *slowSink
	in := startInstance(t, addr, "slow", instanceOptions{wrapSink: func(s pipeline.AlertSink) pipeline.AlertSink {
		sink = &slowSink{AlertSink: s, slots: make(chan struct{}, capacity), delay: 2 * time.Millisecond}
		return sink
	}})
	waitLive(t, 1, in)
	var lines [][]byte
	for i := range n {
		at := testNow.Add(-time.Duration(n-i) * time.Hour) // one alert per row
		lines = append(lines, fmt.Appendf(nil, "CEF:0|Fortinet|Fortigate|v7.2.4|00013|traffic:forward close|3|rt=%d dst=198.51.100.77", at.UnixMilli()))
	}
	produce(t, addr, 1, lines)
	ahead := int64(0)
	deadline := time.Now().Add(30 * time.Second)
	for sink.acked.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d alerts acknowledged", sink.acked.Load(), n)
		}
		acked := sink.acked.Load()
		ahead = max(ahead, in.stage.Stats().Alerts-acked)
		time.Sleep(time.Millisecond)
	}
	if ahead > capacity {
		t.Errorf("rows matched ran %d ahead of acknowledged alerts, want at most %d", ahead, capacity)
	}
	t.Logf("at most %d rows matched ahead of their acknowledged alerts", ahead)
	waitCommitted(t, addr, 10*time.Second)
}
