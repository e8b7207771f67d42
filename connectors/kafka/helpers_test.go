package kafka

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"timap/connectors/files"
	"timap/connectors/pipeline"
	"timap/engine"
	"timap/rules"
)

// testNow fixes the clock of every run, batch and stream alike, so their
// expiry decisions agree.
var testNow = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)

// Topic names of the test deployments.
const (
	topicEvents     = "events"
	topicAlerts     = "alerts"
	topicIndicators = "indicators"
	topicState      = "state"
	testGroup       = "timap-test"
)

// startCluster starts an embedded broker with the deployment's topics.
func startCluster(t testing.TB, eventPartitions int32) string {
	t.Helper()
	e, err := StartEmbedded(EmbeddedOptions{MinSessionTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	err = EnsureTopics(context.Background(), ClientConfig{Brokers: []string{e.Addr()}}, []TopicSpec{
		{Name: topicEvents, Partitions: eventPartitions, ReplicationFactor: 1},
		{Name: topicAlerts, Partitions: 3, ReplicationFactor: 1},
		{Name: topicIndicators, Partitions: 1, ReplicationFactor: 1, Compacted: true},
		{Name: topicState, Partitions: 1, ReplicationFactor: 1, Compacted: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e.Addr()
}

// killSwitch is a dialer whose connections can all be cut at once, as
// when a machine dies: no LeaveGroup, no commit, no acknowledgement.
type killSwitch struct {
	mu    sync.Mutex
	dead  bool
	conns []net.Conn
}

func (k *killSwitch) dial(ctx context.Context, network, host string) (net.Conn, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.dead {
		return nil, errors.New("killed")
	}
	c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, host)
	if err == nil {
		k.conns = append(k.conns, c)
	}
	return c, err
}

func (k *killSwitch) kill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.dead = true
	for _, c := range k.conns {
		c.Close()
	}
}

// instance is one timap process of a test deployment.
type instance struct {
	name   string
	leader *pipeline.Leadership
	inds   *pipeline.Indicators
	stage  *pipeline.Stage
	cancel context.CancelFunc
	ks     *killSwitch
	stopKC context.CancelFunc
	done   chan error
}

// instanceOptions vary a test instance.
type instanceOptions struct {
	// pulls are pull sources (published to the indicator topic when
	// elected).
	pulls []pipeline.IndicatorSource
	// wrapState wraps the state topic checkpointer (crash injection).
	wrapState func(Checkpointer) Checkpointer
	// wrapSink wraps the alert sink (a slow sink).
	wrapSink func(pipeline.AlertSink) pipeline.AlertSink
}

func testLogger(t testing.TB, name string) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: testLogLevel})).With("instance", name)
}

// startInstance wires an instance as cmd/timap's run command does: an
// indicator topic feed, a consumer-group source on the events topic, a
// producer for alerts and checkpoints, a state topic.
func startInstance(t testing.TB, addr, name string, o instanceOptions) *instance {
	t.Helper()
	ks := &killSwitch{}
	kctx, stopKC := context.WithCancel(context.Background())
	client := ClientConfig{Brokers: []string{addr}, ClientID: name, Opts: []kgo.Opt{kgo.Dialer(ks.dial), kgo.WithContext(kctx)}}
	log := testLogger(t, name)
	ctx := context.Background()
	prod, err := NewProducer(ctx, ProducerConfig{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	inds := pipeline.NewIndicators(engine.NewStore(engine.StoreOptions{}))
	x, err := engine.NewExecutor(inds.Store, rs, engine.ExecutorOptions{Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var sink pipeline.AlertSink = prod.Sink(topicAlerts)
	if o.wrapSink != nil {
		sink = o.wrapSink(sink)
	}
	st, err := pipeline.NewStage(pipeline.StageConfig{Executor: x, Sink: sink, Now: testNow,
		MarkInterval: 100 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	feed, err := NewIndicatorTopic(ctx, IndicatorTopicConfig{Client: client, Topic: topicIndicators, Indicators: inds, Producer: prod, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	state, err := NewStateTopic(StateTopicConfig{Client: client, Topic: topicState, Group: testGroup, Producer: prod, LoadIdle: 2 * time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	var cp Checkpointer = state
	if o.wrapState != nil {
		cp = o.wrapState(state)
	}
	leader := &pipeline.Leadership{}
	src, err := NewGroupSource(GroupConfig{Client: client, Group: testGroup, Routes: map[string]pipeline.Route{topicEvents: {}},
		Checkpoints: cp, SessionTimeout: time.Second, HeartbeatInterval: 100 * time.Millisecond, RebalanceTimeout: 10 * time.Second,
		ShutdownTimeout: 3 * time.Second, Leader: leader, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	runner := &pipeline.Runner{Stage: st, Events: []pipeline.EventSource{src}, Indicators: inds, Feed: feed,
		Pulls: o.pulls, Publisher: &pipeline.Publisher{Indicators: inds, Writer: feed, Logger: log}, Leader: leader,
		Logger: log, StatsInterval: -1, FlushTimeout: 3 * time.Second}
	rctx, cancel := context.WithCancel(ctx)
	in := &instance{name: name, leader: leader, inds: inds, stage: st, cancel: cancel, ks: ks, stopKC: stopKC, done: make(chan error, 1)}
	go func() {
		err := runner.Run(rctx)
		feed.Close()
		prod.Close(time.Second)
		in.done <- err
	}()
	t.Cleanup(func() { in.stop(t) })
	return in
}

// stop shuts the instance down in order (SIGTERM) and waits for it.
func (in *instance) stop(t testing.TB) {
	in.cancel()
	select {
	case err := <-in.done:
		in.done <- err
		if err != nil && !in.ks.dead {
			t.Errorf("%s stopped with %v", in.name, err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("%s did not stop", in.name)
	}
	in.stopKC()
}

// elected reports whether the group elected this instance to pull.
func (in *instance) elected() bool {
	e, _ := in.leader.State()
	return e
}

// kill cuts the instance off the network and stops its goroutines
// without a clean leave, commit or flush.
func (in *instance) kill() {
	in.ks.kill()
	in.stopKC()
	in.cancel()
}

// exampleIndicators loads the repository's example indicators.
func exampleIndicators(t testing.TB) []*engine.Indicator {
	t.Helper()
	var inds []*engine.Indicator
	if _, err := files.LoadIndicators([]string{"../../examples/indicators"}, "auto", testNow,
		func(b []*engine.Indicator) { inds = append(inds, b...) }); err != nil {
		t.Fatal(err)
	}
	return inds
}

// exampleEvents returns the lines of examples/events/firewall.cef.
func exampleEvents(t testing.TB) [][]byte {
	t.Helper()
	b, err := os.ReadFile("../../examples/events/firewall.cef")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSpace(b), []byte("\n"))
}

// alertOut is the part of an alert the tests compare.
type alertOut struct {
	SystemAlertId, RuleId, IndicatorId, MatchedValue, MatchedColumn, Origin string
	StartTime                                                               time.Time
	EventCount                                                              int
	Entities                                                                []map[string]string
	ExtendedProperties                                                      map[string]any
}

// batchAlerts matches lines as `timap match` does (files.OpenEvents, no
// EmitFirst, one pass) and returns its alerts by id.
func batchAlerts(t testing.TB, inds []*engine.Indicator, lines [][]byte) map[string]alertOut {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.cef")
	if err := os.WriteFile(path, append(bytes.Join(lines, []byte("\n")), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	store := engine.NewStore(engine.StoreOptions{})
	store.Upsert(inds...)
	rs, _ := rules.Builtin()
	x, err := engine.NewExecutor(store, rs, engine.ExecutorOptions{Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]alertOut{}
	agg := engine.NewAggregator(engine.AggregatorOptions{}, func(a *engine.Alert) error {
		b, _ := json.Marshal(a)
		var o alertOut
		json.Unmarshal(b, &o)
		out[o.SystemAlertId] = o
		return nil
	})
	r, err := files.OpenEvents(path, "", testNow)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m := x.NewMatcher()
	var ev engine.Event
	for {
		err := r.Next(&ev, x.Needs)
		if err == io.EOF {
			break
		}
		if err != nil {
			continue
		}
		m.Match(&ev, testNow, func(mt *engine.Match) { agg.Add(mt) })
	}
	agg.Flush()
	return out
}

// produce writes lines to the events topic, line i to partition
// i % partitions, and waits for the acknowledgements.
func produce(t testing.TB, addr string, partitions int32, lines [][]byte) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	recs := make([]*kgo.Record, len(lines))
	for i, l := range lines {
		recs[i] = &kgo.Record{Topic: topicEvents, Partition: int32(i) % partitions, Value: l}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// produceTo writes rows to one partition of the events topic.
func produceTo(t testing.TB, addr string, p int32, rows ...[]byte) {
	t.Helper()
	if len(rows) == 0 {
		return
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	recs := make([]*kgo.Record, len(rows))
	for i, r := range rows {
		recs[i] = &kgo.Record{Topic: topicEvents, Partition: p, Value: r}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// alertReader consumes the alerts topic from the start.
type alertReader struct {
	cl  *kgo.Client
	all []alertOut
}

func newAlertReader(t testing.TB, addr string) *alertReader {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topicAlerts),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &alertReader{cl: cl}
}

// poll reads what arrived within d.
func (a *alertReader) poll(t testing.TB, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	fs := a.cl.PollFetches(ctx)
	for _, r := range fs.Records() {
		var o alertOut
		if err := json.Unmarshal(r.Value, &o); err != nil {
			t.Fatalf("alert %s: %v", r.Value, err)
		}
		a.all = append(a.all, o)
	}
}

// ids returns the distinct alert ids read so far.
func (a *alertReader) ids() map[string]int {
	m := map[string]int{}
	for _, o := range a.all {
		m[o.SystemAlertId]++
	}
	return m
}

// waitCommitted waits until the group has committed every partition of
// the events topic to its end.
func waitCommitted(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ends, err1 := adm.ListEndOffsets(ctx, topicEvents)
		committed, err2 := adm.FetchOffsets(ctx, testGroup)
		cancel()
		short := 0
		if err1 == nil && err2 == nil {
			ends.Each(func(o kadm.ListedOffset) {
				if c, ok := committed.Lookup(topicEvents, o.Partition); !ok || c.At < o.Offset {
					short++
				}
			})
		}
		if err1 == nil && err2 == nil && short == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group did not commit the events topic to its end within %s (%d partitions short; %v %v)", timeout, short, err1, err2)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// publishIndicators writes indicators straight to the indicator topic.
func publishIndicators(t testing.TB, addr string, changes []pipeline.IndicatorChange) {
	t.Helper()
	ctx := context.Background()
	client := ClientConfig{Brokers: []string{addr}}
	prod, err := NewProducer(ctx, ProducerConfig{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close(time.Second)
	w, err := NewIndicatorTopic(ctx, IndicatorTopicConfig{Client: client, Topic: topicIndicators,
		Indicators: pipeline.NewIndicators(engine.NewStore(engine.StoreOptions{})), Producer: prod})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.WriteIndicators(ctx, changes); err != nil {
		t.Fatal(err)
	}
}

// waitLive waits until every instance holds want live indicators.
func waitLive(t testing.TB, want int, ins ...*instance) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, in := range ins {
		for in.inds.Store.Stats().Live != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s holds %d live indicators, want %d", in.name, in.inds.Store.Stats().Live, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// readAll reads the alerts topic up to its current end offsets.
func (a *alertReader) readAll(t testing.TB) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(a.cl.OptValue(kgo.SeedBrokers).([]string)...))
	if err != nil {
		t.Fatal(err)
	}
	ends, err := kadm.NewClient(cl).ListEndOffsets(context.Background(), topicAlerts)
	cl.Close()
	if err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	deadline := time.Now().Add(20 * time.Second)
	for int64(len(a.all)) < total {
		if time.Now().After(deadline) {
			t.Fatalf("read %d of %d alert records", len(a.all), total)
		}
		a.poll(t, 200*time.Millisecond)
	}
}

// liveCount is how many live indicators a store holds after loading inds.
func liveCount(inds []*engine.Indicator) int {
	s := engine.NewStore(engine.StoreOptions{})
	s.Upsert(inds...)
	return s.Stats().Live
}

// compareIDs reports ids missing from got and ids got has that want lacks.
func compareIDs(t testing.TB, want map[string]alertOut, got map[string]int) {
	t.Helper()
	for id, a := range want {
		if got[id] == 0 {
			t.Errorf("missing alert %s (%s %s=%s)", id, a.RuleId[:8], a.MatchedColumn, a.MatchedValue)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("unexpected alert %s", id)
		}
	}
}

// testLogLevel is Warn; TIMAP_TEST_LOG=debug|info shows more.
var testLogLevel = func() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("TIMAP_TEST_LOG"))); err != nil {
		return slog.LevelWarn
	}
	return l
}()

// waitBalanced waits until the group has n members, each assigned at
// least one partition of the events topic.
func waitBalanced(t testing.TB, addr string, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(20 * time.Second)
	for {
		groups, err := adm.DescribeGroups(context.Background(), testGroup)
		if err == nil {
			g := groups[testGroup]
			ok := g.State == "Stable" && len(g.Members) == n
			for _, m := range g.Members {
				if a, isConsumer := m.Assigned.AsConsumer(); !isConsumer || len(a.Topics) == 0 || len(a.Topics[0].Partitions) == 0 {
					ok = false
				}
			}
			if ok {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("group not balanced over %d members: %v", n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
