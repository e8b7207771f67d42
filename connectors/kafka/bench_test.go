package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"timap/connectors/pipeline"
	"timap/engine"
)

// BenchmarkEndToEndLatency measures the time from producing an event to
// consuming its alert, through a running instance on the embedded broker:
// consumer group fetch, decode, match, alert production (acks=all,
// idempotent, 5 ms linger) and the alert consumer's fetch. Each event is
// in its own suppression window, so each raises an alert. Events are
// produced one at a time, 2 ms apart. Reports p50-ms and p99-ms.
//
//	go test ./connectors/kafka -run XXX -bench EndToEndLatency -benchtime 2000x
func BenchmarkEndToEndLatency(b *testing.B) {
	addr := startCluster(b, 1)
	o, _ := engine.NewObservable(engine.TypeIP, "NetworkIP", "198.51.100.77", "")
	publishIndicators(b, addr, []pipeline.IndicatorChange{{ID: "indicator--bench", Indicator: &engine.Indicator{
		IndicatorId: "indicator--bench", Active: true, ConfidenceScore: -1, Modified: testNow, Observables: []engine.Observable{o}}}})
	in := startInstance(b, addr, "bench", instanceOptions{})
	waitLive(b, 1, in)

	consumer, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topicAlerts),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer consumer.Close()
	producer, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ProducerLinger(0))
	if err != nil {
		b.Fatal(err)
	}
	defer producer.Close()

	sent := make(map[int64]time.Time, b.N) // event time (Unix ms) → produce time
	latencies := make([]time.Duration, 0, b.N)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for len(latencies) < b.N {
			fs := consumer.PollFetches(context.Background())
			now := time.Now()
			for _, r := range fs.Records() {
				var a struct{ StartTime time.Time }
				json.Unmarshal(r.Value, &a)
				if at, ok := sentAt(sent, a.StartTime.UnixMilli()); ok {
					latencies = append(latencies, now.Sub(at))
				}
			}
		}
	}()
	b.ResetTimer()
	for i := range b.N {
		at := testNow.Add(-time.Duration(b.N-i) * time.Hour) // each in a later window
		line := fmt.Appendf(nil, "CEF:0|Fortinet|Fortigate|v7.2.4|00013|traffic:forward close|3|rt=%d src=10.0.0.9 dst=198.51.100.77 dpt=443", at.UnixMilli())
		sentMu.Lock()
		sent[at.UnixMilli()] = time.Now()
		sentMu.Unlock()
		producer.Produce(context.Background(), &kgo.Record{Topic: topicEvents, Value: line}, nil)
		time.Sleep(2 * time.Millisecond)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		b.Fatalf("only %d of %d alerts consumed", len(latencies), b.N)
	}
	b.StopTimer()
	slices.Sort(latencies)
	q := func(p float64) float64 {
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// sentMu guards the benchmark's produce times, written by the producing
// loop and read by the consuming goroutine.
var sentMu sync.Mutex

func sentAt(sent map[int64]time.Time, ms int64) (time.Time, bool) {
	sentMu.Lock()
	defer sentMu.Unlock()
	at, ok := sent[ms]
	if ok {
		delete(sent, ms) // a window-close repeat is not a new alert
	}
	return at, ok
}
