package pipeline

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"timap/connectors/taxii/taxiitest"
	"timap/engine"
)

// TestTAXIISource pulls a TAXII 2.1 collection incrementally: the
// checkpoint moves only when the pull is committed (after publishing),
// and is kept in the state file across restarts.
func TestTAXIISource(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	srv := taxiitest.NewServer(t, taxiitest.Options{Data: taxiitest.Synthetic("2.1", 20, start)})
	cfg := TAXIIConfig{APIRoot: srv.APIRoot(taxiitest.SyntheticRoot), Collection: taxiitest.SyntheticCollection,
		StateFile: filepath.Join(t.TempDir(), "taxii-state.json")}
	src, err := NewTAXIISource("bench-feed", "", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if src.Interval() != time.Hour || src.Name() != "bench-feed" {
		t.Errorf("interval %v name %q", src.Interval(), src.Name())
	}
	inds := NewIndicators(engine.NewStore(engine.StoreOptions{}))
	pub := &Publisher{Indicators: inds, Writer: inds}
	pull := func(s *TAXIISource, commit bool) int {
		t.Helper()
		p, err := s.Pull(context.Background())
		if err != nil || p.Complete {
			t.Fatalf("pull: %v (complete %v)", err, p.Complete)
		}
		if _, err := pub.Publish(context.Background(), s.Name(), p); err != nil {
			t.Fatal(err)
		}
		if commit && p.Commit != nil {
			if err := p.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		return len(p.Indicators)
	}
	if n := pull(src, false); n != 20 {
		t.Fatalf("first pull: %d indicators", n)
	}
	if n := pull(src, true); n != 20 {
		t.Fatalf("uncommitted pull must start over: %d indicators", n)
	}
	if n := pull(src, true); n != 0 {
		t.Errorf("pull after the checkpoint: %d indicators", n)
	}
	restarted, err := NewTAXIISource("bench-feed", "", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := pull(restarted, true); n != 0 {
		t.Errorf("restarted source re-pulled %d indicators", n)
	}
	if st := inds.Store.Stats(); st.Live != 20 {
		t.Errorf("%d live indicators", st.Live)
	}
	if ind, ok := inds.Store.Get("indicator--00000000-0000-4000-8000-000000000000"); !ok || ind.SourceSystem != "bench-feed" {
		t.Errorf("indicator %+v", ind)
	}
}
