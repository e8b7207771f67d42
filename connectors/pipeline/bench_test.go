package pipeline_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"timap/connectors/files"
	"timap/connectors/kafka"
	"timap/connectors/pipeline"
	"timap/engine"
	"timap/rules"
)

// BenchmarkStage measures events/s through consume → decode → match →
// produce on the embedded broker (kfake, loopback): b.N CEF lines of the
// example firewall log (3,000 real vendor shapes, cycled) are produced
// to a 6-partition topic first; then one instance (consumer group, one
// lane per partition, idempotent acks=all alert producer, state topic
// checkpoints every second) consumes them. The clock runs from the first
// record processed to the last; the alerts of the first cycle are
// produced, later cycles fall in the same suppression windows.
//
//	go test ./connectors/pipeline -run XXX -bench Stage -benchtime 300000x
func BenchmarkStage(b *testing.B) {
	emb, err := kafka.StartEmbedded(kafka.EmbeddedOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer emb.Close()
	ctx := context.Background()
	client := kafka.ClientConfig{Brokers: []string{emb.Addr()}}
	err = kafka.EnsureTopics(ctx, client, []kafka.TopicSpec{
		{Name: "events", Partitions: 6, ReplicationFactor: 1},
		{Name: "alerts", Partitions: 6, ReplicationFactor: 1},
		{Name: "state", Partitions: 1, ReplicationFactor: 1, Compacted: true},
	})
	if err != nil {
		b.Fatal(err)
	}
	raw, err := os.ReadFile("../../examples/events/firewall.cef")
	if err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
	produceAll(b, emb.Addr(), lines, b.N)

	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	store := engine.NewStore(engine.StoreOptions{})
	var inds []*engine.Indicator
	files.LoadIndicators([]string{"../../examples/indicators"}, "auto", now, func(x []*engine.Indicator) { inds = append(inds, x...) })
	store.Upsert(inds...)
	rs, _ := rules.Builtin()
	x, err := engine.NewExecutor(store, rs, engine.ExecutorOptions{Grace: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	prod, err := kafka.NewProducer(ctx, kafka.ProducerConfig{Client: client})
	if err != nil {
		b.Fatal(err)
	}
	defer prod.Close(time.Second)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := pipeline.NewStage(pipeline.StageConfig{Executor: x, Sink: prod.Sink("alerts"), Now: now, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	state, _ := kafka.NewStateTopic(kafka.StateTopicConfig{Client: client, Topic: "state", Group: "bench", Producer: prod})
	src, err := kafka.NewGroupSource(kafka.GroupConfig{Client: client, Group: "bench", Routes: map[string]pipeline.Route{"events": {Format: pipeline.FormatCEF}},
		Checkpoints: state, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	b.ResetTimer()
	go func() { done <- src.Run(rctx, st) }()
	var first, last time.Time
	for {
		n := st.Stats().Records
		if n > 0 && first.IsZero() {
			first = time.Now()
		}
		if n >= int64(b.N) {
			last = time.Now()
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/last.Sub(first).Seconds(), "events/s")
	b.ReportMetric(float64(st.Stats().Alerts), "alerts")
}

// produceAll writes n records, cycling through lines, spread over the
// partitions by the default sticky partitioner.
func produceAll(b *testing.B, addr string, lines [][]byte, n int) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("events"), kgo.ProducerBatchMaxBytes(1<<20))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	for i := 0; i < n; i += 10000 {
		recs := make([]*kgo.Record, 0, 10000)
		for j := i; j < min(i+10000, n); j++ {
			recs = append(recs, &kgo.Record{Value: lines[j%len(lines)]})
		}
		if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			b.Fatal(err)
		}
	}
}
