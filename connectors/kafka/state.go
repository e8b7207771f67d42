package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"timap/connectors/pipeline"
)

// GroupHeader is the state-topic record header naming the consumer group
// that wrote a checkpoint.
const GroupHeader = "timap-group"

// StateTopicConfig configures a StateTopic.
type StateTopicConfig struct {
	// Client says how to reach the cluster (for Load's reader).
	Client ClientConfig
	// Topic is the compacted state topic. Required.
	Topic string
	// Group is the consumer group whose checkpoints these are: written
	// in a header, and checkpoints of other groups are ignored by Load.
	Group string
	// Producer writes the checkpoints. Required.
	Producer *Producer
	// LoadIdle bounds Load's wait for end offsets when nothing arrives.
	// Default 10 s.
	LoadIdle time.Duration
	// Logger receives bad records. Default: discard.
	Logger *slog.Logger
}

// StateTopic keeps partition checkpoints in a compacted topic keyed by
// "topic/partition", value pipeline.MarshalCheckpoint's JSON, so that a
// partition's suppression state follows it to whichever instance the
// group assigns it next. It implements Checkpointer.
type StateTopic struct {
	cfg StateTopicConfig
	log *slog.Logger
}

// NewStateTopic checks cfg.
func NewStateTopic(cfg StateTopicConfig) (*StateTopic, error) {
	if cfg.Topic == "" || cfg.Producer == nil {
		return nil, errors.New("kafka: StateTopicConfig needs a Topic and a Producer")
	}
	if cfg.LoadIdle <= 0 {
		cfg.LoadIdle = 10 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &StateTopic{cfg: cfg, log: log.With("topic", cfg.Topic)}, nil
}

// Save produces the checkpoints and waits for their acknowledgement.
func (s *StateTopic) Save(ctx context.Context, cps []pipeline.Checkpoint) error {
	recs := make([]*kgo.Record, 0, len(cps))
	for _, cp := range cps {
		v, err := pipeline.MarshalCheckpoint(cp)
		if err != nil {
			return fmt.Errorf("checkpoint %s: %w", cp.Key(), err)
		}
		recs = append(recs, &kgo.Record{Topic: s.cfg.Topic, Key: []byte(cp.Key()), Value: v,
			Headers: []kgo.RecordHeader{{Key: GroupHeader, Value: []byte(s.cfg.Group)}}})
	}
	return s.cfg.Producer.cl.ProduceSync(ctx, recs...).FirstErr()
}

// Load reads the state topic to its end and returns the newest
// checkpoint of each requested partition. The topic is small when
// compacted (one record per partition), so it is read whole on every
// rebalance with a short-lived reader.
func (s *StateTopic) Load(ctx context.Context, partitions map[string][]int32) ([]pipeline.Checkpoint, error) {
	want := map[string]bool{}
	for topic, ps := range partitions {
		for _, p := range ps {
			want[pipeline.PartitionKey(topic, p)] = true
		}
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.ConsumeTopics(s.cfg.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200 * time.Millisecond),
	}, s.cfg.Client.options()...)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	latest := map[string]*kgo.Record{}
	err = readToEnd(ctx, cl, s.cfg.Topic, s.cfg.LoadIdle, s.log, func(recs []*kgo.Record) {
		for _, r := range recs {
			key := string(r.Key)
			if want[key] && header(r, GroupHeader) == s.cfg.Group {
				latest[key] = r // offset order within a partition: the last wins
			}
		}
	})
	if err != nil {
		return nil, err
	}
	var out []pipeline.Checkpoint
	for key, r := range latest {
		if r.Value == nil {
			continue // a tombstone: state deliberately reset
		}
		cp, err := pipeline.UnmarshalCheckpoint(r.Value)
		if err != nil {
			s.log.Warn("bad checkpoint skipped", "key", key, "partition", r.Partition, "offset", r.Offset, "error", err)
			continue
		}
		out = append(out, cp)
	}
	return out, nil
}
