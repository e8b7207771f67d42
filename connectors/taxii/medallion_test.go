package taxii

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"timap/connectors/taxii/taxiitest"
	"timap/engine"
)

// pullAll walks discovery → API roots → collections and pulls every
// collection, as an operator exploring a server would. It returns the
// indicators per collection id and the errors per collection id.
func pullAll(t *testing.T, c *Client, srv *taxiitest.Server, version string) (map[string]*PullResult, map[string]error) {
	t.Helper()
	ctx := context.Background()
	base := Source{Name: "Medallion", Version: version}
	d, err := c.Discover(ctx, base, srv.DiscoveryURL())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.APIRoots) != 3 || d.APIRoots[2] != srv.APIRoot("trustgroup1") {
		t.Fatalf("api roots %q", d.APIRoots)
	}
	results, errs := map[string]*PullResult{}, map[string]error{}
	for _, root := range d.APIRoots {
		s := base
		s.APIRoot = root
		info, err := c.APIRoot(ctx, s)
		if err != nil || info.Title == "" || info.MaxContentLength != 9765625 {
			t.Fatalf("api root %s: %+v %v", root, info, err)
		}
		colls, err := c.Collections(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		for _, coll := range colls {
			s.Collection = coll.ID
			res, err := c.Pull(ctx, s, time.Time{})
			if err != nil {
				errs[coll.ID] = err
				continue
			}
			results[coll.ID] = res
		}
	}
	return results, errs
}

func TestMedallion21EveryCollection(t *testing.T) {
	srv := serve(t, Version21, taxiitest.Options{})
	c, _ := newClient(Options{})
	results, errs := pullAll(t, c, srv, Version21)

	hv := results[collHighValue]
	if hv == nil {
		t.Fatalf("no result for %s: %v", collHighValue, errs[collHighValue])
	}
	want := []string{
		"indicator--6770298f-0fd8-471a-ab8c-1c658a46574e Url=http://x4z9arb.cn/4712",
		"indicator--cd981c25-8042-4166-8945-51178443bdac FileHashValue=ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c",
	}
	if got := summary(hv.Indicators); !slices.Equal(got, want) {
		t.Errorf("indicators\n got %q\nwant %q", got, want)
	}
	url := hv.Indicators[0]
	if url.SourceSystem != "Medallion" || url.ThreatType != "url-watchlist" ||
		url.Description != "Accessing this url will infect your machine with malware. This is the last updated indicator" ||
		!url.Modified.Equal(time.Date(2017, 1, 27, 13, 49, 53, 935e6, time.UTC)) {
		t.Errorf("newest version not chosen: %+v", url)
	}
	// The third version of the URL indicator was the last added.
	if !hv.Checkpoint.Equal(time.Date(2017, 12, 31, 13, 49, 53, 935e6, time.UTC)) || hv.CheckpointFrom != "header" {
		t.Errorf("checkpoint %s from %s", hv.Checkpoint, hv.CheckpointFrom)
	}
	if hv.ObjectsSeen != 2 || hv.Pages != 1 || hv.Objects["indicator"] != 2 {
		t.Errorf("objects %v seen %d pages %d", hv.Objects, hv.ObjectsSeen, hv.Pages)
	}
	for _, id := range []string{collAdding, collPast24h} {
		if r := results[id]; r == nil || len(r.Indicators) != 0 || !r.Checkpoint.IsZero() {
			t.Errorf("%s: %+v %v", id, r, errs[id])
		}
	}
	for _, id := range []string{collSecret, collQuerying} {
		var he *HTTPError
		if !errors.As(errs[id], &he) || he.StatusCode != http.StatusForbidden {
			t.Fatalf("%s: want 403, got %v", id, errs[id])
		}
		mustContain(t, errs[id], srv.APIRoot("trustgroup1"), id, "Forbidden", "cannot be read", "may not read")
	}
	coll, err := c.Collection(context.Background(), src(srv, Version21, collHighValue))
	if err != nil || coll.Title != "High Value Indicator Collection" || !coll.CanRead || len(coll.MediaTypes) != 2 {
		t.Errorf("collection %+v %v", coll, err)
	}
	if len(results)+len(errs) != 5 {
		t.Errorf("pulled %d collections, want 5", len(results)+len(errs))
	}
	for _, r := range srv.Requests() {
		if r.Header.Get("Accept") != "application/taxii+json;version=2.1" {
			t.Errorf("%s: Accept %q", r.Path, r.Header.Get("Accept"))
		}
		if q := r.Query; r.Path == "/trustgroup1/collections/"+collHighValue+"/objects/" &&
			(q.Get("match[type]") != "indicator" || q.Get("match[spec_version]") != "2.0,2.1" || q.Get("limit") != "1000" || q.Has("added_after")) {
			t.Errorf("objects query %v", q)
		}
	}
}

func TestMedallion20EveryCollection(t *testing.T) {
	srv := serve(t, Version20, taxiitest.Options{})
	c, _ := newClient(Options{})
	results, errs := pullAll(t, c, srv, Version20)
	check := func(coll, want string, checkpoint time.Time) {
		t.Helper()
		r := results[coll]
		if r == nil {
			t.Fatalf("%s: %v", coll, errs[coll])
		}
		if got := summary(r.Indicators); !slices.Equal(got, []string{want}) {
			t.Errorf("%s: got %q want %q", coll, got, want)
		}
		if !r.Checkpoint.Equal(checkpoint) {
			t.Errorf("%s: checkpoint %s", coll, r.Checkpoint)
		}
	}
	check(collHighValue, "indicator--a932fcc6-e032-176c-126f-cb970a5a1ade FileHashValue=ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c",
		time.Date(2016, 11, 1, 3, 4, 5, 0, time.UTC))
	check(collPast24h, "indicator--d81f86b9-975b-bc0b-775e-810c5ad45a4f Url=http://x4z9arb.cn/4712",
		time.Date(2016, 12, 27, 13, 49, 53, 0, time.UTC))
	if ind := results[collPast24h].Indicators[0]; ind.ThreatType != "url-watchlist" || ind.Description != "Malicious site hosting downloader" ||
		!ind.Modified.Equal(time.Date(2017, 1, 27, 13, 49, 53, 935e6, time.UTC)) {
		t.Errorf("2.0 indicator: %+v", ind)
	}
	var he *HTTPError
	if !errors.As(errs[collSecret], &he) || he.StatusCode != http.StatusForbidden {
		t.Errorf("secret collection: %v", errs[collSecret])
	}
	for _, r := range srv.Requests() {
		accept, wantAccept := r.Header.Get("Accept"), "application/vnd.oasis.taxii+json; version=2.0"
		if len(r.Path) > 9 && r.Path[len(r.Path)-9:] == "/objects/" {
			wantAccept = "application/vnd.oasis.stix+json; version=2.0"
			if r.Header.Get("Range") != "items 0-999" || r.Query.Has("limit") || r.Query.Has("match[spec_version]") {
				t.Errorf("2.0 objects request: Range %q query %v", r.Header.Get("Range"), r.Query)
			}
		}
		if accept != wantAccept {
			t.Errorf("%s: Accept %q, want %q", r.Path, accept, wantAccept)
		}
	}
}

// TestSecondPullImportsNothing pins the checkpoint contract: pulling again
// from the returned checkpoint yields no object, so the store sees no
// change; a version added later is the only thing the next pull brings.
func TestSecondPullImportsNothing(t *testing.T) {
	for _, version := range []string{Version21, Version20} {
		t.Run(version, func(t *testing.T) {
			srv := serve(t, version, taxiitest.Options{})
			c, _ := newClient(Options{})
			s := src(srv, version, collHighValue)
			store := engine.NewStore(engine.StoreOptions{})
			ctx := context.Background()

			first, err := c.Pull(ctx, s, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if r := store.Upsert(first.Indicators...); r.Added != len(first.Indicators) || r.Added == 0 {
				t.Fatalf("first upsert %+v", r)
			}
			second, err := c.Pull(ctx, s, first.Checkpoint)
			if err != nil {
				t.Fatal(err)
			}
			if second.ObjectsSeen != 0 || len(second.Indicators) != 0 || !second.Checkpoint.Equal(first.Checkpoint) {
				t.Fatalf("second pull: %d objects, %d indicators, checkpoint %s", second.ObjectsSeen, len(second.Indicators), second.Checkpoint)
			}
			if r := store.Upsert(second.Indicators...); r != (engine.UpsertResult{}) {
				t.Errorf("second upsert changed %+v", r)
			}
			// Pulling everything again changes nothing either: all stale.
			again, _ := c.Pull(ctx, s, time.Time{})
			if r := store.Upsert(again.Indicators...); r.Added+r.Updated+r.Revoked != 0 || r.Stale != len(first.Indicators) {
				t.Errorf("re-import %+v", r)
			}

			// A new version, added after the checkpoint, is all the third pull brings.
			id := first.Indicators[0].IndicatorId
			obj := `{"type":"indicator","spec_version":"2.1","id":"` + id + `","created":"2016-11-03T12:30:59.000Z",` +
				`"modified":"2020-02-02T00:00:00.000Z","pattern":"[url:value = 'http://new.example/x']","pattern_type":"stix","valid_from":"2020-02-02T00:00:00Z"}`
			added := first.Checkpoint.Add(time.Hour)
			if err := srv.AddObject("trustgroup1", collHighValue, []byte(obj), added); err != nil {
				t.Fatal(err)
			}
			third, err := c.Pull(ctx, s, second.Checkpoint)
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(third.Indicators); len(got) != 1 || got[0] != id+" Url=http://new.example/x" || !third.Checkpoint.Equal(added) {
				t.Fatalf("third pull %q checkpoint %s", got, third.Checkpoint)
			}
			if r := store.Upsert(third.Indicators...); r.Updated != 1 {
				t.Errorf("third upsert %+v", r)
			}
		})
	}
}

func TestManifestFallback(t *testing.T) {
	for _, version := range []string{Version21, Version20} {
		t.Run(version, func(t *testing.T) {
			srv := serve(t, version, taxiitest.Options{NoDateHeaders: true})
			c, _ := newClient(Options{})
			s := src(srv, version, collHighValue)
			res, err := c.Pull(context.Background(), s, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			want := time.Date(2017, 12, 31, 13, 49, 53, 935e6, time.UTC)
			if version == Version20 {
				want = time.Date(2016, 11, 1, 3, 4, 5, 0, time.UTC)
			}
			if res.CheckpointFrom != "manifest" || !res.Checkpoint.Equal(want) || len(res.Warnings) != 0 {
				t.Fatalf("checkpoint %s from %s, warnings %q", res.Checkpoint, res.CheckpointFrom, res.Warnings)
			}
			if last := srv.Requests()[len(srv.Requests())-1]; last.Path != "/trustgroup1/collections/"+collHighValue+"/manifest/" {
				t.Errorf("last request %s", last.Path)
			}
			again, err := c.Pull(context.Background(), s, res.Checkpoint)
			if err != nil || again.ObjectsSeen != 0 || again.CheckpointFrom != "unchanged" {
				t.Errorf("second pull: %+v %v", again, err)
			}
		})
	}
}

// TestManifestFallbackFails: no header and no manifest leaves the
// checkpoint where it was, with a warning, rather than failing the pull.
func TestManifestFallbackFails(t *testing.T) {
	srv := serve(t, Version21, taxiitest.Options{NoDateHeaders: true,
		Intercept: taxiitest.Only("/manifest/", taxiitest.Fail(-1, http.StatusNotFound, "Not found", "no manifest here"))})
	c, _ := newClient(Options{})
	res, err := c.Pull(context.Background(), src(srv, Version21, collHighValue), time.Time{})
	if err != nil || len(res.Indicators) != 2 || res.CheckpointFrom != "unchanged" || len(res.Warnings) != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	t.Log(res.Warnings[0])
}
