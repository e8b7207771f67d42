package pipeline

import (
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"timap/connectors/tabular"
	"timap/engine"
)

// StageConfig configures a Stage. Executor and Sink are required; the
// zero value of every other field is its documented default.
type StageConfig struct {
	// Executor holds the compiled rules and the indicator store.
	Executor *engine.Executor
	// Sink receives every alert.
	Sink AlertSink
	// DeadLetter, when set, receives records that could not be decoded.
	// Default: none (bad records are only counted and logged).
	DeadLetter DeadLetterSink
	// Window is the suppression window: one alert per (rule, indicator,
	// matched value) per window of event time. Default 1 h.
	Window time.Duration
	// Lateness is how far behind a lane's newest event time a row may
	// arrive and still count into its window. Default 0; at least the
	// rules' longest join window (Executor.JoinWindow).
	Lateness time.Duration
	// MaxFuture: a row stamped more than this after the clock (a device
	// with a wrong clock) is matched and counted but does not advance the
	// event time that closes windows, as in `timap match`. Default 24 h.
	MaxFuture time.Duration
	// Now fixes the clock for expiry decisions and for rows without any
	// time (tests, replays with `timap match --now` semantics). Zero: the
	// wall clock.
	Now time.Time
	// SentinelDedup groups alerts by the rules' Sentinel dedup keys
	// (compatibility mode; engine.AggregatorOptions.SentinelDedup).
	SentinelDedup bool
	// MarkInterval is how often a lane snapshots a checkpoint (offset and
	// suppression state) for its source to commit. Default 1 s. Shorter
	// means fewer records replayed after a crash and more state writes.
	MarkInterval time.Duration
	// Schemas type NDJSON rows (tabular.Schema): column names resolved,
	// values converted, findings counted in Stats.ColumnIssues and each
	// new kind logged once. Nil: rows are read untyped.
	Schemas engine.Schemas
	// Logger receives bad-record warnings. Default: discard.
	Logger *slog.Logger
}

// Stage holds what all lanes share: rules, sinks, options and counters.
// It is safe for concurrent use; each lane is not.
type Stage struct {
	cfg     StageConfig
	log     *slog.Logger
	stats   counters
	columns tabular.Report // schema findings of every lane
}

// counters are the stage's totals, added to per batch by the lanes.
type counters struct {
	records, bad, matches, alerts, deadLetters atomic.Int64
}

// Stats is a snapshot of the stage's counters since it was created.
type Stats struct {
	// Records counts rows decoded and matched; Bad the records that could
	// not be decoded (skipped); Matches the rule matches; Alerts the
	// alerts sent to the sink (first emissions and window-close
	// updates); DeadLetters the bad records sent to the dead-letter sink;
	// ColumnIssues the schema findings in NDJSON rows, which were kept
	// (tabular.Report; ColumnReport lists them).
	Records, Bad, Matches, Alerts, DeadLetters, ColumnIssues int64
}

// NewStage checks cfg and fills its defaults. It returns an error when
// Executor or Sink is missing.
func NewStage(cfg StageConfig) (*Stage, error) {
	if cfg.Executor == nil || cfg.Sink == nil {
		return nil, errors.New("pipeline: StageConfig needs an Executor and a Sink")
	}
	if cfg.Window <= 0 {
		cfg.Window = time.Hour
	}
	// Joined matches come as late as the join window allows.
	cfg.Lateness = max(cfg.Lateness, cfg.Executor.JoinWindow())
	if cfg.MaxFuture <= 0 {
		cfg.MaxFuture = 24 * time.Hour
	}
	if cfg.MarkInterval <= 0 {
		cfg.MarkInterval = time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Stage{cfg: cfg, log: log}, nil
}

// Stats returns the counters.
func (s *Stage) Stats() Stats {
	return Stats{
		Records:      s.stats.records.Load(),
		Bad:          s.stats.bad.Load(),
		Matches:      s.stats.matches.Load(),
		Alerts:       s.stats.alerts.Load(),
		DeadLetters:  s.stats.deadLetters.Load(),
		ColumnIssues: s.columns.Total(),
	}
}

// ColumnReport returns the schema findings of every lane so far.
func (s *Stage) ColumnReport() []tabular.Issue { return s.columns.Issues() }

// schema is a lane's typing of NDJSON rows: shared report, each new kind
// of finding logged once.
func (s *Stage) schema() tabular.Schema {
	return tabular.Schema{Schemas: s.cfg.Schemas, Report: &s.columns, OnFirst: func(is tabular.Issue) {
		s.log.Warn("column issue (row kept)", "kind", is.Kind.String(), "issue", is.String())
	}}
}

// Sink returns the stage's alert sink.
func (s *Stage) Sink() AlertSink { return s.cfg.Sink }

// Logger returns the stage's logger.
func (s *Stage) Logger() *slog.Logger { return s.log }

// MarkInterval returns how often lanes snapshot checkpoints.
func (s *Stage) MarkInterval() time.Duration { return s.cfg.MarkInterval }

// now is the time used for expiry decisions.
func (s *Stage) now() time.Time {
	if !s.cfg.Now.IsZero() {
		return s.cfg.Now
	}
	return time.Now().UTC()
}

// NewLane returns a lane for one stream (a topic partition, a file, a
// listener). topic and partition label its records and alerts; route says
// how to decode them. The lane starts with no suppression state and
// accepts any offset; see Restore.
func (s *Stage) NewLane(topic string, partition int32, route Route) *Lane {
	if route.Format == "" {
		route.Format = FormatAuto
	}
	if route.Table == "" {
		route.Table = "CommonSecurityLog"
	}
	l := &Lane{
		st:     s,
		topic:  topic,
		part:   partition,
		origin: PartitionKey(topic, partition),
		route:  route,
		m:      s.cfg.Executor.NewMatcher(),
		anyCol: s.cfg.Executor.NeedsAny(),
		next:   -1,
		marked: -1,
	}
	l.parser.Location = route.Location
	l.json.Alias = true // a record is matched before the next is decoded
	if s.cfg.Schemas != nil {
		l.json.Schema = s.schema()
	}
	l.agg = engine.NewAggregator(engine.AggregatorOptions{
		Window: s.cfg.Window, Lateness: s.cfg.Lateness, EmitFirst: true, Clock: s.now, MaxFuture: s.cfg.MaxFuture,
		SentinelDedup: s.cfg.SentinelDedup,
	}, l.sendAlert)
	l.tr.init()
	return l
}
