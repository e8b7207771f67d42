package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func parse(t *testing.T, yaml string) (*Config, error) {
	t.Helper()
	cfg, err := ParseConfig([]byte(yaml), "timap.yaml")
	if err != nil {
		return nil, err
	}
	return cfg, cfg.Validate()
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := parse(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Events) != 1 || cfg.Events[0].Type != "stdin" || len(cfg.Alerts) != 1 || cfg.Alerts[0].Type != "stdout" ||
		cfg.Kafka != nil || cfg.State.Type != "none" || cfg.Suppression.Window != time.Hour || !*cfg.Rules.Builtin ||
		*cfg.Indicators.ExpiryGrace != time.Hour || cfg.Indicators.Leader != "elected" || cfg.Log.Level != "info" {
		t.Errorf("defaults: %+v", cfg)
	}
	cfg, err = parse(t, "kafka:\n  brokers: [k1:9092]\nevents:\n  - type: kafka\n    topics: [fw]\n")
	if err != nil {
		t.Fatal(err)
	}
	k := cfg.Kafka
	if k.Group != "timap" || k.ClientID != "timap" || k.SessionTimeout != 45*time.Second || k.HeartbeatInterval != 3*time.Second ||
		k.QueueBatches != 4 || k.MaxPollRecords != 1000 || k.MaxBufferedAlerts != 10000 || *k.Linger != 5*time.Millisecond ||
		k.ShutdownTimeout != 30*time.Second || k.StartOffset != "earliest" || cfg.State.Type != "topic" || cfg.State.Topic != "timap.state" ||
		cfg.State.Interval != time.Second || cfg.Events[0].Name != "kafka" || cfg.Events[0].Format != "auto" {
		t.Errorf("kafka defaults: %+v %+v", k, cfg.State)
	}
}

// TestConfigErrorsNameLines: unknown keys, wrong types and invalid
// values are errors with the file and line of the key.
func TestConfigErrorsNameLines(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"kafka:\n  brokers: [a:1]\n  brokerz: [b:1]\n", `timap.yaml:3: unknown key "brokerz" in kafka`},
		{"events:\n  - type: file\n    paths: [x]\n    topics: [t]\n", "timap.yaml:4: events[0].topics: does not apply to this type"},
		{"suppression:\n  window: soon\n", "timap.yaml:2: cannot unmarshal !!str `soon` into time.Duration"},
		{"events:\n  - type: kafak\n", `timap.yaml:2: events[0].type: "kafak": want kafka, syslog, file or stdin`},
		{"events:\n  - type: kafka\n    topics: [t]\n", "timap.yaml:2: events[0].type: a kafka event source needs the kafka section"},
		{"events:\n  - type: syslog\n    listen: udp:5514\n", "timap.yaml:3: events[0].listen"},
		{"indicators:\n  sources:\n    - name: m\n      type: misp\n", "timap.yaml:4: indicators.sources[0].type: misp: MISP pulls are not implemented yet"},
		{"indicators:\n  sources:\n    - name: u\n      type: upload_api\n", "upload API listener is not implemented yet"},
		{"alerts:\n  - type: webhook\n", "timap.yaml:2: alerts[0].type: webhook sinks are not implemented yet"},
		{"indicators:\n  sources:\n    - name: a\n      type: feed\n", "exactly one of path and url"},
		{"indicators:\n  sources:\n    - {name: a, type: files, paths: [x]}\n    - {name: a, type: files, paths: [y]}\n", `timap.yaml:4: indicators.sources[1].name: "a" is used twice`},
		{"indicators:\n  topic: ti\n", "indicators.topic: an indicator topic needs the kafka section"},
		{"kafka:\n  brokers: [a:1]\n  session_timeout: 2s\n  heartbeat_interval: 3s\n", "timap.yaml:4: kafka.heartbeat_interval: must be shorter"},
		{"state:\n  type: file\n", "state.dir: required with type file"},
		{"events:\n  - type: stdin\n  - type: file\n    paths: [-]\n", "standard input is read by more than one source"},
		{"kafka: [a]\n", "timap.yaml:1: cannot unmarshal !!seq into pipeline.KafkaConfig"},
		{"log:\n  level: loud\n", `timap.yaml:2: log.level: "loud": want debug, info, warn, error`},
	} {
		_, err := parse(t, c.yaml)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %q", c.yaml, err, c.want)
		}
	}
}

func TestConfigEnv(t *testing.T) {
	t.Setenv("TIMAP_TEST_PASSWORD", "s3cr3t: #not a comment")
	t.Setenv("TIMAP_TEST_PARTITIONS", "12")
	cfg, err := parse(t, `
kafka:
  brokers: ["${TIMAP_TEST_BROKERS:-localhost:9092,k2:9092}"]
  partitions: ${TIMAP_TEST_PARTITIONS}
  sasl: {mechanism: plain, username: timap, password: "${TIMAP_TEST_PASSWORD}"}
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Kafka.Brokers) != 2 || cfg.Kafka.Brokers[1] != "k2:9092" || cfg.Kafka.Partitions != 12 || cfg.Kafka.SASL.Password != "s3cr3t: #not a comment" {
		t.Errorf("env: %+v", cfg.Kafka)
	}
	_, err = parse(t, "kafka:\n  brokers: [a:1]\n  sasl:\n    password: ${TIMAP_TEST_UNSET_VARIABLE}\n")
	if err == nil || !strings.Contains(err.Error(), "timap.yaml:4: kafka.sasl.password: environment variable TIMAP_TEST_UNSET_VARIABLE is not set") {
		t.Errorf("unset variable: %v", err)
	}
}

// TestConfigExamples checks the shipped example configurations.
func TestConfigExamples(t *testing.T) {
	paths, _ := filepath.Glob("../../examples/run/*.yaml")
	if len(paths) < 2 {
		t.Fatalf("example configurations: %v", paths)
	}
	t.Setenv("KAFKA_BROKERS", "k1:9092")
	t.Setenv("KAFKA_PASSWORD", "x")
	for _, p := range paths {
		if _, err := LoadConfig(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestApplyEmbedded(t *testing.T) {
	cfg, err := ParseConfig(nil, "(defaults)")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.ApplyEmbedded("127.0.0.1:1234"); err != nil {
		t.Fatal(err)
	}
	if cfg.Kafka.Brokers[0] != "127.0.0.1:1234" || !cfg.Kafka.CreateTopics || len(cfg.Events) != 1 || cfg.Events[0].Type != "kafka" ||
		cfg.Events[0].Topics[0] != "timap.events" || len(cfg.Alerts) != 1 || cfg.Alerts[0].Topic != "timap.alerts" ||
		cfg.Indicators.Topic != "timap.indicators" || cfg.State.Type != "topic" {
		t.Errorf("embedded: %+v %+v %+v", cfg.Kafka, cfg.Events, cfg.Alerts)
	}
	// Declared sources stay; stdout stays when asked for.
	cfg, _ = ParseConfig([]byte("events:\n  - type: stdin\nalerts:\n  - type: stdout\n"), "x")
	cfg.ApplyEmbedded("127.0.0.1:1")
	if len(cfg.Events) != 2 || len(cfg.Alerts) != 2 {
		t.Errorf("declared: %+v %+v", cfg.Events, cfg.Alerts)
	}
}

func TestFileCheckpoints(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	fc := &FileCheckpoints{Dir: dir}
	got, err := fc.Load(t.Context(), map[string][]int32{"fw": {0, 1}})
	if err != nil || len(got) != 0 {
		t.Fatalf("empty: %v %v", got, err)
	}
	cp := Checkpoint{Topic: "fw", Partition: 1, Offset: 42}
	cp.State.Watermark = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	if err := fc.Save(t.Context(), []Checkpoint{cp}); err != nil {
		t.Fatal(err)
	}
	got, err = fc.Load(t.Context(), map[string][]int32{"fw": {0, 1}})
	if err != nil || len(got) != 1 || got[0].Offset != 42 || got[0].Partition != 1 || !got[0].State.Watermark.Equal(cp.State.Watermark) {
		t.Fatalf("loaded %+v %v", got, err)
	}
	os.WriteFile(filepath.Join(dir, "fw-0.checkpoint.json"), []byte(`{"v":9}`), 0o644)
	if _, err := fc.Load(t.Context(), map[string][]int32{"fw": {0}}); err == nil || !strings.Contains(err.Error(), "version 9") {
		t.Errorf("bad file: %v", err)
	}
}
