package taxii

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"timap/connectors/taxii/taxiitest"
)

func TestMediaTypeParameters(t *testing.T) {
	for _, ct := range []string{
		"application/taxii+json;version=2.1",
		"application/taxii+json; version=2.1",
		`application/taxii+json;charset=utf-8;version="2.1"`,
		" Application/TAXII+JSON ; Version = 2.1 ;",
		"application/taxii+json",
		"application/json; charset=utf-8",
		"application/stix+json;version=2.1",
	} {
		srv := serve(t, Version21, taxiitest.Options{ContentType: ct})
		c, _ := newClient(Options{})
		if res, err := c.Pull(context.Background(), src(srv, Version21, collHighValue), time.Time{}); err != nil || len(res.Indicators) != 2 {
			t.Errorf("Content-Type %q: %v", ct, err)
		}
	}
	for _, ct := range []string{"application/vnd.oasis.taxii+json; version=2.0", "application/taxii+json;version=2.0"} {
		srv := serve(t, Version21, taxiitest.Options{ContentType: ct})
		c, _ := newClient(Options{})
		_, err := c.Pull(context.Background(), src(srv, Version21, collHighValue), time.Time{})
		mustContain(t, err, srv.APIRoot("trustgroup1"), collHighValue, "version 2.0 to a TAXII 2.1 request", "set the source's version to 2.0")
	}
	// 2.0 responses with parameters reordered and odd spacing.
	srv := serve(t, Version20, taxiitest.Options{ContentType: `application/vnd.oasis.stix+json ;charset=UTF-8;  version = "2.0"`})
	c, _ := newClient(Options{})
	if res, err := c.Pull(context.Background(), src(srv, Version20, collPast24h), time.Time{}); err != nil || len(res.Indicators) != 1 {
		t.Errorf("2.0 odd media type: %v", err)
	}
}

// TestHTMLOn200: a login portal answering 200 with HTML is an error with
// a short snippet, not a JSON syntax error.
func TestHTMLOn200(t *testing.T) {
	srv := serve(t, Version21, taxiitest.Options{Intercept: func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><head><title>Sign in</title></head><body><form>user</form>"+strings.Repeat("<p>x</p>", 500)+"</body></html>")
		return true
	}})
	c, _ := newClient(Options{})
	_, err := c.Pull(context.Background(), src(srv, Version21, collHighValue), time.Time{})
	mustContain(t, err, srv.APIRoot("trustgroup1"), collHighValue, "text/html, not TAXII JSON", "Sign in")
	if len(err.Error()) > 500 {
		t.Errorf("error too long (%d): %s", len(err.Error()), err)
	}
}

func TestHTTPErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   taxiitest.Options
		coll   string
		status int
		want   []string
	}{
		{"401 json", taxiitest.Options{Username: "alice", Password: "secret"}, collHighValue, 401,
			[]string{"HTTP 401 Unauthorized", "Unauthorized: valid credentials are required", "check the username/password"}},
		{"403 json", taxiitest.Options{}, collSecret, 403, []string{"HTTP 403 Forbidden", "Forbidden: collection " + collSecret + " cannot be read"}},
		{"404 json", taxiitest.Options{}, "no-such-collection", 404,
			[]string{"HTTP 404 Not Found", "Collection not found: no collection no-such-collection in API root trustgroup1", "check the API root URL"}},
		{"502 html", taxiitest.Options{Intercept: taxiitest.HTMLError(502)}, collHighValue, 502,
			[]string{"HTTP 502 Bad Gateway", "after 3 attempts", "502 Bad Gateway — Bad Gateway The proxy could not serve"}},
		{"403 html", taxiitest.Options{Intercept: taxiitest.HTMLError(403)}, collHighValue, 403, []string{"403 Forbidden — Forbidden"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, Version21, tc.opts)
			c, _ := newClient(Options{Retries: 2})
			s := src(srv, Version21, tc.coll)
			_, err := c.Pull(context.Background(), s, time.Time{})
			var he *HTTPError
			if !errors.As(err, &he) || he.StatusCode != tc.status || he.Collection != tc.coll || he.Server != s.APIRoot || he.Request != 1 {
				t.Fatalf("got %#v", err)
			}
			mustContain(t, err, append(tc.want, "taxii server "+s.APIRoot, "collection "+tc.coll, "request 1 (GET "+s.APIRoot+"collections/")...)
			if msg := err.Error(); len(msg) > 600 || len(he.Snippet) > 170 || strings.Contains(msg, "<") || strings.Contains(msg, "tracking") {
				t.Errorf("error dumps the body (%d bytes): %s", len(msg), msg)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	opts := taxiitest.Options{Username: "alice", Password: "s3cret", Token: "tok-123", APIKeyHeader: "X-API-Key", APIKey: "k-456"}
	srv := serve(t, Version21, opts)
	c, _ := newClient(Options{Retries: -1})
	for _, tc := range []struct {
		name string
		set  func(*Source)
		ok   bool
	}{
		{"basic", func(s *Source) { s.Username, s.Password = "alice", "s3cret" }, true},
		{"bearer", func(s *Source) { s.Token = "tok-123" }, true},
		{"api key", func(s *Source) { s.APIKeyHeader, s.APIKey = "x-api-key", "k-456" }, true},
		{"wrong password", func(s *Source) { s.Username, s.Password = "alice", "guess" }, false},
		{"wrong token", func(s *Source) { s.Token = "tok-999" }, false},
		{"none", func(s *Source) {}, false},
	} {
		s := src(srv, Version21, collHighValue)
		tc.set(&s)
		res, err := c.Pull(context.Background(), s, time.Time{})
		if tc.ok && (err != nil || len(res.Indicators) != 2) {
			t.Errorf("%s: %v", tc.name, err)
		}
		var he *HTTPError
		if !tc.ok && (!errors.As(err, &he) || he.StatusCode != http.StatusUnauthorized) {
			t.Errorf("%s: want 401, got %v", tc.name, err)
		}
	}
	last := srv.Requests()[2]
	if last.Header.Get("X-Api-Key") != "k-456" || last.Header.Get("Authorization") != "" {
		t.Errorf("api key request headers %v", last.Header)
	}
}

func TestMutualTLS(t *testing.T) {
	pki := taxiitest.NewPKI(t)
	srv := serve(t, Version21, taxiitest.Options{PKI: pki, RequireClientCert: true, Username: "alice", Password: "pw"})
	c, rec := newClient(Options{Retries: 1})
	s := src(srv, Version21, collHighValue)
	s.Username, s.Password, s.CAFile, s.ClientCert, s.ClientKey = "alice", "pw", pki.CAFile, pki.ClientCert, pki.ClientKey
	res, err := c.Pull(context.Background(), s, time.Time{})
	if err != nil || len(res.Indicators) != 2 {
		t.Fatalf("mTLS pull: %v", err)
	}

	noCert := s
	noCert.ClientCert, noCert.ClientKey = "", ""
	_, err = c.Pull(context.Background(), noCert, time.Time{})
	mustContain(t, err, "taxii server "+s.APIRoot, "collection "+collHighValue, "certificate required", "check client_cert and client_key")

	// Without the CA the server is not trusted, and that is not retried.
	before := len(rec.all())
	noCA := s
	noCA.CAFile = ""
	_, err = c.Pull(context.Background(), noCA, time.Time{})
	mustContain(t, err, "taxii server "+s.APIRoot, "unknown authority", "set ca_file")
	if len(rec.all()) != before {
		t.Errorf("a certificate error was retried")
	}

	bad := s
	bad.CAFile = pki.ClientKey
	_, err = c.Pull(context.Background(), bad, time.Time{})
	mustContain(t, err, "ca_file", "no PEM certificates")
}

func TestRetries(t *testing.T) {
	date := fixedNow.Add(30 * time.Second).Format(http.TimeFormat)
	for _, tc := range []struct {
		name   string
		in     taxiitest.Intercept
		sleeps []time.Duration
	}{
		{"503 twice", taxiitest.Fail(2, 503, "Unavailable", "try later"), []time.Duration{time.Second, 2 * time.Second}},
		{"500 three times", taxiitest.Fail(3, 500, "Oops", "bug"), []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
		{"429 seconds", taxiitest.RateLimit(1, "7"), []time.Duration{7 * time.Second}},
		{"429 date", taxiitest.RateLimit(1, date), []time.Duration{30 * time.Second}},
		{"429 capped", taxiitest.RateLimit(2, "3600"), []time.Duration{time.Minute, time.Minute}},
		{"429 no header", taxiitest.RateLimit(1, ""), []time.Duration{time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, Version21, taxiitest.Options{Intercept: tc.in})
			c, rec := newClient(Options{MaxRetryWait: time.Minute})
			res, err := c.Pull(context.Background(), src(srv, Version21, collHighValue), time.Time{})
			if err != nil || len(res.Indicators) != 2 || res.Requests != 1 {
				t.Fatalf("%v (%d requests)", err, res.Requests)
			}
			if got := rec.all(); !slices.Equal(got, tc.sleeps) {
				t.Errorf("sleeps %v, want %v", got, tc.sleeps)
			}
		})
	}
	// Giving up names the attempts; 501 and 4xx are not retried.
	srv := serve(t, Version21, taxiitest.Options{Intercept: taxiitest.Fail(-1, 500, "Oops", "always")})
	c, rec := newClient(Options{Retries: 2})
	_, err := c.Pull(context.Background(), src(srv, Version21, collHighValue), time.Time{})
	mustContain(t, err, "HTTP 500", "after 3 attempts", "Oops: always")
	for _, status := range []int{501, 400, 409} {
		srv := serve(t, Version21, taxiitest.Options{Intercept: taxiitest.Fail(-1, status, "No", "never")})
		before := len(rec.all())
		if _, err := c.Pull(context.Background(), src(srv, Version21, collHighValue), time.Time{}); err == nil || len(rec.all()) != before {
			t.Errorf("status %d: %v, retried %d times", status, err, len(rec.all())-before)
		}
	}
}

func TestTimeouts(t *testing.T) {
	// Every request is slow: each attempt times out, then the pull fails.
	srv := serve(t, Version21, taxiitest.Options{Intercept: taxiitest.Slow(-1, 5*time.Second)})
	c, rec := newClient(Options{Timeout: 50 * time.Millisecond, Retries: 1})
	start := time.Now()
	_, err := c.Pull(context.Background(), src(srv, Version21, collHighValue), time.Time{})
	mustContain(t, err, "taxii server "+srv.APIRoot("trustgroup1"), collHighValue, "request 1", "timed out after 50ms", "after 2 attempts")
	if d := time.Since(start); d > 2*time.Second || len(rec.all()) != 1 {
		t.Errorf("took %s, %d sleeps", d, len(rec.all()))
	}
	// The first attempt is slow, the retry succeeds.
	srv = serve(t, Version21, taxiitest.Options{Intercept: taxiitest.Slow(1, 5*time.Second)})
	if res, err := c.Pull(context.Background(), src(srv, Version21, collHighValue), time.Time{}); err != nil || len(res.Indicators) != 2 {
		t.Errorf("slow then fast: %v", err)
	}
}

func TestCancellation(t *testing.T) {
	// Cancelled while waiting out a Retry-After with the real sleeper.
	srv := serve(t, Version21, taxiitest.Options{Intercept: taxiitest.RateLimit(-1+100, "60")})
	c := NewClient(Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Pull(ctx, src(srv, Version21, collHighValue), time.Time{})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("%v after %s", err, time.Since(start))
	}
	mustContain(t, err, "collection "+collHighValue)
	// Cancelled during a slow response.
	srv = serve(t, Version21, taxiitest.Options{Intercept: taxiitest.Slow(-1, 5*time.Second)})
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel2)
	if _, err := c.Pull(ctx2, src(srv, Version21, collHighValue), time.Time{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("%v", err)
	}
}

// TestNextCycle: a server whose next tokens come round again is stopped
// even when the pages differ.
func TestNextCycle(t *testing.T) {
	tokens := map[string]string{"": "A", "A": "B", "B": "A"}
	srv := serve(t, Version21, taxiitest.Options{Intercept: func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.Header().Set("Content-Type", MediaTAXII21)
		fmt.Fprintf(w, `{"more":true,"next":%q,"objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--%08d-0000-4000-8000-000000000000",`+
			`"created":"2020-01-01T00:00:00Z","modified":"2020-01-01T00:00:00Z","pattern":"[domain-name:value = 'n%d.example.com']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"}]}`,
			tokens[r.URL.Query().Get("next")], n, n)
		return true
	}})
	c, _ := newClient(Options{})
	res, err := c.Pull(context.Background(), src(srv, Version21, collHighValue), time.Time{})
	mustContain(t, err, "request 3 (page 3)", `returned next "A" again`)
	if len(res.Indicators) != 3 {
		t.Errorf("%d indicators", len(res.Indicators))
	}
}

// TestPageCycle: pages that come round again under fresh next tokens
// (A, B, A, …) are stopped at the first repeat, not after MaxPages.
func TestPageCycle(t *testing.T) {
	srv := serve(t, Version21, taxiitest.Options{Intercept: func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.Header().Set("Content-Type", MediaTAXII21)
		fmt.Fprintf(w, `{"more":true,"next":"t%d","objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--%08d-0000-4000-8000-000000000000",`+
			`"created":"2020-01-01T00:00:00Z","modified":"2020-01-01T00:00:00Z","pattern":"[domain-name:value = 'n%d.example.com']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"}]}`,
			n, n%2, n%2)
		return true
	}})
	c, _ := newClient(Options{})
	_, err := c.Pull(context.Background(), src(srv, Version21, collHighValue), time.Time{})
	mustContain(t, err, "request 3 (page 3)", "the 1 objects of page 1 again")
}
