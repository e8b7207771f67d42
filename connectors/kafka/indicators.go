package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"timap/connectors/pipeline"
)

// SourceHeader is the record header naming the configured source that
// published an indicator (see pipeline.IndicatorChange.Source).
const SourceHeader = "timap-source"

// IndicatorTopicConfig configures an IndicatorTopic.
type IndicatorTopicConfig struct {
	// Client says how to reach the cluster.
	Client ClientConfig
	// Topic is the indicator topic: compacted, keyed by IndicatorId,
	// value EncodeIndicator's JSON, null value = withdrawal. Required.
	Topic string
	// Indicators receives what is read. Required.
	Indicators *pipeline.Indicators
	// Producer publishes WriteIndicators' records; nil makes the topic
	// read-only.
	Producer *Producer
	// SyncIdle bounds the wait for the end offsets in Sync when nothing
	// arrives (a compacted tail). Default 10 s.
	SyncIdle time.Duration
	// Logger receives bad records and progress. Default: discard.
	Logger *slog.Logger
}

// IndicatorTopic is the replicated indicator log. Every instance reads it
// from the beginning (Sync) and then follows it (Follow), applying each
// record to its Indicators in offset order per partition; the elected
// instance publishes its pull sources' changes to it (WriteIndicators).
// It implements pipeline.IndicatorFeed and pipeline.IndicatorWriter.
type IndicatorTopic struct {
	cfg     IndicatorTopicConfig
	log     *slog.Logger
	cl      *kgo.Client
	applied atomic.Int64
	bad     atomic.Int64
}

// NewIndicatorTopic connects a reader of the topic (no consumer group:
// every instance reads every partition).
func NewIndicatorTopic(ctx context.Context, cfg IndicatorTopicConfig) (*IndicatorTopic, error) {
	if cfg.Topic == "" || cfg.Indicators == nil {
		return nil, errors.New("kafka: IndicatorTopicConfig needs a Topic and Indicators")
	}
	if cfg.SyncIdle <= 0 {
		cfg.SyncIdle = 10 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	opts := append([]kgo.Opt{
		kgo.ConsumeTopics(cfg.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(500 * time.Millisecond),
	}, cfg.Client.options()...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	if err := ping(ctx, cl); err != nil {
		cl.Close()
		return nil, err
	}
	return &IndicatorTopic{cfg: cfg, log: log.With("topic", cfg.Topic), cl: cl}, nil
}

// Close closes the reader.
func (t *IndicatorTopic) Close() { t.cl.Close() }

// Counts returns the records applied and the bad records skipped.
func (t *IndicatorTopic) Counts() (applied, bad int64) { return t.applied.Load(), t.bad.Load() }

// Sync reads the topic up to the end offsets it has when Sync starts.
// A missing topic is an error.
func (t *IndicatorTopic) Sync(ctx context.Context) error {
	return readToEnd(ctx, t.cl, t.cfg.Topic, t.cfg.SyncIdle, t.log, t.apply)
}

// Follow applies records as they arrive until ctx is done; it then
// returns nil.
func (t *IndicatorTopic) Follow(ctx context.Context) error {
	for {
		fetches := t.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if fetches.IsClientClosed() {
			return errors.New("indicator topic reader closed")
		}
		fetches.EachError(func(topic string, p int32, err error) {
			t.log.Warn("fetch error", "partition", p, "error", err)
		})
		if recs := fetches.Records(); len(recs) > 0 {
			t.apply(recs)
		}
	}
}

// apply decodes records into changes, in order, and applies them. A
// record that cannot be decoded is counted, logged with its
// partition/offset and skipped.
func (t *IndicatorTopic) apply(recs []*kgo.Record) {
	changes := make([]pipeline.IndicatorChange, 0, len(recs))
	for _, r := range recs {
		id := string(r.Key)
		c := pipeline.IndicatorChange{ID: id, Source: header(r, SourceHeader)}
		var err error
		switch {
		case id == "":
			err = errors.New("record without a key (the IndicatorId)")
		case r.Value != nil:
			c.Indicator, err = DecodeIndicator(r.Value)
			if err == nil && c.Indicator.IndicatorId != id {
				err = fmt.Errorf("key %q differs from IndicatorId %q", id, c.Indicator.IndicatorId)
			}
		}
		if err != nil {
			if n := t.bad.Add(1); n <= 20 || n%1000 == 0 {
				t.log.Warn("bad indicator record skipped", "partition", r.Partition, "offset", r.Offset, "error", err, "bad_total", n)
			}
			continue
		}
		changes = append(changes, c)
	}
	res := t.cfg.Indicators.Apply(changes)
	t.applied.Add(int64(len(changes)))
	t.log.Debug("indicator records applied", "records", len(changes), "added", res.Added, "updated", res.Updated,
		"revoked", res.Revoked, "stale", res.Stale, "deleted", res.Deleted)
}

// writeChunk bounds the records encoded and in flight per ProduceSync.
const writeChunk = 4096

// WriteIndicators publishes changes: key IndicatorId, value
// EncodeIndicator's JSON (null for a withdrawal), header SourceHeader.
// It returns when all are acknowledged, or with the first error.
func (t *IndicatorTopic) WriteIndicators(ctx context.Context, changes []pipeline.IndicatorChange) error {
	if t.cfg.Producer == nil {
		return errors.New("kafka: indicator topic opened without a producer")
	}
	for len(changes) > 0 {
		n := min(len(changes), writeChunk)
		recs := make([]*kgo.Record, 0, n)
		for _, c := range changes[:n] {
			r := &kgo.Record{Topic: t.cfg.Topic, Key: []byte(c.ID)}
			if c.Source != "" {
				r.Headers = []kgo.RecordHeader{{Key: SourceHeader, Value: []byte(c.Source)}}
			}
			if c.Indicator != nil {
				v, err := EncodeIndicator(c.Indicator)
				if err != nil {
					return fmt.Errorf("indicator %s: %w", c.ID, err)
				}
				r.Value = v
			}
			recs = append(recs, r)
		}
		if err := t.cfg.Producer.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			return fmt.Errorf("publishing to %s: %w", t.cfg.Topic, err)
		}
		changes = changes[n:]
	}
	return nil
}
