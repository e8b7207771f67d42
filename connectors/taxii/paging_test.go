package taxii

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"timap/connectors/taxii/taxiitest"
	"timap/engine"
)

var synthStart = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

// synth serves n synthetic indicators.
func synth(t testing.TB, version string, n int, opts taxiitest.Options) (*taxiitest.Server, Source) {
	t.Helper()
	opts.Version = version
	opts.Data = taxiitest.Synthetic(version, n, synthStart)
	srv := taxiitest.NewServer(t, opts)
	return srv, Source{Name: "Synthetic", APIRoot: srv.APIRoot(taxiitest.SyntheticRoot), Collection: taxiitest.SyntheticCollection, Version: version}
}

// objectRequests are the requests to the objects endpoint.
func objectRequests(srv *taxiitest.Server) []taxiitest.Request {
	var out []taxiitest.Request
	for _, r := range srv.Requests() {
		if strings.HasSuffix(r.Path, "/objects/") {
			out = append(out, r)
		}
	}
	return out
}

// added is the date_added of synthetic item i.
func added(i int) time.Time { return synthStart.Add(time.Duration(i) * time.Millisecond) }

func TestPaging21Next(t *testing.T) {
	srv, s := synth(t, Version21, 25, taxiitest.Options{})
	c, _ := newClient(Options{PageSize: 10})
	since := synthStart.Add(-time.Hour)
	res, err := c.Pull(context.Background(), s, since)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Indicators) != 25 || res.Pages != 3 || res.Requests != 3 || !res.Checkpoint.Equal(added(24)) {
		t.Fatalf("%d indicators, %d pages, %d requests, checkpoint %s", len(res.Indicators), res.Pages, res.Requests, res.Checkpoint)
	}
	reqs := objectRequests(srv)
	for i, r := range reqs {
		// The same added_after on every page, next from the second on.
		if r.Query.Get("added_after") != "2025-02-28T23:00:00.000000Z" || r.Query.Get("limit") != "10" {
			t.Errorf("request %d: %v", i, r.Query)
		}
		if want := map[int]string{0: "", 1: "p10", 2: "p20"}[i]; r.Query.Get("next") != want {
			t.Errorf("request %d: next %q, want %q", i, r.Query.Get("next"), want)
		}
	}
	if pt := res.PerType; pt[engine.TypeIP] != 7 || pt[engine.TypeDomain] != 6 || pt[engine.TypeURL] != 6 || pt[engine.TypeFileHash] != 6 {
		t.Errorf("per type %v", res.PerType)
	}
}

// TestPaging21ServerLimit: the server pages below the client's limit.
func TestPaging21ServerLimit(t *testing.T) {
	_, s := synth(t, Version21, 25, taxiitest.Options{PageSize: 7})
	c, _ := newClient(Options{})
	res, err := c.Pull(context.Background(), s, time.Time{})
	if err != nil || len(res.Indicators) != 25 || res.Pages != 4 {
		t.Fatalf("%v: %d indicators in %d pages", err, len(res.Indicators), res.Pages)
	}
}

// TestPaging21MoreWithoutNext: more=true without next continues with
// added_after = X-TAXII-Date-Added-Last (TAXII 2.1 §3.5).
func TestPaging21MoreWithoutNext(t *testing.T) {
	srv, s := synth(t, Version21, 25, taxiitest.Options{NoNext: true})
	c, _ := newClient(Options{PageSize: 10})
	res, err := c.Pull(context.Background(), s, time.Time{})
	if err != nil || len(res.Indicators) != 25 || res.Pages != 3 {
		t.Fatalf("%v: %d indicators in %d pages", err, len(res.Indicators), res.Pages)
	}
	reqs := objectRequests(srv)
	if reqs[0].Query.Has("added_after") || reqs[1].Query.Get("added_after") != "2025-03-01T00:00:00.009000Z" ||
		reqs[2].Query.Get("added_after") != "2025-03-01T00:00:00.019000Z" {
		t.Errorf("added_after: %q %q %q", reqs[0].Query.Get("added_after"), reqs[1].Query.Get("added_after"), reqs[2].Query.Get("added_after"))
	}
}

// TestPaging21MoreWithoutNextOrHeader cannot page and says so.
func TestPaging21MoreWithoutNextOrHeader(t *testing.T) {
	_, s := synth(t, Version21, 25, taxiitest.Options{NoNext: true, NoDateHeaders: true})
	c, _ := newClient(Options{PageSize: 10})
	_, err := c.Pull(context.Background(), s, time.Time{})
	mustContain(t, err, s.APIRoot, s.Collection, "more=true without next")
}

func TestPaging20Range(t *testing.T) {
	for _, tc := range []struct {
		name             string
		client, server   int
		pages            int
		ranges, contents []string
	}{
		{"client pages", 10, 0, 3, []string{"items 0-9", "items 10-19", "items 20-29"}, []string{"items 0-9/25", "items 10-19/25", "items 20-24/25"}},
		{"server caps", 10, 7, 4, []string{"items 0-9", "items 7-16", "items 14-23", "items 21-30"}, nil},
		{"exact end", 5, 0, 5, []string{"items 0-4", "items 5-9", "items 10-14", "items 15-19", "items 20-24"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, s := synth(t, Version20, 25, taxiitest.Options{PageSize: tc.server})
			c, _ := newClient(Options{PageSize: tc.client})
			res, err := c.Pull(context.Background(), s, time.Time{})
			if err != nil || len(res.Indicators) != 25 || res.Pages != tc.pages || !res.Checkpoint.Equal(added(24)) {
				t.Fatalf("%v: %d indicators in %d pages, checkpoint %s", err, len(res.Indicators), res.Pages, res.Checkpoint)
			}
			for i, r := range objectRequests(srv) {
				if got := r.Header.Get("Range"); got != tc.ranges[i] {
					t.Errorf("request %d: Range %q, want %q", i, got, tc.ranges[i])
				}
			}
		})
	}
}

// TestPaging20PastEnd: an empty result answered with 416 is no error.
func TestPaging20PastEnd(t *testing.T) {
	_, s := synth(t, Version20, 3, taxiitest.Options{})
	c, _ := newClient(Options{})
	res, err := c.Pull(context.Background(), s, added(5))
	if err != nil || len(res.Indicators) != 0 || !res.Checkpoint.Equal(added(5)) {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestRepeatedPageStops(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version string
		opts    taxiitest.Options
		want    string
	}{
		{"2.1 same next", Version21, taxiitest.Options{RepeatPage: true}, "again"},
		{"2.1 fresh next", Version21, taxiitest.Options{RepeatFreshNext: true}, "the 10 objects of page 1 again"},
		{"2.0 range restarts", Version20, taxiitest.Options{RepeatPage: true}, `asked for items 10-19, got Content-Range "items 0-9/25"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, s := synth(t, tc.version, 25, tc.opts)
			c, _ := newClient(Options{PageSize: 10})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			res, err := c.Pull(ctx, s, time.Time{})
			mustContain(t, err, "taxii server "+s.APIRoot, "collection "+s.Collection, "request 2", tc.want)
			if n := len(srv.Requests()); n > 3 {
				t.Errorf("%d requests before stopping", n)
			}
			// The first page still counts.
			if res == nil || len(res.Indicators) != 10 || !res.Checkpoint.Equal(added(9)) {
				t.Errorf("partial result %+v", res)
			}
		})
	}
}

// TestPartialProgress: a pull failing on page 3 returns the first two
// pages and a checkpoint covering them only.
func TestPartialProgress(t *testing.T) {
	_, s := synth(t, Version21, 25, taxiitest.Options{Intercept: func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n >= 3 {
			taxiitest.WriteError(w, http.StatusBadRequest, "Bad request", fmt.Sprintf("request %d refused", n))
			return true
		}
		return false
	}})
	c, _ := newClient(Options{PageSize: 10})
	res, err := c.Pull(context.Background(), s, time.Time{})
	mustContain(t, err, "request 3", "HTTP 400", "request 3 refused")
	if len(res.Indicators) != 20 || !res.Checkpoint.Equal(added(19)) || res.CheckpointFrom != "header" {
		t.Fatalf("%d indicators, checkpoint %s", len(res.Indicators), res.Checkpoint)
	}
}

func TestLookback(t *testing.T) {
	for lookback, want := range map[string]string{
		"1d": "2026-04-30T12:00:00.000000Z", "1w": "2026-04-24T12:00:00.000000Z", "1m": "2026-04-01T12:00:00.000000Z", "all": "",
	} {
		srv, s := synth(t, Version21, 1, taxiitest.Options{})
		s.Lookback = lookback
		c, _ := newClient(Options{})
		res, err := c.Pull(context.Background(), s, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if got := objectRequests(srv)[0].Query.Get("added_after"); got != want {
			t.Errorf("lookback %s: added_after %q, want %q", lookback, got, want)
		}
		if lookback != "all" && (len(res.Indicators) != 0 || res.AddedAfter.IsZero()) {
			t.Errorf("lookback %s: %d indicators from %s", lookback, len(res.Indicators), res.AddedAfter)
		}
	}
}

func TestSpecVersionFilter(t *testing.T) {
	srv := serve(t, Version21, taxiitest.Options{})
	c, _ := newClient(Options{})
	for sv, want := range map[string]int{"2.1": 2, "2.0": 0, "any": 2} {
		s := src(srv, Version21, collHighValue)
		s.SpecVersions = sv
		res, err := c.Pull(context.Background(), s, time.Time{})
		if err != nil || len(res.Indicators) != want {
			t.Errorf("spec_versions %s: %v, %d indicators", sv, err, len(res.Indicators))
		}
		last := objectRequests(srv)[len(objectRequests(srv))-1]
		if (sv == "any") == last.Query.Has("match[spec_version]") {
			t.Errorf("spec_versions %s: query %v", sv, last.Query)
		}
	}
}
