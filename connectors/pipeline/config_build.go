package pipeline

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"
)

// Logger returns the slog logger the log section asks for, writing to w.
func (c *Config) Logger(w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(c.Log.Level)) // validated
	opts := &slog.HandlerOptions{Level: level}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Route returns how the records of event source e are decoded.
func (c *Config) Route(e EventConfig) Route {
	format, _ := ParseFormat(e.Format) // validated
	r := Route{Format: format, Table: e.Table}
	if e.Timezone != "" {
		r.Location, _ = time.LoadLocation(e.Timezone) // validated
	}
	return r
}

// KafkaRoutes maps every topic of the kafka event sources to its route.
// A topic named by two sources is an error.
func (c *Config) KafkaRoutes() (map[string]Route, error) {
	routes := map[string]Route{}
	for i, e := range c.Events {
		if e.Type != "kafka" {
			continue
		}
		for j, t := range e.Topics {
			if _, dup := routes[t]; dup {
				p := fmt.Sprintf("events[%d].topics[%d]", i, j)
				return nil, fmt.Errorf("%s%s: topic %q is consumed by two event sources", c.at(p), p, t)
			}
			routes[t] = c.Route(e)
		}
	}
	return routes, nil
}

// LocalEventSources returns the event sources that need no Kafka: files,
// standard input (read from stdin) and syslog listeners. onListen, when
// set, is told each syslog listener's bound address.
func (c *Config) LocalEventSources(stdin io.Reader, onListen func(name string, addr string)) []EventSource {
	var out []EventSource
	for _, e := range c.Events {
		switch e.Type {
		case "file":
			out = append(out, &FileSource{Label: e.Name, Paths: e.Paths, Route: c.Route(e), Stdin: stdin})
		case "stdin":
			out = append(out, &FileSource{Label: e.Name, Paths: []string{"-"}, Route: c.Route(e), Stdin: stdin})
		case "syslog":
			network, addr, _ := SplitListen(e.Listen) // validated
			s := &SyslogSource{Label: e.Name, Network: network, Addr: addr, Route: c.Route(e)}
			if onListen != nil {
				name := e.Name
				s.OnListen = func(a net.Addr) { onListen(name, a.String()) }
			}
			out = append(out, s)
		}
	}
	return out
}

// PullSources returns the indicator pull sources.
func (c *Config) PullSources() ([]IndicatorSource, error) {
	var out []IndicatorSource
	for i, s := range c.Indicators.Sources {
		switch s.Type {
		case KindFiles:
			out = append(out, &FileIndicatorSource{Label: s.Name, Kind: KindFiles, Paths: s.Paths, Format: s.Format, Reload: s.Reload})
		case KindFeed, KindSTIX:
			loc := s.Path
			if loc == "" {
				loc = s.URL
			}
			out = append(out, &FileIndicatorSource{Label: s.Name, Kind: s.Type, Location: loc, SourceSystem: s.SourceSystem,
				ThreatType: s.ThreatType, Tags: s.Tags, ValidFor: s.ValidFor, Reload: s.Reload})
		case "taxii":
			src, err := NewTAXIISource(s.Name, s.SourceSystem, s.TAXII)
			if err != nil {
				p := fmt.Sprintf("indicators.sources[%d]", i)
				return nil, fmt.Errorf("%s%s: %w", c.at(p), p, err)
			}
			out = append(out, src)
		}
	}
	return out, nil
}
