package pipeline

import "time"

// Config is the configuration of `timap run`, read from YAML by
// LoadConfig. docs/configuration.md documents every key with its
// default; the defaults are filled by LoadConfig (and ApplyEmbedded),
// not by the zero value.
type Config struct {
	Log         LogConfig         `yaml:"log"`
	Kafka       *KafkaConfig      `yaml:"kafka"`
	Indicators  IndicatorsConfig  `yaml:"indicators"`
	Events      []EventConfig     `yaml:"events"`
	Rules       RulesConfig       `yaml:"rules"`
	Suppression SuppressionConfig `yaml:"suppression"`
	State       StateConfig       `yaml:"state"`
	Alerts      []AlertConfig     `yaml:"alerts"`

	// name and lines locate keys for error messages: lines maps a key
	// path ("events[1].type") to its line.
	name  string
	lines map[string]int
}

// LogConfig configures logging (to standard error).
type LogConfig struct {
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
	// Format is text (default) or json.
	Format string `yaml:"format"`
	// StatsInterval is how often the stage's counters are logged.
	// Default 1m; 0 never.
	StatsInterval *time.Duration `yaml:"stats_interval"`
}

// KafkaConfig is the Kafka cluster and the consumer group. Absent: no
// Kafka at all (events from files, stdin or syslog; alerts to stdout or
// a file).
type KafkaConfig struct {
	// Brokers are the seed brokers, "host:port". Required. An entry may
	// hold several, separated by commas, so that one ${ENV} can carry
	// the list.
	Brokers []string `yaml:"brokers"`
	// ClientID is sent to the brokers. Default "timap".
	ClientID string `yaml:"client_id"`
	// Group is the consumer group of the event topics. Default "timap".
	Group string `yaml:"group"`
	// StartOffset is where a partition without a committed offset or
	// checkpoint starts: earliest (default) or latest.
	StartOffset string `yaml:"start_offset"`
	// SessionTimeout, HeartbeatInterval and RebalanceTimeout are the
	// group membership timers. Defaults 45s, 3s, 60s.
	SessionTimeout    time.Duration `yaml:"session_timeout"`
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	RebalanceTimeout  time.Duration `yaml:"rebalance_timeout"`
	// CreateTopics creates missing topics at start: event and alert
	// topics with Partitions partitions, the indicator and state topics
	// compacted with one partition. Default false (true with
	// --embedded-kafka).
	CreateTopics bool `yaml:"create_topics"`
	// Partitions is the partition count of topics CreateTopics creates.
	// Default 6.
	Partitions int `yaml:"partitions"`
	// ReplicationFactor of created topics; default -1 (the broker's
	// default.replication.factor).
	ReplicationFactor int `yaml:"replication_factor"`
	// TLS and SASL secure the connections; both off by default.
	TLS  TLSConfig  `yaml:"tls"`
	SASL SASLConfig `yaml:"sasl"`
	// DeadLetterTopic receives records that cannot be decoded, with
	// headers naming their origin and the error. Default "": none.
	DeadLetterTopic string `yaml:"dead_letter_topic"`
	// QueueBatches is how many fetched batches may wait per partition
	// between the consumer and its lane. Default 4.
	QueueBatches int `yaml:"queue_batches"`
	// MaxPollRecords bounds the records taken per poll. Default 1000.
	MaxPollRecords int `yaml:"max_poll_records"`
	// MaxBufferedAlerts bounds the alerts (and state and dead-letter
	// records) produced and not yet acknowledged; producing blocks beyond
	// it. Default 10000.
	MaxBufferedAlerts int `yaml:"max_buffered_alerts"`
	// Linger is how long the producer waits to fill a batch. Default 5ms.
	Linger *time.Duration `yaml:"linger"`
	// ShutdownTimeout bounds the orderly stop: finishing in-flight
	// batches, acknowledgements, state and commits. Default 30s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// TLSConfig enables TLS to the brokers.
type TLSConfig struct {
	// Enabled turns TLS on (system CAs unless CAFile). Default false.
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM bundle of CAs to trust instead of the system's.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate for mutual TLS.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// InsecureSkipVerify disables certificate checks (tests only).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// SASLConfig authenticates to the brokers.
type SASLConfig struct {
	// Mechanism is "" (none, default), plain, scram-sha-256 or
	// scram-sha-512.
	Mechanism string `yaml:"mechanism"`
	Username  string `yaml:"username"`
	// Password; use ${ENV} to keep it out of the file.
	Password string `yaml:"password"`
}

// IndicatorsConfig says where indicators come from.
type IndicatorsConfig struct {
	// Topic is the indicator topic: compacted, keyed by IndicatorId,
	// tombstone = withdrawal. Every instance reads it from the beginning
	// and follows it; pull sources publish to it. Default "": no topic,
	// each instance pulls its sources itself.
	Topic string `yaml:"topic"`
	// Leader says which instance pulls the sources when Topic is set:
	// elected (default: the group member assigned partition 0 of the
	// first event topic), always or never.
	Leader string `yaml:"leader"`
	// ExpiryGrace is how long after an indicator's expiry a late event
	// stamped before the expiry still matches. Default 1h.
	ExpiryGrace *time.Duration `yaml:"expiry_grace"`
	// Sources are the pull sources.
	Sources []SourceConfig `yaml:"sources"`
}

// SourceConfig is one indicator pull source.
type SourceConfig struct {
	// Name identifies the source; required, unique.
	Name string `yaml:"name"`
	// Type is files, feed, stix or taxii; misp and upload_api are
	// reserved and refused.
	Type string `yaml:"type"`
	// Paths are files or directories (files).
	Paths []string `yaml:"paths"`
	// Format of files: auto (default), stix or feed.
	Format string `yaml:"format"`
	// Path or URL of one document (feed, stix).
	Path string `yaml:"path"`
	URL  string `yaml:"url"`
	// SourceSystem names the indicators' source; default Name (files:
	// each file's base name).
	SourceSystem string `yaml:"source_system"`
	// ThreatType, Tags and ValidFor are flat-feed options (feed).
	ThreatType string        `yaml:"threat_type"`
	Tags       []string      `yaml:"tags"`
	ValidFor   time.Duration `yaml:"valid_for"`
	// Reload is the time between pulls of files, feed and stix; 0 (the
	// default) reads once.
	Reload time.Duration `yaml:"reload"`
	// TAXII holds the taxii source's keys (connectors/taxii).
	TAXII TAXIIConfig `yaml:",inline"`
}

// TAXIIConfig are the keys of a taxii source, as connectors/taxii
// documents them.
type TAXIIConfig struct {
	APIRoot      string `yaml:"api_root"`
	Collection   string `yaml:"collection"`
	Version      string `yaml:"version"`
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	Token        string `yaml:"token"`
	APIKeyHeader string `yaml:"api_key_header"`
	APIKey       string `yaml:"api_key"`
	ClientCert   string `yaml:"client_cert"`
	ClientKey    string `yaml:"client_key"`
	CAFile       string `yaml:"ca_file"`
	Lookback     string `yaml:"lookback"`
	Poll         string `yaml:"poll"`
	SpecVersions string `yaml:"spec_versions"`
	// StateFile keeps the pull checkpoints; default: in memory.
	StateFile string `yaml:"state_file"`
}

// EventConfig is one event source.
type EventConfig struct {
	// Name labels the source in logs (and syslog alert origins).
	// Default: the type.
	Name string `yaml:"name"`
	// Type is kafka, syslog, file or stdin.
	Type string `yaml:"type"`
	// Topics are the Kafka topics (kafka).
	Topics []string `yaml:"topics"`
	// Format of records: auto (default), cef or ndjson.
	Format string `yaml:"format"`
	// Table of NDJSON rows without a "Type" key. Default
	// CommonSecurityLog.
	Table string `yaml:"table"`
	// Timezone of CEF and syslog times without a zone (IANA name).
	// Default UTC.
	Timezone string `yaml:"timezone"`
	// Listen is the syslog address: udp://host:port or tcp://host:port.
	Listen string `yaml:"listen"`
	// Paths are the files of a file source ("-" is standard input).
	Paths []string `yaml:"paths"`
}

// RulesConfig selects the rules.
type RulesConfig struct {
	// Builtin includes the built-in rules (rules/sentinel). Default true.
	Builtin *bool `yaml:"builtin"`
	// Files are extra rule files or directories (YAML).
	Files []string `yaml:"files"`
	// Compat "sentinel" runs the rules with Sentinel's semantics, quirks
	// included (as timap match --compat sentinel). Default "": timap's.
	Compat string `yaml:"compat"`
}

// SuppressionConfig are the suppression windows.
type SuppressionConfig struct {
	// Window: one alert per (rule, indicator, value) per window of event
	// time. Default 1h.
	Window time.Duration `yaml:"window"`
	// Lateness is how far behind a partition's newest event time a row
	// may still count into its window. Default 0s.
	Lateness time.Duration `yaml:"lateness"`
}

// StateConfig says where partitions checkpoint their suppression state.
type StateConfig struct {
	// Type is topic (default with Kafka), file, or none (default without
	// Kafka).
	Type string `yaml:"type"`
	// Topic is the compacted state topic. Default "timap.state".
	Topic string `yaml:"topic"`
	// Dir is the checkpoint directory of type file.
	Dir string `yaml:"dir"`
	// Interval is how often partitions checkpoint and commit. Default 1s.
	Interval time.Duration `yaml:"interval"`
	// MaxRecordBytes is the largest state record produced, in bytes.
	// Default 1000012 (Kafka's default max.message.bytes); raise it
	// together with the topic's max.message.bytes when partitions hold
	// many open alerts (a checkpoint above it is not saved, so its offset
	// is not committed).
	MaxRecordBytes int32 `yaml:"max_record_bytes"`
}

// AlertConfig is one alert sink.
type AlertConfig struct {
	// Type is stdout, file or kafka; webhook is reserved and refused.
	Type string `yaml:"type"`
	// Topic of a kafka sink. Default "timap.alerts".
	Topic string `yaml:"topic"`
	// Path of a file sink (appended to).
	Path string `yaml:"path"`
}
