// Package taxiitest is a TAXII 2.0 / 2.1 server for tests, built on
// net/http/httptest. It serves data in the layout of the OASIS medallion
// server's default_data.json (discovery, API roots, collections with
// objects and manifests) and implements what a client pulls with:
// discovery, API root information, collections, objects with added_after,
// limit, next and match[id|type|spec_version|version] and the envelope's
// more, the manifest, TAXII 2.0 Range / Content-Range paging, Basic,
// bearer and API-key authentication, and TLS with client certificates
// (see NewPKI). Options.Intercept injects failures (see Fail, RateLimit,
// HTMLError, Slow).
package taxiitest

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure a Server.
type Options struct {
	// Version is the TAXII version served: "2.1" (default) or "2.0".
	Version string
	// Data is the content, in medallion's default_data.json layout.
	// Required.
	Data []byte
	// PageSize caps the objects of one response (a smaller limit or Range
	// wins); 0 means no cap.
	PageSize int
	// Username/Password, Token and APIKeyHeader/APIKey are the accepted
	// credentials; when any is set, a request must present one of them
	// (else 401 with a TAXII error body).
	Username, Password, Token, APIKeyHeader, APIKey string
	// PKI, when set, makes the server speak HTTPS with PKI's server
	// certificate; RequireClientCert then demands a client certificate
	// signed by PKI's CA.
	PKI               *PKI
	RequireClientCert bool
	// ContentType replaces the Content-Type of successful responses.
	ContentType string
	// NoDateHeaders leaves out X-TAXII-Date-Added-First/Last, as servers
	// without them do.
	NoDateHeaders bool
	// RepeatPage makes the objects endpoint ignore next (2.1): it serves
	// the first page, with more=true and the same next, forever; in 2.0 it
	// serves every Range from item 0.
	RepeatPage bool
	// NoNext leaves next out of a 2.1 envelope with more=true, so the
	// client must page with added_after = X-TAXII-Date-Added-Last (§3.5).
	NoNext bool
	// RepeatFreshNext serves the first page forever too, with a new next
	// each time.
	RepeatFreshNext bool
	// Intercept, when set, sees every request first, with its 1-based
	// index; when it returns true it has answered and the server does
	// nothing more.
	Intercept func(w http.ResponseWriter, r *http.Request, n int) bool
}

// Request is a request the server received.
type Request struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
}

// Server is a running test server. Close is registered with t.Cleanup.
type Server struct {
	*httptest.Server
	opts Options

	mu    sync.Mutex
	data  *store
	reqs  []Request
	fresh int
}

// NewServer starts a server with opts; it fails t on bad options.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Version == "" {
		opts.Version = "2.1"
	}
	data, err := parseStore(opts.Data)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{opts: opts, data: data}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	// Refused TLS handshakes are what some tests are about: not noise.
	s.Server.Config.ErrorLog = log.New(io.Discard, "", 0)
	if opts.PKI != nil {
		s.Server.TLS = &tls.Config{Certificates: []tls.Certificate{opts.PKI.serverCert}, ClientCAs: opts.PKI.pool}
		if opts.RequireClientCert {
			s.Server.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		}
		s.Server.StartTLS()
	} else {
		s.Server.Start()
	}
	t.Cleanup(s.Close)
	return s
}

// DiscoveryURL is the discovery endpoint: /taxii2/ (2.1) or /taxii/ (2.0).
func (s *Server) DiscoveryURL() string {
	if s.opts.Version == "2.0" {
		return s.URL + "/taxii/"
	}
	return s.URL + "/taxii2/"
}

// APIRoot is the URL of the API root named name ("api1", "trustgroup1").
func (s *Server) APIRoot(name string) string { return s.URL + "/" + name + "/" }

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// AddObject adds a STIX object (one version) to a collection, added to
// the collection at added.
func (s *Server) AddObject(root, collectionID string, obj json.RawMessage, added time.Time) error {
	o, err := newObject(obj)
	if err != nil {
		return err
	}
	o.added = added.UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.collection(root, collectionID); c != nil {
		c.insert(o)
		return nil
	}
	return fmt.Errorf("taxiitest: no collection %s/%s", root, collectionID)
}

func (s *Server) collection(root, id string) *collection {
	if r := s.data.roots[root]; r != nil {
		for _, c := range r.collections {
			if c.id == id {
				return c
			}
		}
	}
	return nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone()})
	n := len(s.reqs)
	s.mu.Unlock()
	if s.opts.Intercept != nil && s.opts.Intercept(w, r, n) {
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="taxii"`)
		WriteError(w, http.StatusUnauthorized, "Unauthorized", "valid credentials are required to access this server")
		return
	}
	if r.Method != http.MethodGet {
		WriteError(w, http.StatusMethodNotAllowed, "Method not allowed", r.Method+" is not supported by this test server")
		return
	}
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) == 1 && (segs[0] == "taxii2" && s.opts.Version == "2.1" || segs[0] == "taxii" && s.opts.Version == "2.0") {
		if s.accepts(w, r, false) {
			s.write(w, http.StatusOK, s.rewrite(s.data.discovery), false)
		}
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	root := s.data.roots[segs[0]]
	if root == nil {
		WriteError(w, http.StatusNotFound, "Not found", "no API root "+segs[0])
		return
	}
	if !s.accepts(w, r, len(segs) == 4 && segs[3] == "objects") {
		return
	}
	switch {
	case len(segs) == 1:
		s.write(w, http.StatusOK, root.info, false)
		return
	case len(segs) == 2 && segs[1] == "collections":
		list := []map[string]any{}
		for _, c := range root.collections {
			list = append(list, c.meta)
		}
		s.writeJSON(w, http.StatusOK, map[string]any{"collections": list}, false)
		return
	case len(segs) < 3 || segs[1] != "collections":
		WriteError(w, http.StatusNotFound, "Not found", "no such endpoint "+r.URL.Path)
		return
	}
	c := s.collection(segs[0], segs[2])
	if c == nil {
		WriteError(w, http.StatusNotFound, "Collection not found", "no collection "+segs[2]+" in API root "+segs[0])
		return
	}
	switch {
	case len(segs) == 3:
		s.writeJSON(w, http.StatusOK, c.meta, false)
	case len(segs) == 4 && (segs[3] == "objects" || segs[3] == "manifest"):
		if !c.canRead {
			WriteError(w, http.StatusForbidden, "Forbidden", "collection "+c.id+" cannot be read")
			return
		}
		q, err := parseQuery(r.URL.Query())
		if err != nil {
			WriteError(w, http.StatusBadRequest, "Bad request", err.Error())
			return
		}
		s.list(w, r, c.selectObjects(q), segs[3] == "manifest")
	default:
		WriteError(w, http.StatusNotFound, "Not found", "no such endpoint "+r.URL.Path)
	}
}

// authorized checks the configured credentials.
func (s *Server) authorized(r *http.Request) bool {
	o := &s.opts
	if o.Username == "" && o.Token == "" && o.APIKey == "" {
		return true
	}
	if u, p, ok := r.BasicAuth(); ok && o.Username != "" && u == o.Username && p == o.Password {
		return true
	}
	if o.Token != "" && r.Header.Get("Authorization") == "Bearer "+o.Token {
		return true
	}
	return o.APIKey != "" && r.Header.Get(o.APIKeyHeader) == o.APIKey
}

// accepts checks the Accept header (TAXII 2.1 §1.6.8, 2.0 §1.4.7):
// 406 when it names no media type of the served version.
func (s *Server) accepts(w http.ResponseWriter, r *http.Request, objects bool) bool {
	want := []string{"application/taxii+json"}
	if s.opts.Version == "2.0" {
		want = []string{"application/vnd.oasis.taxii+json"}
		if objects {
			want = []string{"application/vnd.oasis.stix+json"}
		}
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		typ, params, _ := strings.Cut(part, ";")
		typ = strings.ToLower(strings.TrimSpace(typ))
		if typ == "*/*" {
			return true
		}
		for _, wt := range want {
			v := strings.ReplaceAll(strings.ReplaceAll(params, " ", ""), `"`, "")
			if typ == wt && (v == "" || strings.Contains(v, "version="+s.opts.Version)) {
				return true
			}
		}
	}
	WriteError(w, http.StatusNotAcceptable, "Not acceptable", fmt.Sprintf("Accept %q: this server speaks TAXII %s", r.Header.Get("Accept"), s.opts.Version))
	return false
}

func parseQuery(v url.Values) (query, error) {
	var q query
	if s := v.Get("added_after"); s != "" {
		t, err := parseTime(s)
		if err != nil {
			return q, fmt.Errorf("added_after %q: %v", s, err)
		}
		q.addedAfter = t
	}
	split := func(k string) []string {
		if s := v.Get(k); s != "" {
			return strings.Split(s, ",")
		}
		return nil
	}
	q.ids, q.types, q.specs, q.version = split("match[id]"), split("match[type]"), split("match[spec_version]"), split("match[version]")
	return q, nil
}

// list answers an objects or manifest request with paging.
func (s *Server) list(w http.ResponseWriter, r *http.Request, objs []*object, manifest bool) {
	total := len(objs)
	start, end := 0, total // end exclusive
	status := http.StatusOK
	more, next := false, ""
	if s.opts.Version == "2.0" {
		if rng := r.Header.Get("Range"); rng != "" {
			a, b, ok := parseRange(rng)
			if !ok {
				WriteError(w, http.StatusBadRequest, "Bad range", "Range "+rng)
				return
			}
			if s.opts.RepeatPage {
				a, b = 0, b-a // a server that ignores where the range starts
			}
			if a >= total {
				w.Header().Set("Content-Range", fmt.Sprintf("items */%d", total))
				WriteError(w, http.StatusRequestedRangeNotSatisfiable, "Range not satisfiable", rng)
				return
			}
			start, end, status = a, min(b+1, total), http.StatusPartialContent
		}
		if s.opts.PageSize > 0 && end-start > s.opts.PageSize {
			end, status = start+s.opts.PageSize, http.StatusPartialContent
		}
		if status == http.StatusPartialContent {
			w.Header().Set("Content-Range", fmt.Sprintf("items %d-%d/%d", start, end-1, total))
		}
	} else {
		if tok := r.URL.Query().Get("next"); tok != "" && !s.opts.RepeatPage && !s.opts.RepeatFreshNext {
			off, err := strconv.Atoi(strings.TrimPrefix(tok, "p"))
			if err != nil || !strings.HasPrefix(tok, "p") || off < 0 || off > total {
				WriteError(w, http.StatusBadRequest, "Bad next", "unknown next "+tok)
				return
			}
			start = off
		}
		limit := total
		if l, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && l > 0 {
			limit = l
		}
		if s.opts.PageSize > 0 {
			limit = min(limit, s.opts.PageSize)
		}
		end = min(start+limit, total)
		more = end < total
		if more && !s.opts.NoNext {
			next = fmt.Sprintf("p%d", end)
			if s.opts.RepeatFreshNext {
				s.fresh++
				next = fmt.Sprintf("p%d-%d", end, s.fresh)
			}
		}
	}
	page := objs[start:end]
	if len(page) > 0 && !s.opts.NoDateHeaders {
		w.Header().Set("X-TAXII-Date-Added-First", formatTime(page[0].added))
		w.Header().Set("X-TAXII-Date-Added-Last", formatTime(page[len(page)-1].added))
	}
	var body map[string]any
	switch {
	case s.opts.Version == "2.0" && !manifest:
		body = map[string]any{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "spec_version": "2.0"}
	case s.opts.Version == "2.0":
		body = map[string]any{}
	default:
		body = map[string]any{"more": more}
		if next != "" {
			body["next"] = next
		}
	}
	items := make([][]byte, 0, len(page))
	for _, o := range page {
		var item []byte
		switch {
		case !manifest:
			item = o.raw
		case s.opts.Version == "2.0":
			item, _ = json.Marshal(map[string]any{"id": o.id, "date_added": formatTime(o.added),
				"versions": []string{o.version}, "media_types": []string{"application/vnd.oasis.stix+json; version=2.0"}})
		default:
			item, _ = json.Marshal(map[string]any{"id": o.id, "date_added": formatTime(o.added),
				"version": o.version, "media_type": "application/stix+json;version=" + o.specVersion})
		}
		items = append(items, item)
	}
	head, _ := json.Marshal(body)
	if len(items) > 0 || s.opts.Version == "2.0" {
		// Splice the objects in as they are: re-encoding them would
		// only cost time.
		sep := ","
		if len(body) == 0 {
			sep = ""
		}
		head = append(head[:len(head)-1], sep+`"objects":[`...)
		head = append(head, bytes.Join(items, []byte(","))...)
		head = append(head, "]}"...)
	}
	s.write(w, status, head, !manifest)
}

// parseRange parses "items a-b" (TAXII 2.0 §3.4) or "items=a-b".
func parseRange(v string) (int, int, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(v), "items")
	if !ok {
		return 0, 0, false
	}
	rest = strings.TrimLeft(rest, " =")
	a, b, ok := strings.Cut(rest, "-")
	x, err1 := strconv.Atoi(strings.TrimSpace(a))
	y, err2 := strconv.Atoi(strings.TrimSpace(b))
	return x, y, ok && err1 == nil && err2 == nil && x >= 0 && y >= x
}

// rewrite points the data's "http://localhost:5000" URLs at this server.
func (s *Server) rewrite(raw json.RawMessage) json.RawMessage {
	return json.RawMessage(strings.ReplaceAll(string(raw), "http://localhost:5000", s.URL))
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any, objects bool) {
	b, err := json.Marshal(v)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, "Internal error", err.Error())
		return
	}
	s.write(w, status, b, objects)
}

func (s *Server) write(w http.ResponseWriter, status int, body []byte, objects bool) {
	ct := "application/taxii+json;version=2.1"
	if s.opts.Version == "2.0" {
		ct = "application/vnd.oasis.taxii+json; version=2.0"
		if objects {
			ct = "application/vnd.oasis.stix+json; version=2.0"
		}
	}
	if s.opts.ContentType != "" {
		ct = s.opts.ContentType
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	w.Write(body)
}

// WriteError writes a TAXII error message (TAXII 2.1 §3.6.1) with status.
func WriteError(w http.ResponseWriter, status int, title, description string) {
	b, _ := json.Marshal(map[string]any{"title": title, "description": description, "http_status": strconv.Itoa(status)})
	w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
	w.WriteHeader(status)
	w.Write(b)
}
