package pipeline

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// sourceKeys are the keys each indicator source type accepts (besides
// name and type).
var sourceKeys = map[string][]string{
	"files": {"paths", "format", "reload"},
	"feed":  {"path", "url", "source_system", "threat_type", "tags", "valid_for", "reload"},
	"stix":  {"path", "url", "source_system", "reload"},
	"taxii": {"source_system", "api_root", "collection", "version", "username", "password", "token", "api_key_header", "api_key",
		"client_cert", "client_key", "ca_file", "lookback", "poll", "spec_versions", "state_file"},
}

// reservedSources are source types with a configuration hook but no
// implementation yet.
var reservedSources = map[string]string{
	"misp":       "MISP pulls are not implemented yet",
	"upload_api": "the upload API listener is not implemented yet",
}

// eventKeys are the keys each event source type accepts (besides name
// and type).
var eventKeys = map[string][]string{
	"kafka":  {"topics", "format", "table", "timezone"},
	"syslog": {"listen", "format", "table", "timezone"},
	"file":   {"paths", "table"},
	"stdin":  {"format", "table", "timezone"},
}

// Validate checks the configuration as a whole and returns every problem
// found, each naming the file and line of the key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s%s: %s", c.at(path), path, fmt.Sprintf(format, args...)))
	}
	oneOf := func(path, v string, allowed ...string) {
		if !slices.Contains(allowed, v) {
			bad(path, "%q: want %s", v, strings.Join(allowed, ", "))
		}
	}
	oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf("log.format", c.Log.Format, "text", "json")
	if k := c.Kafka; k != nil {
		c.validateKafka(k, bad, oneOf)
	}
	hasKafkaEvents := false
	stdin := 0
	for i, e := range c.Events {
		p := fmt.Sprintf("events[%d]", i)
		keys, ok := eventKeys[e.Type]
		if !ok {
			bad(p+".type", "%q: want kafka, syslog, file or stdin", e.Type)
			continue
		}
		c.onlyKeys(p, keys, bad)
		if _, err := ParseFormat(e.Format); err != nil {
			bad(p+".format", "%v", err)
		}
		if e.Timezone != "" {
			if _, err := time.LoadLocation(e.Timezone); err != nil {
				bad(p+".timezone", "%v", err)
			}
		}
		switch e.Type {
		case "kafka":
			hasKafkaEvents = true
			if c.Kafka == nil {
				bad(p+".type", "a kafka event source needs the kafka section")
			}
			if len(e.Topics) == 0 {
				bad(p+".topics", "at least one topic is required")
			}
		case "syslog":
			if _, _, err := SplitListen(e.Listen); err != nil {
				bad(p+".listen", "%v", err)
			}
		case "file":
			if len(e.Paths) == 0 {
				bad(p+".paths", "at least one path is required")
			}
			for _, path := range e.Paths {
				if path == "-" {
					stdin++
				}
			}
		case "stdin":
			stdin++
		}
	}
	if stdin > 1 {
		bad("events", "standard input is read by more than one source")
	}
	c.validateIndicators(hasKafkaEvents, bad, oneOf)
	if c.Suppression.Window <= 0 {
		bad("suppression.window", "must be positive")
	}
	if c.Suppression.Lateness < 0 {
		bad("suppression.lateness", "must not be negative")
	}
	oneOf("state.type", c.State.Type, "topic", "file", "none")
	switch {
	case c.State.Type == "topic" && c.Kafka == nil:
		bad("state.type", "topic needs the kafka section")
	case c.State.Type == "file" && c.State.Dir == "":
		bad("state.dir", "required with type file")
	}
	if c.State.Interval <= 0 {
		bad("state.interval", "must be positive")
	}
	if c.State.MaxRecordBytes < 1000012 {
		bad("state.max_record_bytes", "must be at least 1000012 (Kafka's default)")
	}
	for i, a := range c.Alerts {
		p := fmt.Sprintf("alerts[%d]", i)
		switch a.Type {
		case "stdout":
		case "file":
			if a.Path == "" {
				bad(p+".path", "required with type file")
			}
		case "kafka":
			if c.Kafka == nil {
				bad(p+".type", "a kafka sink needs the kafka section")
			}
		case "webhook":
			bad(p+".type", "webhook sinks are not implemented yet")
		default:
			bad(p+".type", "%q: want stdout, file or kafka", a.Type)
		}
	}
	return errors.Join(errs...)
}

func (c *Config) validateKafka(k *KafkaConfig, bad func(string, string, ...any), oneOf func(string, string, ...string)) {
	if len(k.Brokers) == 0 {
		bad("kafka.brokers", "at least one broker is required (or run with --embedded-kafka)")
	}
	oneOf("kafka.start_offset", k.StartOffset, "earliest", "latest")
	if k.HeartbeatInterval >= k.SessionTimeout {
		bad("kafka.heartbeat_interval", "must be shorter than session_timeout (%s)", k.SessionTimeout)
	}
	for path, v := range map[string]int{"kafka.partitions": k.Partitions, "kafka.queue_batches": k.QueueBatches,
		"kafka.max_poll_records": k.MaxPollRecords, "kafka.max_buffered_alerts": k.MaxBufferedAlerts} {
		if v <= 0 {
			bad(path, "must be positive")
		}
	}
	if *k.Linger < 0 {
		bad("kafka.linger", "must not be negative")
	}
	if k.ShutdownTimeout <= 0 {
		bad("kafka.shutdown_timeout", "must be positive")
	}
	oneOf("kafka.sasl.mechanism", k.SASL.Mechanism, "", "plain", "scram-sha-256", "scram-sha-512")
	if k.SASL.Mechanism != "" && k.SASL.Username == "" {
		bad("kafka.sasl.username", "required with a SASL mechanism")
	}
	if (k.TLS.CertFile == "") != (k.TLS.KeyFile == "") {
		bad("kafka.tls.cert_file", "cert_file and key_file go together")
	}
}

func (c *Config) validateIndicators(hasKafkaEvents bool, bad func(string, string, ...any), oneOf func(string, string, ...string)) {
	ic := c.Indicators
	oneOf("indicators.leader", ic.Leader, "elected", "always", "never")
	if ic.Topic != "" {
		if c.Kafka == nil {
			bad("indicators.topic", "an indicator topic needs the kafka section")
		}
		if ic.Leader == "elected" && !hasKafkaEvents && len(ic.Sources) > 0 {
			bad("indicators.leader", "elected needs a kafka event source (the group elects); use always or never")
		}
	}
	if c.Rules.Builtin != nil && !*c.Rules.Builtin && len(c.Rules.Files) == 0 {
		bad("rules.builtin", "no rules: rules.builtin is false and rules.files is empty")
	}
	if c.Rules.Compat != "" && c.Rules.Compat != "sentinel" {
		bad("rules.compat", "the only compatibility mode is sentinel")
	}
	if *ic.ExpiryGrace < 0 {
		bad("indicators.expiry_grace", "must not be negative")
	}
	names := map[string]bool{}
	for i, s := range ic.Sources {
		p := fmt.Sprintf("indicators.sources[%d]", i)
		if s.Name == "" {
			bad(p, "name is required")
		} else if names[s.Name] {
			bad(p+".name", "%q is used twice", s.Name)
		}
		names[s.Name] = true
		if why, ok := reservedSources[s.Type]; ok {
			bad(p+".type", "%s: %s (key reserved)", s.Type, why)
			continue
		}
		keys, ok := sourceKeys[s.Type]
		if !ok {
			bad(p+".type", "%q: want files, feed, stix or taxii", s.Type)
			continue
		}
		c.onlyKeys(p, keys, bad)
		if s.Reload < 0 {
			bad(p+".reload", "must not be negative")
		}
		switch s.Type {
		case "files":
			if len(s.Paths) == 0 {
				bad(p+".paths", "at least one path is required")
			}
			oneOf(p+".format", cmp.Or(s.Format, "auto"), "auto", "stix", "feed")
		case "feed", "stix":
			if (s.Path == "") == (s.URL == "") {
				bad(p, "exactly one of path and url is required")
			}
			if s.URL != "" && !strings.HasPrefix(s.URL, "http://") && !strings.HasPrefix(s.URL, "https://") {
				bad(p+".url", "%q: want an http(s) URL", s.URL)
			}
		case "taxii":
			if s.TAXII.APIRoot == "" || s.TAXII.Collection == "" {
				bad(p, "api_root and collection are required")
			}
		}
	}
}

// onlyKeys reports keys of the mapping at path that its type does not
// accept.
func (c *Config) onlyKeys(path string, allowed []string, bad func(string, string, ...any)) {
	for key := range c.lines {
		rest, ok := strings.CutPrefix(key, path+".")
		if !ok || strings.ContainsAny(rest, ".[") || rest == "name" || rest == "type" {
			continue
		}
		if !slices.Contains(allowed, rest) {
			bad(key, "does not apply to this type (accepted: name, type, %s)", strings.Join(allowed, ", "))
		}
	}
}

// SplitListen splits a syslog listen address "udp://host:port" or
// "tcp://host:port" into network and address.
func SplitListen(listen string) (network, addr string, err error) {
	network, addr, ok := strings.Cut(listen, "://")
	if !ok || (network != "udp" && network != "tcp") {
		return "", "", fmt.Errorf("%q: want udp://host:port or tcp://host:port", listen)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", "", fmt.Errorf("%q: %v", listen, err)
	}
	return network, addr, nil
}
