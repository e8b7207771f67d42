package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"timap/engine"
)

// TestPublisherDiffs: reloading an unchanged feed publishes nothing,
// although flat-feed versions carry the load time; an entry that
// disappears is withdrawn; a new one is published.
func TestPublisherDiffs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c2.txt")
	os.WriteFile(path, []byte("203.0.113.9\nevil.example\n"), 0o644)
	inds := NewIndicators(engine.NewStore(engine.StoreOptions{}))
	pub := &Publisher{Indicators: inds, Writer: inds}
	src := &FileIndicatorSource{Label: "c2", Kind: KindFeed, Location: path, Now: testNow}
	publish := func() PublishResult {
		t.Helper()
		p, err := src.Pull(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		res, err := pub.Publish(context.Background(), src.Name(), p)
		if err != nil {
			t.Fatal(err)
		}
		src.Now = src.Now.Add(time.Hour)
		return res
	}
	if r := publish(); r.Published != 2 || r.Withdrawn != 0 {
		t.Errorf("first pull: %+v", r)
	}
	if r := publish(); r.Published != 0 || r.Unchanged != 2 {
		t.Errorf("unchanged reload: %+v", r)
	}
	os.WriteFile(path, []byte("evil.example\nphish.example\n"), 0o644)
	if r := publish(); r.Published != 1 || r.Withdrawn != 1 || r.Unchanged != 1 {
		t.Errorf("changed feed: %+v", r)
	}
	if st := inds.Store.Stats(); st.Live != 2 || len(inds.Owned("c2")) != 2 {
		t.Errorf("live %d, owned %v", st.Live, inds.Owned("c2"))
	}
	// The withdrawn address comes back with a newer version.
	os.WriteFile(path, []byte("evil.example\nphish.example\n203.0.113.9\n"), 0o644)
	if r := publish(); r.Published != 1 || inds.Store.Stats().Live != 3 {
		t.Errorf("re-added: %+v", r)
	}
}

// TestIndicatorsApplyOrder: a version followed by its tombstone in one
// batch ends withdrawn; a tombstone followed by a newer version ends live.
func TestIndicatorsApplyOrder(t *testing.T) {
	inds := NewIndicators(engine.NewStore(engine.StoreOptions{}))
	o, _ := engine.NewObservable(engine.TypeIP, "NetworkIP", "203.0.113.9", "")
	v := func(m time.Time) *engine.Indicator {
		return &engine.Indicator{IndicatorId: "x", Active: true, Modified: m, Observables: []engine.Observable{o}}
	}
	r := inds.Apply([]IndicatorChange{{ID: "x", Source: "s", Indicator: v(testNow)}, {ID: "x"}})
	if r.Added != 1 || r.Deleted != 1 || inds.Store.Stats().Live != 0 || len(inds.Owned("s")) != 0 {
		t.Errorf("version then tombstone: %+v", r)
	}
	inds.Apply([]IndicatorChange{{ID: "x", Source: "s", Indicator: v(testNow.Add(time.Hour))}})
	if inds.Store.Stats().Live != 1 || len(inds.Owned("s")) != 1 {
		t.Errorf("newer version after the tombstone is not live")
	}
}
