package taxii

import (
	"context"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"timap/connectors/taxii/taxiitest"
	"timap/engine"
)

// TestPollerRestart: the checkpoint survives a restart, so the restarted
// poller imports nothing; the store sees no change.
func TestPollerRestart(t *testing.T) {
	srv := serve(t, Version21, taxiitest.Options{})
	statePath := filepath.Join(t.TempDir(), "state.json")
	store := engine.NewStore(engine.StoreOptions{})
	var batches []engine.UpsertResult
	newPoller := func() *Poller {
		st, err := OpenState(statePath)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := newClient(Options{})
		return &Poller{Client: c, State: st, Sources: []Source{src(srv, Version21, collHighValue)},
			Handle: func(b []*engine.Indicator) { batches = append(batches, store.Upsert(b...)) }}
	}
	p := newPoller()
	if err := p.PollOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(batches) != 1 || batches[0].Added != 2 {
		t.Fatalf("first poll %+v", batches)
	}
	if err := p.PollOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	p = newPoller() // restart
	if err := p.PollOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(batches) != 1 {
		t.Fatalf("later polls handed batches: %+v", batches)
	}
	want := time.Date(2017, 12, 31, 13, 49, 53, 935e6, time.UTC)
	if since := p.Since(src(srv, Version21, collHighValue)); !since.Equal(want) {
		t.Errorf("checkpoint %s", since)
	}
	for _, r := range srv.Requests()[1:] {
		if r.Query.Get("added_after") != "2017-12-31T13:49:53.935000Z" {
			t.Errorf("later request without the checkpoint: %v", r.Query)
		}
	}
}

// TestPollerRun: Run polls every source, waits its interval between
// polls, reports failures and stops when the context ends.
func TestPollerRun(t *testing.T) {
	srv := serve(t, Version21, taxiitest.Options{
		Intercept: taxiitest.Only(collSecret, taxiitest.Fail(-1, http.StatusForbidden, "Forbidden", "no"))})
	c, _ := newClient(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	waits := map[time.Duration]int{}
	reports := map[string][]bool{}
	var got []*engine.Indicator
	good := src(srv, Version21, collHighValue)
	good.Poll = "minute"
	bad := src(srv, Version21, collSecret)
	bad.Name, bad.Poll = "Secret", "day"
	p := &Poller{Client: c, Sources: []Source{good, bad},
		Handle: func(b []*engine.Indicator) { got = append(got, b...) },
		Report: func(s Source, res *PullResult, err error) {
			mu.Lock()
			defer mu.Unlock()
			reports[s.Name] = append(reports[s.Name], err == nil)
		},
		Wait: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			waits[d]++
			if waits[time.Minute] >= 3 && waits[24*time.Hour] >= 3 {
				cancel()
			}
			mu.Unlock()
			return ctx.Err()
		}}
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
	if len(got) != 2 {
		t.Errorf("handed %d indicators, want the 2 of the first poll only", len(got))
	}
	if r := reports["Medallion"]; len(r) < 3 || !r[0] || !r[2] {
		t.Errorf("good reports %v", r)
	}
	if r := reports["Secret"]; len(r) < 3 || r[0] {
		t.Errorf("bad reports %v", r)
	}
}

func TestPollerInvalid(t *testing.T) {
	c, _ := newClient(Options{})
	s := Source{APIRoot: "http://h/r/", Collection: "c"}
	p := &Poller{Client: c, Sources: []Source{s, s}, Handle: func([]*engine.Indicator) {}}
	mustContain(t, p.Run(context.Background()), "read the same collection")
	p.Sources = []Source{{APIRoot: "nope"}}
	mustContain(t, p.PollOnce(context.Background()), "api_root")
	mustContain(t, (&Poller{Client: c}).PollOnce(context.Background()), "Handle")
}
