package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"timap/connectors/cef"
	"timap/connectors/tabular"
	"timap/engine"
)

// utf8BOM starts lines written by some Windows tools.
var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// errSuperseded is returned by a wait on a checkpoint a newer one
// replaced.
var errSuperseded = errors.New("pipeline: checkpoint superseded")

// badLogFirst and badLogEvery bound bad-record logging per lane: the
// first badLogFirst are logged, then one in badLogEvery, so a stream of
// garbage cannot flood the log (all are counted).
const (
	badLogFirst = 20
	badLogEvery = 1000
)

// Lane decodes, matches and aggregates the records of one stream in
// order and sends their alerts to the stage's sink. It owns a cef.Parser,
// an engine.Matcher and an engine.Aggregator, so it must be used by one
// goroutine at a time; Ready and Unacked may be called from any
// goroutine.
type Lane struct {
	st     *Stage
	topic  string
	part   int32
	origin string
	route  Route
	parser cef.Parser
	json   tabular.Decoder
	m      *engine.Matcher
	anyCol engine.ColumnSet // columns of every table: NDJSON rows name their own
	agg    *engine.Aggregator
	ev     engine.Event
	// next is the offset after the last record processed; -1 before the
	// first one when the start offset is unknown.
	next int64
	// marked is the offset of the last checkpoint taken.
	marked   int64
	lastMark time.Time
	tr       tracker

	// Per call of Process or ProcessEvent.
	ctx     context.Context
	batch   *ackBatch
	sendErr error
	now     time.Time
	bad     int64
}

// Topic returns the lane's topic (or stream name).
func (l *Lane) Topic() string { return l.topic }

// Partition returns the lane's partition.
func (l *Lane) Partition() int32 { return l.part }

// Next returns the offset after the last record processed, or -1.
func (l *Lane) Next() int64 { return l.next }

// SetNext sets the offset the lane expects next: records before it are
// skipped as already processed (a fetch that overlaps a restore). -1
// accepts any offset.
func (l *Lane) SetNext(offset int64) { l.next, l.marked = offset, offset }

// Restore replaces the lane's suppression state and position with cp's.
// The next Mark takes a checkpoint even before any record, so a
// checkpoint saved but not committed (a crash in between) is committed
// promptly.
func (l *Lane) Restore(cp Checkpoint) {
	l.agg.Restore(cp.State)
	l.next, l.marked = cp.Offset, -1
}

// Process decodes and matches recs, in order, and sends the alerts they
// cause. Records before Next are skipped. Records that cannot be decoded
// are counted, logged with topic/partition/offset and sent to the
// dead-letter sink; they never stop the lane. Process blocks while the
// sink is full. It returns an error only when the sink refuses an alert
// (ctx done, sink closed): the lane must then be abandoned without
// committing.
func (l *Lane) Process(ctx context.Context, recs []Record) error {
	l.begin(ctx)
	var n, matches int64
	for i := range recs {
		rec := &recs[i]
		if l.next >= 0 && rec.Offset < l.next {
			continue
		}
		l.next = rec.Offset + 1
		if err := l.decode(rec); err != nil {
			l.badRecord(rec, err)
			if l.sendErr != nil {
				break
			}
			continue
		}
		n++
		l.ev.Origin, l.ev.Offset = l.origin, rec.Offset
		matches += int64(l.m.Match(&l.ev, l.now, l.add))
		if l.sendErr != nil {
			break
		}
	}
	return l.end(n, matches)
}

// ProcessEvent matches one row another decoder filled in (FileSource
// uses connectors/files, so that files read exactly as `timap match`
// reads them). ev.Origin and ev.Offset are kept. Alerts are sent at once;
// call Seal after a group of rows so their acknowledgements are tracked
// as one batch.
func (l *Lane) ProcessEvent(ctx context.Context, ev *engine.Event) error {
	if l.ctx == nil {
		l.begin(ctx)
	}
	l.next = ev.Offset + 1
	matches := l.m.Match(ev, l.now, l.add)
	l.st.stats.records.Add(1)
	l.st.stats.matches.Add(int64(matches))
	return l.sendErr
}

// Seal closes the batch ProcessEvent calls started.
func (l *Lane) Seal() error { return l.end(0, 0) }

// BadRow counts a row another decoder refused (connectors/files'
// LineError), logging it like a bad record.
func (l *Lane) BadRow(err error) {
	l.st.stats.bad.Add(1)
	l.bad++
	if l.bad <= badLogFirst || l.bad%badLogEvery == 0 {
		l.st.log.Warn("bad row", "error", err, "bad_in_stream", l.bad)
	}
}

func (l *Lane) begin(ctx context.Context) {
	l.ctx, l.batch, l.sendErr = ctx, nil, nil
	l.now = l.st.now()
}

func (l *Lane) end(records, matches int64) error {
	if l.batch != nil {
		l.tr.seal(l.batch)
	}
	l.ctx, l.batch = nil, nil
	l.st.stats.records.Add(records)
	l.st.stats.matches.Add(matches)
	return l.sendErr
}

// decode fills l.ev from one record.
func (l *Lane) decode(rec *Record) error {
	line := bytes.TrimSpace(bytes.TrimPrefix(rec.Value, utf8BOM))
	if len(line) == 0 {
		return errors.New("empty record")
	}
	format := l.route.Format
	if format == FormatAuto {
		format = FormatCEF
		if line[0] == '{' {
			format = FormatNDJSON
		}
	}
	x := l.st.cfg.Executor
	if format == FormatNDJSON {
		// The row's own Type key decides its table, so decode every column
		// any table's rules need.
		l.ev.Reset(l.route.Table)
		if err := l.json.Decode(line, &l.ev, l.anyCol, l.origin, rec.Offset); err != nil {
			return err
		}
		if l.ev.TimeGenerated.IsZero() {
			l.ev.TimeGenerated = l.rowTime(rec)
		}
		return nil
	}
	l.ev.Reset(cef.Table)
	// Rows without rt or a syslog time get the record's time, so that a
	// replay lands in the same window; year-less stamps take its year.
	l.parser.Now = l.rowTime(rec)
	return l.parser.Decode(line, &l.ev, x.Needs(cef.Table))
}

// rowTime is the time of a row that carries none.
func (l *Lane) rowTime(rec *Record) time.Time {
	switch {
	case !l.st.cfg.Now.IsZero():
		return l.st.cfg.Now
	case !rec.Timestamp.IsZero():
		return rec.Timestamp.UTC()
	}
	return time.Now().UTC()
}

func (l *Lane) badRecord(rec *Record, err error) {
	rerr := &RecordError{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Err: err}
	l.BadRow(rerr)
	dl := l.st.cfg.DeadLetter
	if dl == nil {
		return
	}
	b := l.openBatch()
	done := l.tr.add(b)
	if serr := dl.SendDeadLetter(l.ctx, rec, rerr, done); serr != nil {
		l.tr.unsend(b)
		l.sendErr = fmt.Errorf("dead-letter %s: %w", rerr, serr)
		return
	}
	l.st.stats.deadLetters.Add(1)
}

func (l *Lane) openBatch() *ackBatch {
	if l.batch == nil {
		l.batch = l.tr.open()
	}
	return l.batch
}

// add is the matcher's callback: count the match into its window.
func (l *Lane) add(m *engine.Match) {
	if l.sendErr != nil {
		return
	}
	if err := l.agg.Add(m); err != nil && l.sendErr == nil {
		l.sendErr = err
	}
}

// MaxAlertBytes is the largest encoded alert sent as is; larger ones are
// sent Shrunk. Kafka's default max.message.bytes is about 1 MB.
const MaxAlertBytes = 512 << 10

// sendAlert is the aggregator's callback. The alert is encoded at once:
// the aggregator keeps counting into the same *Alert afterwards.
func (l *Lane) sendAlert(a *engine.Alert) error {
	value, err := json.Marshal(a)
	if err == nil && len(value) > MaxAlertBytes {
		// A huge log line must not make the alert undeliverable (and stop
		// the partition): send it with its long values cut.
		value, err = json.Marshal(a.Shrunk())
	}
	if err != nil {
		return fmt.Errorf("alert %s: %w", a.SystemAlertId, err)
	}
	ctx := l.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	b := l.openBatch()
	done := l.tr.add(b)
	if err := l.st.cfg.Sink.Send(ctx, a.SystemAlertId, value, done); err != nil {
		l.tr.unsend(b)
		return fmt.Errorf("alert %s: %w", a.SystemAlertId, err)
	}
	l.st.stats.alerts.Add(1)
	return nil
}

// Mark takes a checkpoint at the current position when the lane moved
// since the last one and MarkInterval has passed (force: in any case).
// The checkpoint becomes ready (see Ready) once every alert before it is
// acknowledged. It returns whether a checkpoint was taken; at most one
// waits at a time unless force is set.
func (l *Lane) Mark(force bool) bool {
	if l.next < 0 || (l.next == l.marked && !force) {
		return false
	}
	if !force && time.Since(l.lastMark) < l.st.cfg.MarkInterval {
		return false
	}
	cp := l.checkpoint()
	if !l.tr.mark(cp, force) {
		return false
	}
	l.marked, l.lastMark = l.next, time.Now()
	return true
}

func (l *Lane) checkpoint() *Checkpoint {
	return &Checkpoint{Topic: l.topic, Partition: l.part, Offset: l.next, State: l.agg.State()}
}

// Ready returns the newest checkpoint whose alerts are all acknowledged,
// once: the source saves it and commits its offset. Safe from any
// goroutine.
func (l *Lane) Ready() (Checkpoint, bool) {
	if cp := l.tr.takeReady(); cp != nil {
		return *cp, true
	}
	return Checkpoint{}, false
}

// Drain takes a final checkpoint at the current position and waits until
// every alert sent is acknowledged, then returns it (ok false when the
// lane has processed nothing). It fails when an acknowledgement failed or
// ctx ends first; the caller must then not commit.
func (l *Lane) Drain(ctx context.Context) (cp Checkpoint, ok bool, err error) {
	if l.next < 0 {
		return Checkpoint{}, false, l.tr.failure()
	}
	c := l.checkpoint()
	l.tr.mark(c, true)
	l.marked = l.next
	if err := l.tr.wait(ctx, c); err != nil {
		return Checkpoint{}, false, err
	}
	return *c, true, nil
}

// Flush emits the final counts of every open alert (window-close
// updates) and forgets the suppression state. Sources without
// checkpoints call it at the end of their input; partitions with
// checkpoints do not, since the next owner restores the state.
func (l *Lane) Flush(ctx context.Context) error {
	l.begin(ctx)
	err := l.agg.Flush()
	if serr := l.end(0, 0); err == nil {
		err = serr
	}
	return err
}

// Err returns the first failed acknowledgement of the lane's alerts.
func (l *Lane) Err() error { return l.tr.failure() }

// Unacked counts the alerts sent and not yet acknowledged.
func (l *Lane) Unacked() int { return l.tr.unacked() }

// OpenAlerts counts the alerts whose window is still open.
func (l *Lane) OpenAlerts() int { return l.agg.Open() }
