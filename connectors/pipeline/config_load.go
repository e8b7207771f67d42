package pipeline

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// envRef is ${NAME} or ${NAME:-default}.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// LoadConfig reads the YAML configuration at path with ParseConfig and
// checks it with Validate.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := ParseConfig(data, path)
	if err != nil {
		return nil, err
	}
	return cfg, cfg.Validate()
}

// ParseConfig reads a YAML configuration; name labels errors. Parsing is
// strict: an unknown or repeated key or a value of the wrong type is an
// error naming the file and line. In every value, ${NAME} is replaced by
// the environment variable NAME (an error when unset) and
// ${NAME:-default} by NAME or, when unset or empty, default, so secrets
// stay out of the file. Defaults are filled; the caller then adjusts the
// result (command-line overrides, ApplyEmbedded) and calls Validate. An
// empty document is the default configuration: events from standard
// input, alerts to standard output, built-in rules.
func ParseConfig(data []byte, name string) (*Config, error) {
	cfg := &Config{name: name, lines: map[string]int{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) > 0 {
		root := doc.Content[0]
		var errs []error
		cfg.walk(root, reflect.TypeFor[Config](), "", &errs)
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		if err := root.Decode(cfg); err != nil {
			return nil, decodeError(name, err)
		}
	}
	cfg.fillDefaults()
	return cfg, nil
}

// decodeError renders yaml's type errors as "file:line: why".
func decodeError(name string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var errs []error
	for _, e := range te.Errors {
		if rest, ok := strings.CutPrefix(e, "line "); ok {
			if n, why, ok := strings.Cut(rest, ": "); ok {
				errs = append(errs, fmt.Errorf("%s:%s: %s", name, n, why))
				continue
			}
		}
		errs = append(errs, fmt.Errorf("%s: %s", name, e))
	}
	return errors.Join(errs...)
}

// walk checks the keys of n against the yaml tags of t, records the line
// of every key and expands ${ENV} references in scalars.
func (c *Config) walk(n *yaml.Node, t reflect.Type, path string, errs *[]error) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if path != "" {
		c.lines[path] = n.Line
	}
	switch {
	case n.Kind == yaml.ScalarNode:
		c.expand(n, path, errs)
	case t.Kind() == reflect.Struct && t != reflect.TypeFor[time.Duration]() && n.Kind == yaml.MappingNode:
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ft, ok := fields[k.Value]
			if !ok {
				*errs = append(*errs, fmt.Errorf("%s:%d: unknown key %q%s (known: %s)", c.name, k.Line, k.Value,
					inPath(path), strings.Join(slices.Sorted(mapKeys(fields)), ", ")))
				continue
			}
			sub := k.Value
			if path != "" {
				sub = path + "." + k.Value
			}
			c.walk(v, ft, sub, errs)
			c.lines[sub] = k.Line
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, item := range n.Content {
			c.walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
		}
	}
	// Other shape mismatches are left to Decode, whose errors name lines.
}

func inPath(path string) string {
	if path == "" {
		return ""
	}
	return " in " + path
}

// expand replaces ${ENV} references in a scalar.
func (c *Config) expand(n *yaml.Node, path string, errs *[]error) {
	if !strings.Contains(n.Value, "${") {
		return
	}
	var missing []string
	n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
		m := envRef.FindStringSubmatch(ref)
		v, ok := os.LookupEnv(m[1])
		if strings.Contains(ref, ":-") {
			if v == "" {
				return m[2]
			}
			return v
		}
		if !ok {
			missing = append(missing, m[1])
		}
		return v
	})
	if len(missing) > 0 {
		*errs = append(*errs, fmt.Errorf("%s:%d: %s: environment variable %s is not set", c.name, n.Line, path, strings.Join(missing, ", ")))
	}
	if n.Style == 0 {
		n.Tag = "" // re-resolve: "${PORT}" may now be an int
	}
}

// yamlFields maps the yaml keys of struct t (inline structs flattened) to
// their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "" || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if opts == "inline" {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		out[name] = f.Type
	}
	return out
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Declared reports whether the key at path ("events",
// "kafka.brokers", "events[0].type") was in the file, as opposed to
// filled by a default.
func (c *Config) Declared(path string) bool {
	_, ok := c.lines[path]
	return ok
}

// at renders "file:line: " for a key path: the key's line, or for a key
// left out its nearest enclosing key's line, or "file: ".
func (c *Config) at(path string) string {
	for p := path; p != ""; {
		if line, ok := c.lines[p]; ok {
			return c.name + ":" + strconv.Itoa(line) + ": "
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return c.name + ": "
}

// fillDefaults sets the documented defaults of keys left out.
func (c *Config) fillDefaults() {
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	if c.Log.StatsInterval == nil {
		d := time.Minute
		c.Log.StatsInterval = &d
	}
	if c.Kafka != nil {
		c.Kafka.fillDefaults()
		c.Kafka.Brokers = splitList(c.Kafka.Brokers)
	}
	if c.Indicators.Leader == "" {
		c.Indicators.Leader = "elected"
	}
	if c.Indicators.ExpiryGrace == nil {
		d := time.Hour
		c.Indicators.ExpiryGrace = &d
	}
	for i := range c.Events {
		e := &c.Events[i]
		if e.Name == "" {
			e.Name = e.Type
		}
		if e.Format == "" {
			e.Format = string(FormatAuto)
		}
		if e.Table == "" {
			e.Table = "CommonSecurityLog"
		}
	}
	if len(c.Events) == 0 {
		c.Events = []EventConfig{{Name: "stdin", Type: "stdin", Format: string(FormatAuto), Table: "CommonSecurityLog"}}
	}
	if c.Rules.Builtin == nil {
		t := true
		c.Rules.Builtin = &t
	}
	if c.Suppression.Window == 0 {
		c.Suppression.Window = time.Hour
	}
	if c.State.Type == "" {
		c.State.Type = "none"
		if c.Kafka != nil {
			c.State.Type = "topic"
		}
	}
	if c.State.Topic == "" {
		c.State.Topic = "timap.state"
	}
	if c.State.Interval == 0 {
		c.State.Interval = time.Second
	}
	if c.State.MaxRecordBytes == 0 {
		c.State.MaxRecordBytes = 1000012
	}
	for i := range c.Alerts {
		if c.Alerts[i].Type == "kafka" && c.Alerts[i].Topic == "" {
			c.Alerts[i].Topic = "timap.alerts"
		}
	}
	if len(c.Alerts) == 0 {
		c.Alerts = []AlertConfig{{Type: "stdout"}}
	}
}

func (k *KafkaConfig) fillDefaults() {
	if k.ClientID == "" {
		k.ClientID = "timap"
	}
	if k.Group == "" {
		k.Group = "timap"
	}
	if k.StartOffset == "" {
		k.StartOffset = "earliest"
	}
	if k.SessionTimeout == 0 {
		k.SessionTimeout = 45 * time.Second
	}
	if k.HeartbeatInterval == 0 {
		k.HeartbeatInterval = 3 * time.Second
	}
	if k.RebalanceTimeout == 0 {
		k.RebalanceTimeout = time.Minute
	}
	if k.Partitions == 0 {
		k.Partitions = 6
	}
	if k.ReplicationFactor == 0 {
		k.ReplicationFactor = -1
	}
	if k.QueueBatches == 0 {
		k.QueueBatches = 4
	}
	if k.MaxPollRecords == 0 {
		k.MaxPollRecords = 1000
	}
	if k.MaxBufferedAlerts == 0 {
		k.MaxBufferedAlerts = 10000
	}
	if k.Linger == nil {
		d := 5 * time.Millisecond
		k.Linger = &d
	}
	if k.ShutdownTimeout == 0 {
		k.ShutdownTimeout = 30 * time.Second
	}
}

// ApplyEmbedded points the configuration at an embedded broker at addr
// (`timap run --embedded-kafka`): it sets the brokers and topic
// creation, and fills what a Kafka deployment needs and the file left
// out — one Kafka event source on "timap.events" when no Kafka event
// source is configured, a Kafka alert sink on "timap.alerts" when none
// is (replacing the implicit stdout sink), the indicator topic
// "timap.indicators" and the state topic. The result is validated again.
func (c *Config) ApplyEmbedded(addr string) error {
	if c.Kafka == nil {
		c.Kafka = &KafkaConfig{}
		c.Kafka.fillDefaults()
		if c.State.Type == "none" {
			c.State.Type = "topic"
		}
	}
	c.Kafka.Brokers = []string{addr}
	c.Kafka.CreateTopics = true
	if !slices.ContainsFunc(c.Events, func(e EventConfig) bool { return e.Type == "kafka" }) {
		ev := EventConfig{Name: "kafka", Type: "kafka", Topics: []string{"timap.events"}, Format: string(FormatAuto), Table: "CommonSecurityLog"}
		if len(c.Events) == 1 && c.Events[0].Type == "stdin" && !c.Declared("events") {
			c.Events = nil // the implicit stdin source
		}
		c.Events = append(c.Events, ev)
	}
	if !slices.ContainsFunc(c.Alerts, func(a AlertConfig) bool { return a.Type == "kafka" }) {
		if !c.Declared("alerts") {
			c.Alerts = nil // the implicit stdout sink: alerts go to the topic
		}
		c.Alerts = append(c.Alerts, AlertConfig{Type: "kafka", Topic: "timap.alerts"})
	}
	if c.Indicators.Topic == "" {
		c.Indicators.Topic = "timap.indicators"
	}
	return c.Validate()
}

// splitList splits entries holding comma-separated values ("k1:9092,k2:9092"
// from one environment variable) and drops empty ones.
func splitList(in []string) []string {
	var out []string
	for _, e := range in {
		for _, v := range strings.Split(e, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}
