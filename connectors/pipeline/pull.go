package pipeline

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"timap/connectors/feed"
	"timap/connectors/files"
	"timap/connectors/stix"
	"timap/engine"
)

// The kinds of FileIndicatorSource.
const (
	// KindFiles reads files and directories as `timap match
	// --indicators` does: STIX for *.json, a flat feed otherwise (or as
	// Format says), SourceSystem from each file's name.
	KindFiles = "files"
	// KindFeed reads one flat feed (file or http(s) URL) with the feed
	// options.
	KindFeed = "feed"
	// KindSTIX reads one STIX 2.x document (file or http(s) URL).
	KindSTIX = "stix"
)

// FileIndicatorSource pulls indicators from files, directories or URLs.
// Every pull reads everything (Pull.Complete), so entries that disappear
// are withdrawn.
type FileIndicatorSource struct {
	// Label is the source's configured name.
	Label string
	// Kind is KindFiles, KindFeed or KindSTIX.
	Kind string
	// Paths are the files or directories of KindFiles.
	Paths []string
	// Format is KindFiles' format: "auto" (default), "stix" or "feed".
	Format string
	// Location is the file path or http(s) URL of KindFeed and KindSTIX.
	Location string
	// SourceSystem names the indicators' source (and is part of flat-feed
	// IndicatorIds). Default: Label.
	SourceSystem string
	// ThreatType, Tags and ValidFor are KindFeed's feed.Options: copied
	// into every indicator; ValidFor sets an expiry that far after each
	// pull (0: none).
	ThreatType string
	Tags       []string
	ValidFor   time.Duration
	// Reload is the time between pulls; 0 reads once.
	Reload time.Duration
	// HTTPClient fetches URLs. Default: a client with a 60 s timeout.
	HTTPClient *http.Client
	// Now fixes the ingest time (tests). Zero: the clock.
	Now time.Time
}

// Name returns Label.
func (s *FileIndicatorSource) Name() string { return s.Label }

// Interval returns Reload.
func (s *FileIndicatorSource) Interval() time.Duration { return s.Reload }

// Pull reads the source. A path that does not exist, an unreadable URL
// or a document that is not STIX at all is an error; refused values are
// Problems.
func (s *FileIndicatorSource) Pull(ctx context.Context) (Pull, error) {
	now := s.Now
	if now.IsZero() {
		now = time.Now().UTC()
	}
	p := Pull{Complete: true}
	switch s.Kind {
	case KindFiles:
		format := s.Format
		if format == "" {
			format = "auto"
		}
		rep, err := files.LoadIndicators(s.Paths, format, now, func(b []*engine.Indicator) { p.Indicators = append(p.Indicators, b...) })
		if err != nil {
			return p, err
		}
		for _, pr := range rep.Problems {
			p.Problems = append(p.Problems, pr.Message)
		}
		return p, nil
	case KindFeed, KindSTIX:
		body, err := s.open(ctx)
		if err != nil {
			return p, err
		}
		defer body.Close()
		source := s.SourceSystem
		if source == "" {
			source = s.Label
		}
		if s.Kind == KindFeed {
			res, err := feed.Load(body, feed.Options{SourceSystem: source, ThreatType: s.ThreatType, Tags: s.Tags,
				ValidFor: s.ValidFor, Now: now, Name: s.Location})
			if err != nil {
				return p, err
			}
			p.Indicators = res.Indicators
			for _, r := range res.Rejected {
				p.Problems = append(p.Problems, r.Error())
			}
			return p, nil
		}
		res, err := stix.LoadReader(body, stix.Options{SourceSystem: source, Now: now, Name: s.Location})
		if err != nil {
			return p, err
		}
		p.Indicators = res.Indicators
		for _, pr := range res.Problems {
			p.Problems = append(p.Problems, s.Location+": "+pr.Error())
		}
		return p, nil
	}
	return p, fmt.Errorf("unknown indicator source kind %q", s.Kind)
}

// open opens Location: a GET for an http(s) URL, else a file.
func (s *FileIndicatorSource) open(ctx context.Context) (io.ReadCloser, error) {
	if !strings.HasPrefix(s.Location, "http://") && !strings.HasPrefix(s.Location, "https://") {
		return openFile(s.Location)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Location, nil)
	if err != nil {
		return nil, err
	}
	hc := s.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", s.Location, resp.Status)
	}
	return resp.Body, nil
}
