package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"timap/connectors/kafka"
	"timap/connectors/pipeline"
	"timap/engine"
	"timap/rules"
)

// runFlags are the parsed flags of `timap run`.
type runFlags struct {
	config       string
	embedded     bool
	embeddedPort int
	check        bool
	now          time.Time
	indicators   listFlag
	events       listFlag
}

// runRun is `timap run`: the streaming stage, configured by one YAML
// file (docs/configuration.md). SIGINT and SIGTERM stop it in order.
func runRun(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runStream(ctx, args, os.Stdin, stdout, stderr)
}

func parseRunFlags(args []string, stderr io.Writer) (*runFlags, int) {
	fs := flag.NewFlagSet("timap run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &runFlags{}
	fs.StringVar(&f.config, "config", "", "YAML configuration (docs/configuration.md); default: events from stdin, alerts to stdout, built-in rules")
	fs.BoolVar(&f.embedded, "embedded-kafka", false, "start an in-process Kafka broker on a loopback port, print its address and use it")
	fs.IntVar(&f.embeddedPort, "embedded-kafka-port", 0, "port of the embedded broker (0: any free port)")
	fs.BoolVar(&f.check, "check", false, "check the configuration and exit")
	nowFlag := fs.String("now", "", "fix the clock for expiry decisions, RFC 3339 (replays, tests); default: the wall clock")
	fs.Var(&f.indicators, "indicators", "indicator files or directories, added as a pull source named \"cli\" (as timap match --indicators)")
	fs.Var(&f.events, "events", "event files (- for stdin), added as a file event source replacing the default stdin source")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: timap run [--config FILE] [--embedded-kafka] [flags]\n\nflags:")
		fs.PrintDefaults()
	}
	err := fs.Parse(expandLists(args, map[string]bool{"indicators": true, "events": true}))
	switch {
	case errors.Is(err, flag.ErrHelp):
		return nil, 0
	case err != nil:
		return nil, 2
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "timap run: unexpected argument %q\n", fs.Arg(0))
		return nil, 2
	}
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339Nano, *nowFlag)
		if err != nil {
			fmt.Fprintf(stderr, "timap run: --now: %v\n", err)
			return nil, 2
		}
		f.now = t.UTC()
	}
	return f, -1
}

// runStream runs the stage until ctx is done or its inputs end; stdin is
// the standard input of "stdin" event sources.
func runStream(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f, code := parseRunFlags(args, stderr)
	if f == nil {
		return code
	}
	cfg, err := loadRunConfig(f)
	if err != nil {
		fmt.Fprintf(stderr, "timap run: %v\n", err)
		return 2
	}
	if f.embedded {
		emb, err := kafka.StartEmbedded(kafka.EmbeddedOptions{Port: f.embeddedPort})
		if err != nil {
			fmt.Fprintf(stderr, "timap run: embedded Kafka: %v\n", err)
			return 1
		}
		defer emb.Close()
		if err := cfg.ApplyEmbedded(emb.Addr()); err != nil {
			fmt.Fprintf(stderr, "timap run: %v\n", err)
			return 2
		}
		fmt.Fprintf(stderr, "timap run: embedded Kafka broker listening on %s\n", emb.Addr())
	} else if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "timap run: %v\n", err)
		return 2
	}
	if f.check {
		fmt.Fprintln(stdout, "configuration OK")
		return 0
	}
	log := cfg.Logger(stderr)
	if err := serve(ctx, cfg, f, stdin, stdout, log); err != nil {
		fmt.Fprintf(stderr, "timap run: %v\n", err)
		return 1
	}
	return 0
}

// loadRunConfig reads --config (or the defaults) and adds the sources
// named by --indicators and --events; the caller validates the result.
func loadRunConfig(f *runFlags) (*pipeline.Config, error) {
	data, name := []byte(nil), "(defaults)"
	if f.config != "" {
		b, err := os.ReadFile(f.config)
		if err != nil {
			return nil, err
		}
		data, name = b, f.config
	}
	cfg, err := pipeline.ParseConfig(data, name)
	if err != nil {
		return nil, err
	}
	if len(f.indicators) > 0 {
		cfg.Indicators.Sources = append(cfg.Indicators.Sources, pipeline.SourceConfig{Name: "cli", Type: pipeline.KindFiles, Paths: f.indicators})
	}
	if len(f.events) > 0 {
		ev := pipeline.EventConfig{Name: "cli", Type: "file", Paths: f.events, Format: "auto", Table: "CommonSecurityLog"}
		if cfg.Declared("events") {
			cfg.Events = append(cfg.Events, ev)
		} else {
			cfg.Events = []pipeline.EventConfig{ev} // instead of the default stdin source
		}
	}
	return cfg, nil
}

// loadRules returns the built-in rules (unless builtin is false) and those
// of the rule files, a file's rule replacing the built-in rule of the same
// id (logged); the config's validation ensures there is one of them.
// Errors name file, line and field.
func loadRules(c pipeline.RulesConfig, log *slog.Logger) ([]*engine.Rule, error) {
	var rs []*engine.Rule
	if c.Builtin == nil || *c.Builtin {
		b, err := rules.Builtin()
		if err != nil {
			return nil, err
		}
		rs = b
	}
	if len(c.Files) == 0 {
		return rs, nil
	}
	extra, err := rules.Load(c.Files...)
	if err != nil {
		return nil, err
	}
	rs, replaced, err := rules.WithOverrides(rs, extra)
	for _, o := range replaced {
		log.Info("rule file replaces a built-in rule", "file", o.Rule.SourceFile, "id", o.Builtin.ID, "rule", o.Builtin.Name)
	}
	return rs, err
}

// serve wires the configured components and runs them.
func serve(ctx context.Context, cfg *pipeline.Config, f *runFlags, stdin io.Reader, stdout io.Writer, log *slog.Logger) error {
	ruleSet, err := loadRules(cfg.Rules, log)
	if err != nil {
		return err
	}
	schemas, err := rules.Schemas(ruleSet)
	if err != nil {
		return err
	}
	// Compat mode keeps older indicator versions (spec §0.3 item 3, Q15).
	inds := pipeline.NewIndicators(engine.NewStore(engine.StoreOptions{KeepVersions: cfg.Rules.Compat == "sentinel"}))
	xopts := engine.ExecutorOptions{Grace: *cfg.Indicators.ExpiryGrace}
	if cfg.Rules.Compat == "sentinel" {
		xopts = engine.ExecutorOptions{Compat: true} // Sentinel has no lateness grace
	}
	x, err := engine.NewExecutor(inds.Store, ruleSet, xopts)
	if err != nil {
		return err
	}
	for _, ev := range cfg.Events {
		// A misspelt table matches nothing, silently: say so at start.
		if ev.Table != "" && len(x.Needs(ev.Table)) == 0 {
			log.Warn("no rule reads this table: rows of it will never match", "source", ev.Name, "table", ev.Table, "tables", strings.Join(x.Tables(), ","))
		}
	}
	var client kafka.ClientConfig
	var prod *kafka.Producer
	if k := cfg.Kafka; k != nil {
		if client, err = kafka.ClientFromConfig(k); err != nil {
			return err
		}
		if k.CreateTopics {
			if err := kafka.EnsureTopics(ctx, client, kafka.TopicsFromConfig(cfg)); err != nil {
				return err
			}
		}
		pc := kafka.ProducerConfig{Client: client, MaxBuffered: k.MaxBufferedAlerts, Linger: *k.Linger,
			TopicMaxBytes: map[string]int32{cfg.State.Topic: cfg.State.MaxRecordBytes}}
		if prod, err = kafka.NewProducer(ctx, pc); err != nil {
			return err
		}
		defer prod.Close(k.ShutdownTimeout)
	}
	sink, closeSinks, err := buildSinks(cfg, prod, stdout)
	if err != nil {
		return err
	}
	defer closeSinks()
	sc := pipeline.StageConfig{Executor: x, Sink: sink, Window: cfg.Suppression.Window, Lateness: cfg.Suppression.Lateness,
		Now: f.now, MarkInterval: cfg.State.Interval, Logger: log, SentinelDedup: cfg.Rules.Compat == "sentinel", Schemas: schemas}
	if cfg.Kafka != nil && cfg.Kafka.DeadLetterTopic != "" {
		sc.DeadLetter = prod.Sink(cfg.Kafka.DeadLetterTopic)
	}
	stage, err := pipeline.NewStage(sc)
	if err != nil {
		return err
	}

	leader := &pipeline.Leadership{}
	leader.Set(cfg.Indicators.Leader == "always")
	events := cfg.LocalEventSources(stdin, nil)
	routes, err := cfg.KafkaRoutes()
	if err != nil {
		return err
	}
	if len(routes) > 0 {
		k := cfg.Kafka
		gc := kafka.GroupConfig{Client: client, Group: k.Group, Routes: routes, StartOffset: k.StartOffset,
			SessionTimeout: k.SessionTimeout, HeartbeatInterval: k.HeartbeatInterval, RebalanceTimeout: k.RebalanceTimeout,
			QueueBatches: k.QueueBatches, MaxPollRecords: k.MaxPollRecords, ShutdownTimeout: k.ShutdownTimeout, Logger: log}
		if cfg.Indicators.Leader == "elected" {
			gc.Leader = leader
		}
		switch cfg.State.Type {
		case "topic":
			gc.Checkpoints, err = kafka.NewStateTopic(kafka.StateTopicConfig{Client: client, Topic: cfg.State.Topic, Group: k.Group, Producer: prod, Logger: log})
		case "file":
			gc.Checkpoints = &pipeline.FileCheckpoints{Dir: cfg.State.Dir}
		}
		if err != nil {
			return err
		}
		src, err := kafka.NewGroupSource(gc)
		if err != nil {
			return err
		}
		events = append(events, src)
	}

	runner := &pipeline.Runner{Stage: stage, Events: events, Indicators: inds, Leader: leader, Logger: log,
		StatsInterval: *cfg.Log.StatsInterval, FlushTimeout: 30 * time.Second, ExpiryGrace: *cfg.Indicators.ExpiryGrace}
	if !f.now.IsZero() {
		fixed := f.now
		runner.Now = func() time.Time { return fixed }
	}
	if *cfg.Log.StatsInterval == 0 {
		runner.StatsInterval = -1
	}
	var writer pipeline.IndicatorWriter = inds
	if cfg.Indicators.Topic != "" {
		topic, err := kafka.NewIndicatorTopic(ctx, kafka.IndicatorTopicConfig{Client: client, Topic: cfg.Indicators.Topic,
			Indicators: inds, Producer: prod, Logger: log})
		if err != nil {
			return err
		}
		defer topic.Close()
		runner.Feed, writer = topic, topic
	}
	if runner.Pulls, err = cfg.PullSources(); err != nil {
		return err
	}
	runner.Publisher = &pipeline.Publisher{Indicators: inds, Writer: writer, Logger: log}
	return runner.Run(ctx)
}

// buildSinks opens the alert sinks; the returned function closes file
// sinks.
func buildSinks(cfg *pipeline.Config, prod *kafka.Producer, stdout io.Writer) (pipeline.AlertSink, func(), error) {
	var sinks pipeline.MultiSink
	var files []*pipeline.WriterSink
	closeAll := func() {
		for _, s := range files {
			s.Close()
		}
	}
	for _, a := range cfg.Alerts {
		switch a.Type {
		case "stdout":
			sinks = append(sinks, pipeline.NewWriterSink(stdout))
		case "file":
			s, err := pipeline.OpenFileSink(a.Path)
			if err != nil {
				closeAll()
				return nil, nil, err
			}
			files = append(files, s)
			sinks = append(sinks, s)
		case "kafka":
			sinks = append(sinks, prod.Sink(a.Topic))
		}
	}
	return sinks, closeAll, nil
}
