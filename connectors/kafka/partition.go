package kafka

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"timap/connectors/pipeline"
)

// partition is one assigned partition: its lane, the bounded queue of
// fetched batches in front of it and the goroutine that owns the lane.
type partition struct {
	lane   *pipeline.Lane
	in     chan []pipeline.Record
	done   chan struct{}
	ctx    context.Context // the lane's produces; canceled when lost
	cancel context.CancelFunc
}

// run processes batches until in is closed (revoke: the queued batches
// are finished first) or the partition's context ends (lost, abandoned).
// Between batches, and on a timer when idle, it takes checkpoints.
func (p *partition) run(r *groupRun) {
	defer close(p.done)
	t := time.NewTicker(r.st.MarkInterval())
	defer t.Stop()
	for {
		select {
		case recs, ok := <-p.in:
			if !ok {
				return
			}
			err := p.lane.Process(p.ctx, recs)
			if err == nil {
				err = p.lane.Err()
			}
			if err != nil {
				if p.ctx.Err() == nil {
					r.failed(err)
				}
				return
			}
			p.lane.Mark(false)
		case <-t.C:
			if err := p.lane.Err(); err != nil {
				if p.ctx.Err() == nil {
					r.failed(err)
				}
				return
			}
			p.lane.Mark(false)
		case <-p.ctx.Done():
			return
		}
	}
}

// assigned creates a lane per new partition, restored from its
// checkpoint when there is one.
func (r *groupRun) assigned(ctx context.Context, _ *kgo.Client, assigned map[string][]int32) {
	var cps []pipeline.Checkpoint
	if r.g.cfg.Checkpoints != nil {
		var err error
		for attempt := 1; ; attempt++ {
			if cps, err = r.g.cfg.Checkpoints.Load(ctx, assigned); err == nil || attempt == 3 || ctx.Err() != nil {
				break
			}
			time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
		}
		if err != nil {
			// Going on without state only risks repeating alerts of
			// open windows, with the same ids.
			r.g.log.Error("loading checkpoints failed; starting without suppression state", "error", err)
			cps = nil
		}
	}
	byKey := map[tp]pipeline.Checkpoint{}
	for _, cp := range cps {
		byKey[tp{cp.Topic, cp.Partition}] = cp
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for topic, parts := range assigned {
		for _, part := range parts {
			key := tp{topic, part}
			lane := r.st.NewLane(topic, part, r.g.cfg.Routes[topic])
			if cp, ok := byKey[key]; ok {
				lane.Restore(cp)
				r.resume[key] = cp.Offset
			}
			pctx, cancel := context.WithCancel(r.laneCtx)
			p := &partition{lane: lane, in: make(chan []pipeline.Record, r.g.cfg.QueueBatches), done: make(chan struct{}), ctx: pctx, cancel: cancel}
			r.setPartition(key, p)
			go p.run(r)
			if key == r.leader && r.g.cfg.Leader != nil {
				r.g.cfg.Leader.Set(true)
			}
		}
	}
	r.g.log.Info("partitions assigned", "partitions", assigned, "restored", len(cps))
}

// adjust starts each restored partition at its checkpoint when that is
// ahead of the committed offset (a crash between saving the checkpoint
// and committing; the checkpoint's alerts are all acknowledged). A
// commit ahead of the checkpoint wins, with the checkpoint's state.
func (r *groupRun) adjust(_ context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for topic, parts := range offsets {
		for part, off := range parts {
			key := tp{topic, part}
			resume, ok := r.resume[key]
			if !ok {
				continue
			}
			delete(r.resume, key)
			if committed := off.EpochOffset().Offset; committed < 0 || resume > committed {
				parts[part] = kgo.NewOffset().At(resume).WithEpoch(-1)
			} else if committed > resume {
				r.g.log.Warn("committed offset is ahead of the checkpoint; resuming at the commit", "topic", topic,
					"partition", part, "committed", committed, "checkpoint", resume)
			}
		}
	}
	return offsets, nil
}

// revoked finishes the revoked partitions (Close revokes them all): the
// lanes finish their queued batches, every alert is acknowledged, the
// final checkpoints are saved and committed.
func (r *groupRun) revoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var cps []pipeline.Checkpoint
	for topic, parts := range revoked {
		for _, part := range parts {
			key := tp{topic, part}
			p := r.partition(key)
			if p == nil {
				continue
			}
			r.setPartition(key, nil)
			if key == r.leader && r.g.cfg.Leader != nil {
				r.g.cfg.Leader.Set(false)
			}
			close(p.in)
			<-p.done
			cp, ok, err := p.lane.Drain(p.ctx)
			p.cancel()
			switch {
			case err != nil:
				r.g.log.Warn("partition revoked with unacknowledged alerts; not committing", "topic", topic, "partition", part, "error", err)
			case ok:
				cps = append(cps, cp)
			}
		}
	}
	// Bounded: with the cluster gone, a save would retry forever.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.g.cfg.ShutdownTimeout)
	defer cancel()
	ok := r.persist(pctx, cps)
	r.g.log.Info("partitions revoked", "partitions", revoked, "checkpoints", len(cps), "committed", ok)
}

// lost abandons partitions the group took away without a revoke (session
// expired, fenced): nothing can be committed for them any more.
func (r *groupRun) lost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for topic, parts := range lost {
		for _, part := range parts {
			key := tp{topic, part}
			if p := r.partition(key); p != nil {
				p.cancel()
				r.setPartition(key, nil)
			}
			if key == r.leader && r.g.cfg.Leader != nil {
				r.g.cfg.Leader.Set(false)
			}
		}
	}
	r.g.log.Warn("partitions lost", "partitions", lost)
}

// commitError returns the request error or the first partition error of
// an offset commit.
func commitError(resp *kmsg.OffsetCommitResponse, err error) error {
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if perr := kerr.ErrorForCode(p.ErrorCode); perr != nil {
				errs = append(errs, perr)
			}
		}
	}
	return errors.Join(errs...)
}
