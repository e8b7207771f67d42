package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"timap/connectors/pipeline"
)

// ProducerConfig configures a Producer.
type ProducerConfig struct {
	// Client says how to reach the cluster.
	Client ClientConfig
	// MaxBuffered is the number of records produced and not yet
	// acknowledged; Send blocks beyond it (the stage's back-pressure).
	// Default 10000.
	MaxBuffered int
	// Linger is how long a partition's batch waits for more records
	// before it is sent. Default 5 ms; negative means 0.
	Linger time.Duration
	// TopicMaxBytes raises the batch (hence record) size limit of some
	// topics above Kafka's default of 1,000,012 bytes: the state topic of
	// partitions with many open alerts. The topic's max.message.bytes
	// must allow it.
	TopicMaxBytes map[string]int32
}

// Producer is one idempotent kgo producer (acks=all, the kgo default with
// idempotence) shared by the alert sink, the dead-letter sink, the state
// topic and the indicator publisher of an instance. Retries are
// unbounded: a record fails only when its context is canceled or the
// client is closed.
type Producer struct {
	cl *kgo.Client
}

// NewProducer connects a producer; it fails when no broker answers.
func NewProducer(ctx context.Context, cfg ProducerConfig) (*Producer, error) {
	if cfg.MaxBuffered <= 0 {
		cfg.MaxBuffered = 10000
	}
	if cfg.Linger == 0 {
		cfg.Linger = 5 * time.Millisecond
	} else if cfg.Linger < 0 {
		cfg.Linger = 0
	}
	opts := append([]kgo.Opt{
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.MaxBufferedRecords(cfg.MaxBuffered),
		kgo.ProducerLinger(cfg.Linger),
		kgo.ProducerBatchCompression(kgo.Lz4Compression(), kgo.NoCompression()),
		kgo.ProducerBatchMaxBytesFn(func(topic string) int32 {
			if n, ok := cfg.TopicMaxBytes[topic]; ok && n > 1000012 {
				return n
			}
			return 1000012
		}),
	}, cfg.Client.options()...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	if err := ping(ctx, cl); err != nil {
		cl.Close()
		return nil, err
	}
	return &Producer{cl: cl}, nil
}

// Client returns the underlying kgo client.
func (p *Producer) Client() *kgo.Client { return p.cl }

// Flush waits until every record produced so far is acknowledged or
// failed, or ctx ends.
func (p *Producer) Flush(ctx context.Context) error { return p.cl.Flush(ctx) }

// Close flushes for at most timeout and closes the client.
func (p *Producer) Close(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	p.cl.Flush(ctx)
	p.cl.Close()
}

// Sink returns an AlertSink (and DeadLetterSink) producing to topic.
func (p *Producer) Sink(topic string) *TopicSink { return &TopicSink{p: p, topic: topic} }

// TopicSink produces alerts to one topic, keyed by SystemAlertId so that
// every version of an alert (first emission, window-close update, a
// replay's duplicate) lands in the same partition, in order, and a
// compacted topic keeps the last one.
type TopicSink struct {
	p     *Producer
	topic string
}

// Topic returns the sink's topic.
func (s *TopicSink) Topic() string { return s.topic }

// Send produces one alert. It blocks while MaxBuffered records are in
// flight. Failures (ctx canceled while waiting, client closed) are
// reported through done, never returned: kgo reports every outcome
// through the record's promise.
func (s *TopicSink) Send(ctx context.Context, key string, value []byte, done func(error)) error {
	s.p.cl.Produce(ctx, &kgo.Record{Topic: s.topic, Key: []byte(key), Value: value}, func(_ *kgo.Record, err error) { done(err) })
	return nil
}

// MaxDeadLetterBytes is the most of a bad record's value copied to the
// dead-letter topic (its "timap-truncated" header gives the full length).
const MaxDeadLetterBytes = 64 << 10

// SendDeadLetter produces a record that could not be decoded, with its
// original key and value and two headers: "timap-origin"
// (topic/partition:offset) and "timap-error" (the reason).
func (s *TopicSink) SendDeadLetter(ctx context.Context, rec *pipeline.Record, reason error, done func(error)) error {
	origin := fmt.Sprintf("%s:%d", pipeline.PartitionKey(rec.Topic, rec.Partition), rec.Offset)
	value, key := rec.Value, rec.Key
	headers := []kgo.RecordHeader{
		{Key: "timap-origin", Value: []byte(origin)},
		{Key: "timap-error", Value: []byte(reason.Error())},
	}
	if len(value)+len(key) > MaxDeadLetterBytes {
		// A record too large for the dead-letter topic would stop the
		// partition: keep its start and say how long it was.
		headers = append(headers, kgo.RecordHeader{Key: "timap-truncated", Value: []byte(fmt.Sprintf("%d bytes", len(value)))})
		value = value[:min(len(value), MaxDeadLetterBytes)]
		key = key[:min(len(key), 1024)]
	}
	r := &kgo.Record{
		Topic:   s.topic,
		Key:     append([]byte(nil), key...),
		Value:   append([]byte(nil), value...),
		Headers: headers,
	}
	s.p.cl.Produce(ctx, r, func(_ *kgo.Record, err error) { done(err) })
	return nil
}

// Flush waits for every record of the producer to be acknowledged.
func (s *TopicSink) Flush(ctx context.Context) error { return s.p.Flush(ctx) }
