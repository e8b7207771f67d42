package pipeline

import (
	"context"
	"fmt"
	"time"

	"timap/connectors/taxii"
)

// TAXIISource pulls one TAXII 2.0/2.1 collection through
// connectors/taxii. Pulls are incremental (added_after the checkpoint),
// so nothing is withdrawn; revocations arrive as new STIX versions. The
// checkpoint moves only after the pull's changes are published
// (Pull.Commit), so a failed publication is pulled again.
type TAXIISource struct {
	label  string
	src    taxii.Source
	client *taxii.Client
	state  *taxii.State
	// since is the checkpoint when no state file is kept.
	since time.Time
}

// NewTAXIISource validates the source (taxii.Source.Validate fills the
// defaults: TAXII 2.1, lookback all, poll hourly) and opens its state
// file, when StateFile is set. name is the configured source name;
// sourceSystem, when set, replaces the TAXII friendly name as the
// indicators' SourceSystem (default: name).
func NewTAXIISource(name, sourceSystem string, c TAXIIConfig) (*TAXIISource, error) {
	if sourceSystem == "" {
		sourceSystem = name
	}
	src := taxii.Source{
		Name: sourceSystem, APIRoot: c.APIRoot, Collection: c.Collection, Version: c.Version,
		Username: c.Username, Password: c.Password, Token: c.Token, APIKeyHeader: c.APIKeyHeader, APIKey: c.APIKey,
		ClientCert: c.ClientCert, ClientKey: c.ClientKey, CAFile: c.CAFile, Lookback: c.Lookback, Poll: c.Poll,
		SpecVersions: c.SpecVersions,
	}
	if err := src.Validate(); err != nil {
		return nil, err
	}
	s := &TAXIISource{label: name, src: src, client: taxii.NewClient(taxii.Options{})}
	if c.StateFile != "" {
		st, err := taxii.OpenState(c.StateFile)
		if err != nil {
			return nil, err
		}
		s.state = st
	}
	return s, nil
}

// Name returns the configured name.
func (s *TAXIISource) Name() string { return s.label }

// Interval is the source's polling frequency (a minute, an hour or a
// day).
func (s *TAXIISource) Interval() time.Duration { return s.src.Interval() }

// Pull fetches what the collection received since the checkpoint. A pull
// that failed part way returns what the completed pages gave, with its
// checkpoint, and the error.
func (s *TAXIISource) Pull(ctx context.Context) (Pull, error) {
	since := s.since
	if s.state != nil {
		since = time.Time{}
		if cp, ok := s.state.Get(s.src); ok {
			since = cp.AddedAfter
		}
	}
	res, err := s.client.Pull(ctx, s.src, since)
	if res == nil {
		return Pull{}, err
	}
	p := Pull{Indicators: res.Indicators}
	for _, pr := range res.Problems {
		p.Problems = append(p.Problems, pr.Error())
	}
	if next := res.Checkpoint; next.After(since) {
		p.Commit = func() error {
			if s.state != nil {
				return s.state.Set(s.src, next, time.Now())
			}
			s.since = next
			return nil
		}
	}
	if err != nil {
		err = fmt.Errorf("taxii %s: %w", s.src.Key(), err)
	}
	return p, err
}
