package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"timap/connectors/files"
	"timap/engine"
	"timap/rules"
)

var testNow = time.Date(2026, 11, 30, 10, 10, 0, 0, time.UTC)

// newTestStage returns a stage over the test indicators
// (cmd/timap/testdata/indicators.json: 203.0.113.9, evil.example, …).
func newTestStage(t testing.TB, sink AlertSink, dl DeadLetterSink) *Stage {
	t.Helper()
	store := engine.NewStore(engine.StoreOptions{})
	var inds []*engine.Indicator
	if _, err := files.LoadIndicators([]string{"../../cmd/timap/testdata/indicators.json"}, "auto", testNow,
		func(b []*engine.Indicator) { inds = append(inds, b...) }); err != nil {
		t.Fatal(err)
	}
	store.Upsert(inds...)
	rs, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	x, err := engine.NewExecutor(store, rs, engine.ExecutorOptions{Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewStage(StageConfig{Executor: x, Sink: sink, DeadLetter: dl, Now: testNow, MarkInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// hit is a CEF row to 203.0.113.9 (an IP indicator) at time at: every row
// in a new hour is a new alert.
func hit(at time.Time) []byte {
	return fmt.Appendf(nil, "CEF:0|Fortinet|Fortigate|v7.2.4|00013|traffic:forward close|3|rt=%d src=10.0.0.9 dst=203.0.113.9 dpt=443 dvchost=fw-01", at.UnixMilli())
}

// miss is a CEF row matching nothing.
func miss(at time.Time) []byte {
	return fmt.Appendf(nil, "CEF:0|Fortinet|Fortigate|v7.2.4|00013|traffic:forward close|3|rt=%d src=10.0.0.9 dst=198.51.100.200 dpt=443", at.UnixMilli())
}

func records(topic string, first int64, values ...[]byte) []Record {
	out := make([]Record, len(values))
	for i, v := range values {
		out[i] = Record{Topic: topic, Partition: 0, Offset: first + int64(i), Value: v}
	}
	return out
}

// heldSink keeps every alert and its done callback, for the test to
// acknowledge when it wants.
type heldSink struct {
	mu     sync.Mutex
	alerts []engine.Alert
	dones  []func(error)
}

func (s *heldSink) Send(ctx context.Context, key string, value []byte, done func(error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var a engine.Alert
	if err := json.Unmarshal(value, &a); err != nil {
		return err
	}
	if a.SystemAlertId != key {
		return errors.New("key is not the SystemAlertId")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alerts = append(s.alerts, a)
	s.dones = append(s.dones, done)
	return nil
}

func (s *heldSink) Flush(context.Context) error { return nil }

func (s *heldSink) ack(i int, err error) {
	s.mu.Lock()
	d := s.dones[i]
	s.mu.Unlock()
	d(err)
}

func (s *heldSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.alerts)
}

// slowSink admits at most capacity unacknowledged alerts, blocking Send
// beyond, and acknowledges each a millisecond after it was sent.
type slowSink struct {
	slots    chan struct{}
	mu       sync.Mutex
	inflight int
	maxSeen  int
}

func newSlowSink(capacity int) *slowSink { return &slowSink{slots: make(chan struct{}, capacity)} }

func (s *slowSink) Send(ctx context.Context, _ string, _ []byte, done func(error)) error {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	s.inflight++
	s.maxSeen = max(s.maxSeen, s.inflight)
	s.mu.Unlock()
	go func() {
		time.Sleep(time.Millisecond)
		s.mu.Lock()
		s.inflight--
		s.mu.Unlock()
		done(nil) // acknowledged before the slot is free, as a bounded buffer does
		<-s.slots
	}()
	return nil
}

func (s *slowSink) Flush(context.Context) error { return nil }
