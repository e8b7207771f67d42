package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"timap/connectors/cef"
	"timap/connectors/files"
	"timap/engine"
)

// runNow is the clock of every run here, stream and batch alike.
const runNow = "2026-11-30T10:10:00Z"

// streamAlert is an alert as the comparisons see it.
type streamAlert struct {
	SystemAlertId, RuleId, AlertName, AlertSeverity, Table   string
	IndicatorId, IndicatorType, IndicatorValue, SourceSystem string
	MatchedValue, MatchedColumn, Origin                      string
	StartTime, EndTime                                       time.Time
	EventCount                                               int
	Tactics, Techniques                                      []string
	Entities                                                 []map[string]string
	ExtendedProperties                                       map[string]any
}

func decodeAlerts(t *testing.T, b []byte) []streamAlert {
	t.Helper()
	var out []streamAlert
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var a streamAlert
		if err := dec.Decode(&a); err != nil {
			t.Fatalf("alert: %v", err)
		}
		out = append(out, a)
	}
	return out
}

// matchAlerts runs `timap match` and returns its alerts by id.
func matchAlerts(t *testing.T, args ...string) map[string]streamAlert {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(append([]string{"match", "--now", runNow}, args...), &stdout, &stderr); code != 0 {
		t.Fatalf("match: exit %d\n%s", code, stderr.String())
	}
	m := map[string]streamAlert{}
	for _, a := range decodeAlerts(t, stdout.Bytes()) {
		m[a.SystemAlertId] = a
	}
	return m
}

// compareWithMatch checks that the stream's alerts have the batch run's
// ids and, for each id, the same fields except Origin (file:line against
// topic/partition:offset), EventCount and EndTime (EmitFirst emits at the
// first row). Repeats of an id must agree with each other too.
func compareWithMatch(t *testing.T, want map[string]streamAlert, got []streamAlert, ignore func(streamAlert) bool) {
	t.Helper()
	seen := map[string]bool{}
	for _, a := range got {
		if ignore != nil && ignore(a) {
			continue
		}
		w, ok := want[a.SystemAlertId]
		if !ok {
			t.Errorf("unexpected alert %s: %s %s=%s", a.SystemAlertId, a.RuleId, a.MatchedColumn, a.MatchedValue)
			continue
		}
		seen[a.SystemAlertId] = true
		w.Origin, a.Origin = "", ""
		w.EventCount, a.EventCount = 0, 0
		w.EndTime, a.EndTime = time.Time{}, time.Time{}
		if !reflect.DeepEqual(w, a) {
			t.Errorf("alert %s differs:\nmatch  %+v\nstream %+v", a.SystemAlertId, w, a)
		}
	}
	for id, w := range want {
		if !seen[id] {
			t.Errorf("missing alert %s: %s %s=%s", id, w.RuleId, w.MatchedColumn, w.MatchedValue)
		}
	}
}

// TestRunStdinEqualsMatch is the embedded default: no Kafka, events on
// stdin, alerts on stdout.
func TestRunStdinEqualsMatch(t *testing.T) {
	want := matchAlerts(t, "--indicators", "testdata/indicators.json", "--events", "testdata/events.cef")
	in, err := os.Open("testdata/events.cef")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var stdout, stderr bytes.Buffer
	code := runStream(context.Background(), []string{"--indicators", "testdata/indicators.json", "--now", runNow}, in, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	got := decodeAlerts(t, stdout.Bytes())
	compareWithMatch(t, want, got, nil)
	if !strings.Contains(stderr.String(), "stdin:8: cef") {
		t.Errorf("the bad line is not reported as stdin:8:\n%s", stderr.String())
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// streamRun is a `timap run --embedded-kafka` running in the test.
type streamRun struct {
	addr   string
	cancel context.CancelFunc
	code   chan int
	stderr *syncBuffer
}

var brokerLine = regexp.MustCompile(`embedded Kafka broker listening on (\S+)`)

// startRun writes config to a file and starts `timap run --config FILE
// --embedded-kafka`; it returns once the broker's address is printed.
func startRun(t *testing.T, config string) *streamRun {
	t.Helper()
	path := filepath.Join(t.TempDir(), "timap.yaml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &streamRun{cancel: cancel, code: make(chan int, 1), stderr: &syncBuffer{}}
	go func() {
		r.code <- runStream(ctx, []string{"--config", path, "--embedded-kafka", "--now", runNow}, strings.NewReader(""), os.Stdout, r.stderr)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := brokerLine.FindStringSubmatch(r.stderr.String()); m != nil {
			r.addr = m[1]
			break
		}
		select {
		case code := <-r.code:
			t.Fatalf("timap run exited with %d:\n%s", code, r.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no broker address printed:\n%s", r.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop sends the equivalent of SIGTERM and expects exit status 0.
func (r *streamRun) stop(t *testing.T) {
	r.cancel()
	select {
	case code := <-r.code:
		r.code <- code
		if code != 0 {
			t.Errorf("timap run: exit %d\n%s", code, r.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Errorf("timap run did not stop:\n%s", r.stderr.String())
	}
}

// e2eConfig is the deployment of the end-to-end tests: CEF and NDJSON
// topics, the indicator files published through the indicator topic by
// the elected instance, alerts to a topic. The indicator paths are
// spelled as in the `timap match` run, since flat-feed IndicatorIds are
// seeded by the path.
func e2eConfig() string {
	return `
log:
  level: warn
kafka:
  partitions: 1
  dead_letter_topic: timap.deadletter
  session_timeout: 6s
  heartbeat_interval: 500ms
indicators:
  sources:
    - name: testdata
      type: files
      paths: [testdata/indicators.json, ../../examples/indicators]
events:
  - name: cef
    type: kafka
    topics: [events.cef]
    format: cef
  - name: ndjson
    type: kafka
    topics: [events.ndjson]
    format: ndjson
alerts:
  - type: kafka
    topic: timap.alerts
state:
  interval: 100ms
`
}

// e2eInput is what the end-to-end tests produce: CEF lines (the example
// firewall log and the issue cases) and the issue cases again as NDJSON
// rows with CommonSecurityLog column names (a bad row included).
type e2eInput struct {
	cef, ndjson [][]byte
	want        map[string]streamAlert
	indicators  int // distinct indicator ids the elected instance publishes
}

func loadE2EInput(t *testing.T) *e2eInput {
	t.Helper()
	in := &e2eInput{}
	for _, p := range []string{"../../examples/events/firewall.cef", "testdata/events.cef"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		in.cef = append(in.cef, bytes.Split(bytes.TrimSpace(b), []byte("\n"))...)
	}
	issue, _ := os.ReadFile("testdata/events.cef")
	now, _ := time.Parse(time.RFC3339, runNow)
	p := cef.Parser{Now: now}
	for _, line := range bytes.Split(bytes.TrimSpace(issue), []byte("\n")) {
		var ev engine.Event
		ev.Reset(cef.Table)
		if err := p.Decode(line, &ev, nil); err != nil {
			in.ndjson = append(in.ndjson, []byte(`{"DeviceVendor": broken`))
			continue
		}
		row := map[string]string{"Type": ev.Table, "TimeGenerated": ev.TimeGenerated.Format(time.RFC3339Nano)}
		for _, f := range ev.Fields() {
			row[f.Column] = f.Value
		}
		b, _ := json.Marshal(row)
		in.ndjson = append(in.ndjson, b)
	}
	dir := t.TempDir()
	cefPath, jsonPath := filepath.Join(dir, "events.cef"), filepath.Join(dir, "events.ndjson")
	os.WriteFile(cefPath, append(bytes.Join(in.cef, []byte("\n")), '\n'), 0o644)
	os.WriteFile(jsonPath, append(bytes.Join(in.ndjson, []byte("\n")), '\n'), 0o644)
	in.want = matchAlerts(t, "--indicators", "testdata/indicators.json", "../../examples/indicators", "--events", cefPath, jsonPath)
	ids := map[string]bool{}
	files.LoadIndicators([]string{"testdata/indicators.json", "../../examples/indicators"}, "auto", now,
		func(b []*engine.Indicator) {
			for _, ind := range b {
				ids[ind.IndicatorId] = true
			}
		})
	in.indicators = len(ids)
	return in
}

// probe is an indicator the tests publish after the elected instance's:
// once an event matches it, the instance has applied every indicator
// before it on the (one-partition) indicator topic.
const (
	probeID    = "indicator--probe"
	probeValue = "198.51.100.250"
	probeJSON  = `{"IndicatorId":"` + probeID + `","Modified":"2026-11-30T00:00:00Z","Observables":[{"Type":"ip","Value":"` + probeValue + `"}]}`
	probeEvent = "CEF:0|Fortinet|Fortigate|v7.2.4|00013|traffic:forward close|3|rt=1796004000000 src=10.0.0.1 dst=" + probeValue + " dvchost=probe"
)

func isProbe(a streamAlert) bool { return a.IndicatorId == probeID }

// waitTopic waits until topic holds at least n records.
func waitTopic(t *testing.T, addr, topic string, n int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(20 * time.Second)
	for {
		ends, err := adm.ListEndOffsets(context.Background(), topic)
		total := int64(0)
		if err == nil {
			ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
		}
		if total >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s holds %d records, want %d (%v)", topic, total, n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitCommitted waits until the group has committed every partition of
// topics to its end.
func waitCommitted(t *testing.T, addr, group string, topics ...string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ends, err1 := adm.ListEndOffsets(context.Background(), topics...)
		committed, err2 := adm.FetchOffsets(context.Background(), group)
		short := 0
		ends.Each(func(o kadm.ListedOffset) {
			if c, ok := committed.Lookup(o.Topic, o.Partition); !ok || c.At < o.Offset {
				short++
			}
		})
		if err1 == nil && err2 == nil && short == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s: %d partitions not committed to their end (%v %v)", group, short, err1, err2)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kafkaKit produces and consumes with one client: kafka-go or kcat.
type kafkaKit interface {
	// produce writes each value as one record; key, when set, keys them.
	produce(t *testing.T, addr, topic, key string, values [][]byte)
	// consume reads topic from the beginning to its current end.
	consume(t *testing.T, addr, topic string) [][]byte
}

type kafkaGoKit struct{}

func (kafkaGoKit) produce(t *testing.T, addr, topic, key string, values [][]byte) {
	t.Helper()
	w := &kafkago.Writer{Addr: kafkago.TCP(addr), Topic: topic, RequiredAcks: kafkago.RequireAll, BatchTimeout: 10 * time.Millisecond, BatchSize: 1000}
	defer w.Close()
	msgs := make([]kafkago.Message, len(values))
	for i, v := range values {
		msgs[i] = kafkago.Message{Value: v}
		if key != "" {
			msgs[i].Key = []byte(key)
		}
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatalf("kafka-go: producing to %s: %v", topic, err)
	}
}

func (kafkaGoKit) consume(t *testing.T, addr, topic string) [][]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := kafkago.DialLeader(ctx, "tcp", addr, topic, 0)
	if err != nil {
		t.Fatalf("kafka-go: %v", err)
	}
	last, err := conn.ReadLastOffset()
	conn.Close()
	if err != nil {
		t.Fatalf("kafka-go: %v", err)
	}
	if last == 0 {
		return nil
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	var out [][]byte
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("kafka-go: reading %s: %v", topic, err)
		}
		out = append(out, m.Value)
		if m.Offset >= last-1 {
			return out
		}
	}
}

type kcatKit struct{}

func (kcatKit) produce(t *testing.T, addr, topic, key string, values [][]byte) {
	t.Helper()
	args := []string{"-b", addr, "-P", "-t", topic}
	var in bytes.Buffer
	for _, v := range values {
		if key != "" {
			in.WriteString(key + "\t")
		}
		in.Write(v)
		in.WriteByte('\n')
	}
	if key != "" {
		args = append(args, "-K", "\t")
	}
	cmd := exec.Command("kcat", args...)
	cmd.Stdin = &in
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat %v: %v\n%s", args, err, out)
	}
}

func (kcatKit) consume(t *testing.T, addr, topic string) [][]byte {
	t.Helper()
	out, err := exec.Command("kcat", "-b", addr, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%s\n").Output()
	if err != nil {
		t.Fatalf("kcat consuming %s: %v", topic, err)
	}
	return bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n"))
}

// runEndToEnd runs the deployment of e2eConfig on an embedded broker,
// produces the events with kit, consumes the alerts with kit and compares
// them with `timap match` on the same input.
func runEndToEnd(t *testing.T, kit kafkaKit) {
	in := loadE2EInput(t)
	r := startRun(t, e2eConfig())
	waitTopic(t, r.addr, "timap.indicators", int64(in.indicators))

	kit.produce(t, r.addr, "timap.indicators", probeID, [][]byte{[]byte(probeJSON)})
	deadline := time.Now().Add(20 * time.Second)
	for probed := false; !probed; {
		if time.Now().After(deadline) {
			t.Fatalf("the probe indicator never matched:\n%s", r.stderr.String())
		}
		kit.produce(t, r.addr, "events.cef", "", [][]byte{[]byte(probeEvent)})
		time.Sleep(100 * time.Millisecond)
		for _, v := range kit.consume(t, r.addr, "timap.alerts") {
			probed = probed || bytes.Contains(v, []byte(probeID))
		}
	}

	kit.produce(t, r.addr, "events.cef", "", in.cef)
	kit.produce(t, r.addr, "events.ndjson", "", in.ndjson)
	waitCommitted(t, r.addr, "timap", "events.cef", "events.ndjson")
	var got []streamAlert
	for _, v := range kit.consume(t, r.addr, "timap.alerts") {
		got = append(got, decodeAlerts(t, v)...)
	}
	compareWithMatch(t, in.want, got, isProbe)
	t.Logf("%d alert records for %d alerts of timap match", len(got), len(in.want))
	// The bad CEF line and the bad NDJSON row, from two lanes: any order.
	dead := kit.consume(t, r.addr, "timap.deadletter")
	slices.SortFunc(dead, bytes.Compare)
	if len(dead) != 2 || string(dead[0]) != "this line is not CEF" || !bytes.Contains(dead[1], []byte("broken")) {
		t.Errorf("dead letters: %q", dead)
	}
	r.stop(t)
	for _, want := range []string{"events.cef/0:", "events.ndjson/0:"} {
		if !strings.Contains(r.stderr.String(), want) {
			t.Errorf("no bad record reported as %s…:\n%s", want, r.stderr.String())
		}
	}
}

// TestRunEndToEndKafkaGo produces and consumes with kafka-go.
func TestRunEndToEndKafkaGo(t *testing.T) { runEndToEnd(t, kafkaGoKit{}) }

// TestRunEndToEndKcat produces and consumes with kcat, the tool the
// embedded broker is meant to be used with.
func TestRunEndToEndKcat(t *testing.T) {
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Skip("kcat is not on PATH (Debian/Ubuntu: apt-get install -y kcat); skipping the kcat end-to-end test")
	}
	runEndToEnd(t, kcatKit{})
}

// TestRunFilesEqualsMatch reads the events from a file: the alerts are
// those of `timap match`, origins (file:line) included.
func TestRunFilesEqualsMatch(t *testing.T) {
	want := matchAlerts(t, "--indicators", "testdata/indicators.json", "../../examples/indicators", "--events", "testdata/events.cef", "../../examples/events/firewall.cef")
	var stdout, stderr bytes.Buffer
	code := runStream(context.Background(), []string{"--indicators", "testdata/indicators.json", "../../examples/indicators",
		"--events", "testdata/events.cef", "../../examples/events/firewall.cef", "--now", runNow}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	got := decodeAlerts(t, stdout.Bytes())
	for _, a := range got {
		if w, ok := want[a.SystemAlertId]; ok && w.Origin != a.Origin {
			t.Errorf("alert %s: origin %s, match says %s", a.SystemAlertId, a.Origin, w.Origin)
		}
	}
	compareWithMatch(t, want, got, nil)
}

// TestRunConfigErrors: configuration mistakes exit with status 2 and
// name the file and line.
func TestRunConfigErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--config", write("a.yaml", "events:\n  - type: stdin\n    topic: x\n")}, `a.yaml:3: unknown key "topic" in events[0]`},
		{[]string{"--config", write("b.yaml", "indicators:\n  sources:\n    - name: m\n      type: misp\n")}, "b.yaml:4: indicators.sources[0].type: misp"},
		{[]string{"--config", write("c.yaml", "kafka:\n  group: g\n")}, "c.yaml:1: kafka.brokers: at least one broker is required"},
		{[]string{"--config", write("d.yaml", "kafka:\n  brokers: [\"${TIMAP_NO_SUCH_VARIABLE}\"]\n")}, "d.yaml:2: kafka.brokers[0]: environment variable TIMAP_NO_SUCH_VARIABLE is not set"},
		{[]string{"--config", filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
		{[]string{"--now", "yesterday"}, "--now"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		var stdout, stderr bytes.Buffer
		code := runStream(context.Background(), c.args, strings.NewReader(""), &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr.String(), c.want)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := runStream(context.Background(), []string{"--config", "../../examples/run/embedded.yaml", "--check"}, nil, &stdout, &stderr); code != 0 ||
		!strings.Contains(stdout.String(), "configuration OK") {
		t.Errorf("--check: exit %d %s %s", code, stdout.String(), stderr.String())
	}
}

// TestRunFilesOneStream: the files of a file source (a directory here) are
// one stream, as in timap match: a link in one file joins the mail row in
// the next, and the final counts equal match's.
func TestRunFilesOneStream(t *testing.T) {
	dir := t.TempDir()
	inds, mail := filepath.Join(dir, "feed.txt"), filepath.Join(dir, "mail")
	os.WriteFile(inds, []byte("http://evil.example/x\n"), 0o600)
	os.MkdirAll(mail, 0o700)
	os.WriteFile(filepath.Join(mail, "1.ndjson"), []byte(strings.Join([]string{
		`{"Type":"EmailEvents","TimeGenerated":"2026-11-30T08:30:00Z","NetworkMessageId":"X","DeliveryAction":"Delivered"}`,
		`{"Type":"EmailUrlInfo","TimeGenerated":"2026-11-30T08:31:00Z","NetworkMessageId":"X","Url":"http://evil.example/x","UrlDomain":"evil.example"}`,
		`{"Type":"EmailUrlInfo","TimeGenerated":"2026-11-30T08:55:00Z","NetworkMessageId":"A","Url":"http://evil.example/x","UrlDomain":"evil.example"}`,
	}, "\n")+"\n"), 0o600)
	os.WriteFile(filepath.Join(mail, "2.ndjson"), []byte(`{"Type":"EmailEvents","TimeGenerated":"2026-11-30T09:10:00Z","NetworkMessageId":"A","DeliveryAction":"Delivered"}`+"\n"), 0o600)
	want := matchAlerts(t, "--indicators", inds, "--events", mail)
	var stdout, stderr bytes.Buffer
	if code := runStream(context.Background(), []string{"--indicators", inds, "--events", mail, "--now", runNow}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	final := map[string]int{} // the last emission of each alert carries its final count
	for _, a := range decodeAlerts(t, stdout.Bytes()) {
		final[a.SystemAlertId] = a.EventCount
	}
	if len(want) != 2 || len(final) != 2 { // R05 and R37 both read Url
		t.Fatalf("match %d alerts, run %d", len(want), len(final))
	}
	for id, w := range want {
		if w.EventCount != 2 || final[id] != 2 {
			t.Errorf("%s alert %s: match counts %d, run %d; want 2 (both links, the second joined across files)", w.RuleId, id, w.EventCount, final[id])
		}
	}
}
