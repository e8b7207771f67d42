package pipeline

import (
	"context"
	"sync"
)

// tracker follows the acknowledgements of one lane's alerts and turns
// checkpoints into ready ones once everything before them is acknowledged.
//
// Records are grouped in batches (one Process call). A batch is sealed
// when the lane has sent all of its alerts; batches complete in any order
// but are retired in order, and a pending checkpoint becomes ready when
// every batch sealed before it is retired. Only batches with alerts are
// queued, so an alert-free stream costs nothing here.
type tracker struct {
	mu      sync.Mutex
	batches []*ackBatch
	pending *Checkpoint // waiting for the batches sealed before it
	ready   *Checkpoint // newest checkpoint with all its alerts acknowledged
	// promoted is the last checkpoint that became ready, taken or not.
	promoted *Checkpoint
	err      error // first failed acknowledgement
	wake     chan struct{}
}

// ackBatch counts the unacknowledged alerts of one batch of records.
type ackBatch struct {
	left   int
	sealed bool
}

func (t *tracker) init() { t.wake = make(chan struct{}) }

// add registers one more alert of b and returns its done callback.
func (t *tracker) add(b *ackBatch) func(error) {
	t.mu.Lock()
	b.left++
	t.mu.Unlock()
	var once sync.Once
	return func(err error) { once.Do(func() { t.ack(b, err) }) }
}

// open queues a new batch.
func (t *tracker) open() *ackBatch {
	b := &ackBatch{}
	t.mu.Lock()
	t.batches = append(t.batches, b)
	t.mu.Unlock()
	return b
}

// unsend takes back an alert whose Send failed (done will not be called).
func (t *tracker) unsend(b *ackBatch) {
	t.mu.Lock()
	b.left--
	t.mu.Unlock()
}

// seal marks b complete: no more alerts will be added to it.
func (t *tracker) seal(b *ackBatch) {
	t.mu.Lock()
	b.sealed = true
	t.advanceLocked()
	t.mu.Unlock()
}

func (t *tracker) ack(b *ackBatch, err error) {
	t.mu.Lock()
	b.left--
	if err != nil && t.err == nil {
		t.err = err
	}
	t.advanceLocked()
	t.mu.Unlock()
}

// advanceLocked retires completed batches from the head and promotes the
// pending checkpoint when nothing sealed before it is left.
func (t *tracker) advanceLocked() {
	n := 0
	for n < len(t.batches) && t.batches[n].sealed && t.batches[n].left == 0 {
		n++
	}
	if n > 0 {
		clear(t.batches[:n])
		t.batches = t.batches[n:]
	}
	if t.pending != nil && t.err == nil && t.quietLocked() {
		t.ready, t.promoted, t.pending = t.pending, t.pending, nil
	}
	close(t.wake)
	t.wake = make(chan struct{})
}

// quietLocked reports whether every sealed batch is retired. Batches are
// sealed in order and a checkpoint is taken between batches, so this
// means every alert before the pending checkpoint is acknowledged.
func (t *tracker) quietLocked() bool {
	return len(t.batches) == 0 || !t.batches[0].sealed
}

// mark sets cp as the pending checkpoint; force replaces one already
// pending (the newer one covers it). It returns false when a checkpoint
// is already pending and force is not set.
func (t *tracker) mark(cp *Checkpoint, force bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending != nil && !force {
		return false
	}
	t.pending = cp
	t.advanceLocked()
	return true
}

// takeReady returns and clears the ready checkpoint.
func (t *tracker) takeReady() *Checkpoint {
	t.mu.Lock()
	defer t.mu.Unlock()
	cp := t.ready
	t.ready = nil
	return cp
}

// failure returns the first failed acknowledgement.
func (t *tracker) failure() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// wait blocks until cp (marked with force) is ready, an acknowledgement
// fails or ctx ends.
func (t *tracker) wait(ctx context.Context, cp *Checkpoint) error {
	for {
		t.mu.Lock()
		switch {
		case t.err != nil:
			t.mu.Unlock()
			return t.err
		case t.promoted == cp:
			if t.ready == cp {
				t.ready = nil
			}
			t.mu.Unlock()
			return nil
		case t.pending != cp:
			t.mu.Unlock()
			return errSuperseded
		}
		wake := t.wake
		t.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// unacked counts the alerts sent and not yet acknowledged.
func (t *tracker) unacked() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, b := range t.batches {
		n += b.left
	}
	return n
}
