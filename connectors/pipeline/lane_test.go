package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"timap/rules"
)

// TestLaneCheckpointWaitsForAcks: a checkpoint becomes ready only when
// every alert of every record before it is acknowledged, whatever order
// the acknowledgements come in.
func TestLaneCheckpointWaitsForAcks(t *testing.T) {
	sink := &heldSink{}
	st := newTestStage(t, sink, nil)
	lane := st.NewLane("fw", 0, Route{})
	ctx := context.Background()
	t0 := testNow.Add(-5 * time.Hour)
	if err := lane.Process(ctx, records("fw", 0, hit(t0), miss(t0), hit(t0.Add(time.Hour)))); err != nil {
		t.Fatal(err)
	}
	if err := lane.Process(ctx, records("fw", 3, hit(t0.Add(2*time.Hour)), miss(t0))); err != nil {
		t.Fatal(err)
	}
	if sink.count() != 3 {
		t.Fatalf("%d alerts sent, want 3 (one per hour)", sink.count())
	}
	if !lane.Mark(true) {
		t.Fatal("no checkpoint taken")
	}
	if _, ok := lane.Ready(); ok {
		t.Fatal("checkpoint ready before any acknowledgement")
	}
	sink.ack(2, nil) // the second batch first
	sink.ack(0, nil)
	if _, ok := lane.Ready(); ok {
		t.Fatal("checkpoint ready with alert 1 unacknowledged")
	}
	sink.ack(1, nil)
	cp, ok := lane.Ready()
	if !ok || cp.Offset != 5 || cp.Topic != "fw" || len(cp.State.Open) == 0 {
		t.Fatalf("ready checkpoint %+v %v", cp, ok)
	}
	if lane.Unacked() != 0 {
		t.Errorf("%d unacknowledged", lane.Unacked())
	}

	// A failed acknowledgement poisons the lane: nothing after it may be
	// committed.
	if err := lane.Process(ctx, records("fw", 5, hit(t0.Add(3*time.Hour)))); err != nil {
		t.Fatal(err)
	}
	sink.ack(3, errors.New("broker gone"))
	if _, _, err := lane.Drain(ctx); err == nil || lane.Err() == nil {
		t.Errorf("drain after a failed acknowledgement: %v", err)
	}
}

// TestLaneRestore: a lane restored from a checkpoint skips records before
// it and keeps suppressing the alerts that were open.
func TestLaneRestore(t *testing.T) {
	sink := &heldSink{}
	st := newTestStage(t, sink, nil)
	ctx := context.Background()
	t0 := testNow.Add(-2 * time.Hour)
	a := st.NewLane("fw", 0, Route{})
	a.Process(ctx, records("fw", 0, hit(t0), miss(t0)))
	sink.ack(0, nil)
	cp, ok, err := a.Drain(ctx)
	if err != nil || !ok || cp.Offset != 2 {
		t.Fatalf("drain: %+v %v %v", cp, ok, err)
	}
	b, err := UnmarshalCheckpoint(must(MarshalCheckpoint(cp)))
	if err != nil {
		t.Fatal(err)
	}
	lane := st.NewLane("fw", 0, Route{})
	lane.Restore(b)
	// Offsets 0 and 1 again (an overlapping fetch), then the same row at
	// offset 2: counted into the open alert, not alerted again.
	lane.Process(ctx, records("fw", 0, hit(t0), miss(t0), hit(t0.Add(time.Minute))))
	if sink.count() != 1 {
		t.Fatalf("%d alerts after the restore, want still 1", sink.count())
	}
	if lane.Next() != 3 || st.Stats().Records != 3 {
		t.Errorf("next %d, records %d", lane.Next(), st.Stats().Records)
	}
	// Closing the window emits the final count under the same id.
	lane.Flush(ctx)
	if sink.count() != 2 || sink.alerts[1].SystemAlertId != sink.alerts[0].SystemAlertId || sink.alerts[1].EventCount != 2 {
		t.Errorf("window close: %+v", sink.alerts)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

type deadLetters struct {
	mu   sync.Mutex
	recs []string
}

func (d *deadLetters) SendDeadLetter(_ context.Context, rec *Record, reason error, done func(error)) error {
	d.mu.Lock()
	d.recs = append(d.recs, reason.Error())
	d.mu.Unlock()
	done(nil)
	return nil
}

// TestLaneBadRecords: bad records are counted, named by
// topic/partition/offset, sent to the dead-letter sink, and the stream
// goes on.
func TestLaneBadRecords(t *testing.T) {
	sink, dl := &heldSink{}, &deadLetters{}
	st := newTestStage(t, sink, dl)
	lane := st.NewLane("fw", 3, Route{Format: FormatAuto})
	t0 := testNow.Add(-time.Hour)
	err := lane.Process(context.Background(), []Record{
		{Topic: "fw", Partition: 3, Offset: 10, Value: []byte("not cef at all")},
		{Topic: "fw", Partition: 3, Offset: 11, Value: []byte(`{"SourceIP": `)},
		{Topic: "fw", Partition: 3, Offset: 12, Value: []byte("  ")},
		{Topic: "fw", Partition: 3, Offset: 13, Value: hit(t0)},
		{Topic: "fw", Partition: 3, Offset: 14, Value: []byte(`{"Type":"CommonSecurityLog","TimeGenerated":"2026-11-30T09:30:00Z","DestinationIP":"203.0.113.9","DeviceVendor":"x"}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := st.Stats()
	if s.Bad != 3 || s.Records != 2 || s.DeadLetters != 3 || sink.count() != 1 {
		t.Errorf("stats %+v, %d alerts", s, sink.count())
	}
	if len(dl.recs) != 3 || !strings.HasPrefix(dl.recs[0], "fw/3:10: cef") || !strings.HasPrefix(dl.recs[1], "fw/3:11: tabular") {
		t.Errorf("dead letters %q", dl.recs)
	}
	if a := sink.alerts[0]; a.Origin != "fw/3:13" || a.EventCount != 1 {
		t.Errorf("alert %+v", a)
	}
}

// TestLaneBackPressure: a slow sink slows the lane down; the alerts in
// flight never exceed the sink's capacity (plus the one waiting in
// Send), so memory stays bounded.
func TestLaneBackPressure(t *testing.T) {
	sink := newSlowSink(8)
	st := newTestStage(t, sink, nil)
	lane := st.NewLane("fw", 0, Route{})
	var rows [][]byte
	for i := range 300 {
		rows = append(rows, hit(testNow.Add(-time.Duration(300-i)*time.Hour)))
	}
	var maxUnacked int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < len(rows); i += 50 {
			if err := lane.Process(context.Background(), records("fw", int64(i), rows[i:i+50]...)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			maxUnacked = max(maxUnacked, lane.Unacked())
			time.Sleep(100 * time.Microsecond)
		}
	}
	if st.Stats().Alerts != 300 || sink.maxSeen > 8 || maxUnacked > 9 {
		t.Errorf("alerts %d, max in flight %d, max unacknowledged %d", st.Stats().Alerts, sink.maxSeen, maxUnacked)
	}
	if _, ok, err := lane.Drain(context.Background()); !ok || err != nil {
		t.Errorf("drain: %v", err)
	}
}

// TestCheckpointCompression: a large suppression state is compressed and
// decodes back.
func TestCheckpointCompression(t *testing.T) {
	sink := &heldSink{}
	st := newTestStage(t, sink, nil)
	lane := st.NewLane("fw", 0, Route{})
	var rows [][]byte
	for i := range 200 {
		rows = append(rows, hit(testNow.Add(-time.Duration(i+1)*time.Hour))) // older and older: no window closes
	}
	lane.Process(context.Background(), records("fw", 0, rows...))
	for i := range sink.count() {
		sink.ack(i, nil)
	}
	cp, _, err := lane.Drain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := MarshalCheckpoint(cp)
	if err != nil || b[0] != 0x1f {
		t.Fatalf("%d bytes, not compressed (%v)", len(b), err)
	}
	back, err := UnmarshalCheckpoint(b)
	if err != nil || len(back.State.Open) != 200 || back.Offset != 200 {
		t.Errorf("decoded %d open alerts at %d: %v", len(back.State.Open), back.Offset, err)
	}
	t.Logf("200 open alerts: %d bytes compressed", len(b))
}

// TestLaneHugeAlert: a matching row with a megabyte of Message gives an
// alert that still fits a Kafka record (a trial user stopped a whole
// consumer group with one such line).
func TestLaneHugeAlert(t *testing.T) {
	sink := &heldSink{}
	st := newTestStage(t, sink, nil)
	lane := st.NewLane("fw", 0, Route{})
	big := append(hit(testNow.Add(-time.Hour)), []byte(" msg="+strings.Repeat("A", 1<<20))...)
	if err := lane.Process(context.Background(), records("fw", 0, big)); err != nil {
		t.Fatal(err)
	}
	if sink.count() != 1 {
		t.Fatalf("%d alerts", sink.count())
	}
	a := sink.alerts[0]
	b, _ := json.Marshal(a)
	if !a.Truncated || len(b) > MaxAlertBytes || a.MatchedValue != "203.0.113.9" {
		t.Errorf("alert of %d bytes, Truncated=%v, MatchedValue %q", len(b), a.Truncated, a.MatchedValue)
	}
}

// TestLaneSchemaFindings: with schemas, NDJSON records are typed; findings
// are counted, logged once per kind and the rows are kept.
func TestLaneSchemaFindings(t *testing.T) {
	sink := &heldSink{}
	base := newTestStage(t, sink, nil)
	schemas, err := rules.Schemas(nil)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	cfg := base.cfg
	cfg.Schemas, cfg.Logger = schemas, slog.New(slog.NewTextHandler(&logged, nil))
	st, err := NewStage(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lane := st.NewLane("dns", 0, Route{Format: FormatNDJSON, Table: "DnsEvents"})
	rec := func(off int64, v string) Record { return Record{Topic: "dns", Offset: off, Value: []byte(v)} }
	err = lane.Process(context.Background(), []Record{
		rec(7, `{"TimeGenerated":"2026-11-30T09:30:00Z","name":"evil.example","EventId":"many"}`),
		rec(8, `{"TimeGenerated":"2026-11-30T09:31:00Z","name":"evil.example","EventId":"five"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if s := st.Stats(); s.Records != 2 || s.Bad != 0 || s.ColumnIssues != 4 || sink.count() != 1 {
		t.Errorf("stats %+v, %d alerts; want 2 records, 4 findings (name and EventId twice), 1 alert", s, sink.count())
	}
	var got []string
	for _, is := range st.ColumnReport() {
		got = append(got, is.String())
	}
	want := []string{
		`dns/0:7: DnsEvents.EventId: "many" is not an int; column left empty (2 rows)`,
		`dns/0:7: DnsEvents.name: read as Name (column names are case-sensitive) (2 rows)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("issues %q, want %q", got, want)
	}
	if n := strings.Count(logged.String(), "level=WARN"); n != 2 {
		t.Errorf("logged %d warnings, want one per kind of finding (2):\n%s", n, logged.String())
	}
}

// TestStageLatenessCoversJoins: the built-in R05/R37 join within 1 h, so a
// stage keeps windows open at least that long whatever its config says.
func TestStageLatenessCoversJoins(t *testing.T) {
	st := newTestStage(t, &heldSink{}, nil)
	if st.cfg.Lateness != time.Hour {
		t.Errorf("lateness %v, want the join window 1h", st.cfg.Lateness)
	}
}
