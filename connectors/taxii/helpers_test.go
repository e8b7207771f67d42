package taxii

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"timap/connectors/taxii/taxiitest"
	"timap/engine"
)

// fixedNow is the clock of the tests.
var fixedNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// The medallion data's collections (trustgroup1 in both files).
const (
	collHighValue = "91a7b528-80eb-42ed-a74d-c6fbd5a26116" // readable, indicators
	collPast24h   = "52892447-4d7e-4f70-b94d-d7f22742ff63" // readable
	collSecret    = "64993447-4d7e-4f70-b94d-d7f33742ee63" // can_read false
	collAdding    = "365fed99-08fa-fdcd-a1b3-fb247eb41d01" // 2.1 only, empty
	collQuerying  = "472c94ae-3113-4e3e-a4dd-a9f4ac7471d4" // 2.1 only, can_read false
)

func medallion(t testing.TB, version string) []byte {
	t.Helper()
	name := "testdata/medallion-default_data.json"
	if version == Version20 {
		name = "testdata/medallion-default_data-taxii20.json"
	}
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// sleeps records the waits of a client instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

// newClient returns a client with a fixed clock and recorded sleeps.
func newClient(opts Options) (*Client, *sleeps) {
	rec := &sleeps{}
	if opts.Sleep == nil {
		opts.Sleep = rec.sleep
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return fixedNow }
	}
	return NewClient(opts), rec
}

// serve starts a server with the medallion data of version.
func serve(t testing.TB, version string, opts taxiitest.Options) *taxiitest.Server {
	t.Helper()
	opts.Version = version
	if opts.Data == nil {
		opts.Data = medallion(t, version)
	}
	return taxiitest.NewServer(t, opts)
}

// src is a source for collection coll of trustgroup1 on srv.
func src(srv *taxiitest.Server, version, coll string) Source {
	return Source{Name: "Medallion", APIRoot: srv.APIRoot("trustgroup1"), Collection: coll, Version: version}
}

// summary renders indicators as "id value,value" lines.
func summary(inds []*engine.Indicator) []string {
	var out []string
	for _, ind := range inds {
		var vals []string
		for _, o := range ind.Observables {
			vals = append(vals, o.Column+"="+o.Value)
		}
		out = append(out, ind.IndicatorId+" "+strings.Join(vals, ","))
	}
	return out
}

// mustContain fails t unless err's message has every part.
func mustContain(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q lacks %q", err, p)
		}
	}
}
