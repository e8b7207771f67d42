package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"timap/connectors/pipeline"
)

// Checkpointer keeps partition checkpoints (offset and suppression
// state) across rebalances and restarts. StateTopic and
// pipeline.FileCheckpoints implement it.
type Checkpointer interface {
	// Load returns the newest checkpoint of each partition that has one.
	Load(ctx context.Context, partitions map[string][]int32) ([]pipeline.Checkpoint, error)
	// Save stores checkpoints durably before their offsets are committed.
	Save(ctx context.Context, cps []pipeline.Checkpoint) error
}

// GroupConfig configures a GroupSource.
type GroupConfig struct {
	// Client says how to reach the cluster.
	Client ClientConfig
	// Group is the consumer group. Required.
	Group string
	// Routes maps each event topic to how its records are decoded; the
	// source consumes exactly these topics. Required.
	Routes map[string]pipeline.Route
	// StartOffset is where a partition without a committed offset or a
	// checkpoint starts: "earliest" (default) or "latest".
	StartOffset string
	// SessionTimeout, HeartbeatInterval and RebalanceTimeout are the
	// group timers. Defaults 45 s, 3 s, 60 s (kgo's). A member that
	// stops heartbeating loses its partitions after SessionTimeout.
	SessionTimeout, HeartbeatInterval, RebalanceTimeout time.Duration
	// QueueBatches is how many fetched batches may wait per partition
	// for its lane. Default 4.
	QueueBatches int
	// MaxPollRecords bounds the records taken per poll. Default 1000.
	MaxPollRecords int
	// Checkpoints keeps suppression state; nil commits offsets only (the
	// state is then lost on a rebalance: alerts of open windows may be
	// emitted again, with the same ids).
	Checkpoints Checkpointer
	// ShutdownTimeout bounds the orderly stop after ctx is done:
	// finishing queued batches, acknowledgements, checkpoints, commits.
	// Default 30 s; past it the lanes are abandoned uncommitted.
	ShutdownTimeout time.Duration
	// Leader, when set, is told whether this member holds partition 0 of
	// the first event topic (in sorted order): the group's election of
	// the instance that runs the pull sources.
	Leader *pipeline.Leadership
	// Logger receives rebalances and errors. Default: discard.
	Logger *slog.Logger
}

// GroupSource consumes event topics in a consumer group: each member
// processes the partitions assigned to it, one goroutine and one
// pipeline.Lane per partition, and commits a partition's offset only
// after its checkpoint is ready (every alert before it acknowledged) and
// saved. It implements pipeline.EventSource.
type GroupSource struct {
	cfg GroupConfig
	log *slog.Logger
}

// NewGroupSource checks cfg and fills its defaults.
func NewGroupSource(cfg GroupConfig) (*GroupSource, error) {
	if cfg.Group == "" || len(cfg.Routes) == 0 || len(cfg.Client.Brokers) == 0 {
		return nil, errors.New("kafka: GroupConfig needs brokers, a group and topics")
	}
	switch cfg.StartOffset {
	case "":
		cfg.StartOffset = "earliest"
	case "earliest", "latest":
	default:
		return nil, fmt.Errorf("kafka: start offset %q: want earliest or latest", cfg.StartOffset)
	}
	if cfg.QueueBatches <= 0 {
		cfg.QueueBatches = 4
	}
	if cfg.MaxPollRecords <= 0 {
		cfg.MaxPollRecords = 1000
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &GroupSource{cfg: cfg, log: log.With("group", cfg.Group)}, nil
}

// Name returns "kafka group <group>".
func (g *GroupSource) Name() string { return "kafka group " + g.cfg.Group }

// Topics returns the consumed topics, sorted.
func (g *GroupSource) Topics() []string { return sortedTopics(g.cfg.Routes) }

func sortedTopics(routes map[string]pipeline.Route) []string {
	ts := make([]string, 0, len(routes))
	for t := range routes {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts
}

// tp is a topic partition.
type tp struct {
	topic string
	part  int32
}

// groupRun is the state of one Run.
type groupRun struct {
	g      *GroupSource
	st     *pipeline.Stage
	cl     *kgo.Client
	leader tp

	// laneCtx is given to lanes and their produces; it ends only
	// ShutdownTimeout after the stop (an abandoned shutdown), so that an
	// orderly stop can still produce.
	laneCtx    context.Context
	cancelLane context.CancelFunc

	// mu serialises commits and rebalance callbacks, so that nothing is
	// committed for a partition once revoked. mapMu guards parts alone,
	// so that the poll loop never waits for a commit.
	mu     sync.Mutex
	mapMu  sync.Mutex
	parts  map[tp]*partition
	resume map[tp]int64

	failOnce sync.Once
	failErr  error
	fail     chan struct{}
}

// Run joins the group and processes assigned partitions until ctx is
// done or a lane fails (a sink that refused alerts). On ctx it stops
// fetching, lets the lanes finish their queued batches, waits for the
// acknowledgements, saves checkpoints, commits and leaves the group.
func (g *GroupSource) Run(ctx context.Context, st *pipeline.Stage) error {
	topics := g.Topics()
	r := &groupRun{g: g, st: st, leader: tp{topics[0], 0}, parts: map[tp]*partition{}, resume: map[tp]int64{}, fail: make(chan struct{})}
	r.laneCtx, r.cancelLane = context.WithCancel(context.WithoutCancel(ctx))
	defer r.cancelLane()

	start := kgo.NewOffset().AtStart()
	if g.cfg.StartOffset == "latest" {
		start = kgo.NewOffset().AtEnd()
	}
	opts := []kgo.Opt{
		kgo.ConsumerGroup(g.cfg.Group),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(start),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(r.assigned),
		kgo.OnPartitionsRevoked(r.revoked),
		kgo.OnPartitionsLost(r.lost),
		kgo.AdjustFetchOffsetsFn(r.adjust),
	}
	if g.cfg.SessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(g.cfg.SessionTimeout))
	}
	if g.cfg.HeartbeatInterval > 0 {
		opts = append(opts, kgo.HeartbeatInterval(g.cfg.HeartbeatInterval))
	}
	if g.cfg.RebalanceTimeout > 0 {
		opts = append(opts, kgo.RebalanceTimeout(g.cfg.RebalanceTimeout))
	}
	cl, err := kgo.NewClient(append(opts, g.cfg.Client.options()...)...)
	if err != nil {
		return err
	}
	r.cl = cl
	if err := ping(ctx, cl); err != nil {
		cl.Close()
		return err
	}
	g.log.Info("joining consumer group", "topics", topics)

	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	go func() {
		select {
		case <-r.fail:
			stopPoll()
		case <-pollCtx.Done():
		}
	}()
	var commitWG sync.WaitGroup
	commitWG.Go(func() { r.commitLoop(pollCtx) })

	r.poll(pollCtx)

	// Orderly stop: no more fetching; Close leaves the group, which
	// revokes every partition through r.revoked (drain, save, commit).
	stopPoll()
	commitWG.Wait()
	abandon := time.AfterFunc(g.cfg.ShutdownTimeout, r.cancelLane)
	defer abandon.Stop()
	cl.AllowRebalance()
	cl.Close()
	if g.cfg.Leader != nil {
		g.cfg.Leader.Set(false)
	}
	g.log.Info("left consumer group")
	return r.failErr
}

// poll fetches and hands each partition's records to its lane until ctx
// is done. The sends block while a lane's queue is full: that is how a
// slow sink slows consumption.
func (r *groupRun) poll(ctx context.Context) {
	for {
		fetches := r.cl.PollRecords(ctx, r.g.cfg.MaxPollRecords)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			r.cl.AllowRebalance()
			return
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				r.g.log.Error("fetch error", "topic", topic, "partition", p, "error", err)
			}
		})
		stopped := false
		fetches.EachPartition(func(f kgo.FetchTopicPartition) {
			if stopped || len(f.Records) == 0 {
				return
			}
			p := r.partition(tp{f.Topic, f.Partition})
			if p == nil {
				return // not ours any more; the next owner reads it
			}
			recs := make([]pipeline.Record, len(f.Records))
			for i, kr := range f.Records {
				recs[i] = pipeline.Record{Topic: kr.Topic, Partition: kr.Partition, Offset: kr.Offset,
					Key: kr.Key, Value: kr.Value, Timestamp: kr.Timestamp}
			}
			select {
			case p.in <- recs:
			case <-ctx.Done():
				stopped = true
			}
		})
		r.cl.AllowRebalance()
		if stopped {
			return
		}
	}
}

// partition returns the partition of key, or nil when not assigned.
func (r *groupRun) partition(key tp) *partition {
	r.mapMu.Lock()
	defer r.mapMu.Unlock()
	return r.parts[key]
}

// setPartition assigns (p non-nil) or forgets key.
func (r *groupRun) setPartition(key tp, p *partition) {
	r.mapMu.Lock()
	defer r.mapMu.Unlock()
	if p == nil {
		delete(r.parts, key)
	} else {
		r.parts[key] = p
	}
}

// failed records the first lane failure and stops polling.
func (r *groupRun) failed(err error) {
	r.failOnce.Do(func() {
		r.failErr = err
		r.g.log.Error("lane failed; stopping without committing it", "error", err)
		close(r.fail)
	})
}

// commitLoop saves and commits ready checkpoints every MarkInterval.
func (r *groupRun) commitLoop(ctx context.Context) {
	t := time.NewTicker(r.st.MarkInterval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		var cps []pipeline.Checkpoint
		r.mapMu.Lock()
		for _, p := range r.parts {
			if cp, ok := p.lane.Ready(); ok {
				cps = append(cps, cp)
			}
		}
		r.mapMu.Unlock()
		r.persist(ctx, cps)
		r.mu.Unlock()
	}
}

// persist saves cps and then commits their offsets; r.mu is held. A
// failed save commits nothing: the partitions are replayed from the
// previous commit after a crash, with the same alert ids. It reports
// whether the commit succeeded.
func (r *groupRun) persist(ctx context.Context, cps []pipeline.Checkpoint) bool {
	if len(cps) == 0 {
		return true
	}
	if r.g.cfg.Checkpoints != nil {
		if err := r.g.cfg.Checkpoints.Save(ctx, cps); err != nil {
			r.g.log.Error("saving checkpoints failed; not committing", "error", err)
			return false
		}
	}
	offsets := map[string]map[int32]kgo.EpochOffset{}
	for _, cp := range cps {
		if offsets[cp.Topic] == nil {
			offsets[cp.Topic] = map[int32]kgo.EpochOffset{}
		}
		offsets[cp.Topic][cp.Partition] = kgo.EpochOffset{Epoch: -1, Offset: cp.Offset}
	}
	var cerr error
	r.cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		cerr = commitError(resp, err)
	})
	if cerr != nil {
		if ctx.Err() == nil {
			r.g.log.Warn("commit failed", "error", cerr)
		}
		return false
	}
	return true
}
