package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"timap/connectors/pipeline"
)

// TopicSpec is a topic EnsureTopics creates when missing.
type TopicSpec struct {
	Name string
	// Partitions; -1 is the broker's default.
	Partitions int32
	// ReplicationFactor; -1 is the broker's default.
	ReplicationFactor int16
	// Compacted sets cleanup.policy=compact (indicator and state topics:
	// the newest record per key is kept forever).
	Compacted bool
}

// EnsureTopics creates the topics that do not exist yet; existing topics
// are left as they are. Errors name the topic.
func EnsureTopics(ctx context.Context, client ClientConfig, specs []TopicSpec) error {
	cl, err := kgo.NewClient(client.options()...)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var errs []error
	for _, s := range specs {
		var cfg map[string]*string
		if s.Compacted {
			cfg = map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}
		}
		_, err := adm.CreateTopic(ctx, s.Partitions, s.ReplicationFactor, cfg, s.Name)
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("creating topic %s: %w", s.Name, err))
		}
	}
	return errors.Join(errs...)
}

// endOffsets lists the partitions of topic that hold records, with the
// offset just past their last record. A missing topic is an error.
func endOffsets(ctx context.Context, cl *kgo.Client, topic string) (map[int32]int64, error) {
	adm := kadm.NewClient(cl)
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("topic %s: %w", topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("topic %s: %w", topic, err)
	}
	if err := ends.Error(); err != nil {
		return nil, fmt.Errorf("topic %s: %w", topic, err)
	}
	if len(ends[topic]) == 0 {
		return nil, fmt.Errorf("topic %s: %w", topic, kerr.UnknownTopicOrPartition)
	}
	out := map[int32]int64{}
	for p, e := range ends[topic] {
		if s, ok := starts.Lookup(topic, p); !ok || e.Offset > s.Offset {
			out[p] = e.Offset
		}
	}
	return out, nil
}

// readToEnd polls cl (a direct consumer of topic from the start) and
// hands every batch of records to apply until each partition has reached
// the end offset it had when readToEnd began. When nothing arrives for
// idle while partitions are still short of their end (the last records
// of a compacted partition can be cleaned away), it logs and returns.
func readToEnd(ctx context.Context, cl *kgo.Client, topic string, idle time.Duration, log *slog.Logger, apply func([]*kgo.Record)) error {
	want, err := endOffsets(ctx, cl, topic)
	if err != nil {
		return err
	}
	for len(want) > 0 {
		pctx, cancel := context.WithTimeout(ctx, idle)
		fetches := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if fetches.IsClientClosed() {
			return errors.New("client closed")
		}
		if pctx.Err() != nil && fetches.NumRecords() == 0 {
			log.Warn("topic partitions did not reach their end offsets; going on", "topic", topic, "short", want)
			return nil
		}
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				log.Warn("fetch error", "topic", t, "partition", p, "error", err)
			}
		})
		recs := fetches.Records()
		if len(recs) > 0 {
			apply(recs)
		}
		for _, r := range recs {
			if end, ok := want[r.Partition]; ok && r.Offset >= end-1 {
				delete(want, r.Partition)
			}
		}
	}
	return nil
}

// header returns the value of the first header named key.
func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// TopicsFromConfig lists the topics a configuration uses, for
// EnsureTopics: event, alert and dead-letter topics with
// kafka.partitions partitions, the indicator and state topics compacted
// with one partition (every instance reads them whole; see
// docs/deployment.md for sizing).
func TopicsFromConfig(cfg *pipeline.Config) []TopicSpec {
	k := cfg.Kafka
	if k == nil {
		return nil
	}
	rf := int16(k.ReplicationFactor)
	var specs []TopicSpec
	seen := map[string]bool{}
	add := func(name string, partitions int32, compacted bool) {
		if name != "" && !seen[name] {
			seen[name] = true
			specs = append(specs, TopicSpec{Name: name, Partitions: partitions, ReplicationFactor: rf, Compacted: compacted})
		}
	}
	for _, e := range cfg.Events {
		if e.Type == "kafka" {
			for _, t := range e.Topics {
				add(t, int32(k.Partitions), false)
			}
		}
	}
	for _, a := range cfg.Alerts {
		if a.Type == "kafka" {
			add(a.Topic, int32(k.Partitions), false)
		}
	}
	add(k.DeadLetterTopic, int32(k.Partitions), false)
	add(cfg.Indicators.Topic, 1, true)
	if cfg.State.Type == "topic" {
		add(cfg.State.Topic, 1, true)
	}
	return specs
}
