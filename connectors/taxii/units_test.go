package taxii

import (
	"strings"
	"testing"
	"time"
)

func TestParseContentRange(t *testing.T) {
	for in, want := range map[string][4]int{
		"items 0-9/25":      {0, 9, 25, 1},
		"items 20-24/25":    {20, 24, 25, 1},
		" Items 5 - 9 / * ": {5, 9, -1, 1},
		"bytes 0-9/25":      {0, 0, 0, 0},
		"items 0-9":         {0, 0, 0, 0},
		"items x-9/25":      {0, 0, 0, 0},
		"":                  {0, 0, 0, 0},
	} {
		a, b, total, ok := parseContentRange(in)
		if ok != (want[3] == 1) || (ok && [3]int{a, b, total} != [3]int(want[:3])) {
			t.Errorf("%q: %d %d %d %v", in, a, b, total, ok)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := fixedNow
	for in, want := range map[string]time.Duration{
		"0": 0, "12": 12 * time.Second,
		now.Add(90 * time.Second).Format("Mon, 02 Jan 2006 15:04:05 GMT"): 90 * time.Second,
	} {
		if got, ok := retryAfter(in, now); !ok || got != want {
			t.Errorf("%q: %s %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "soon", "-5"} {
		if _, ok := retryAfter(in, now); ok {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestSnippet(t *testing.T) {
	page := "<html><head><title>Access &amp; denied</title><style>p{}</style></head><body>\n<p>Your request\n was\tblocked.</p>" +
		strings.Repeat("<p>padding</p>", 1000) + "</body></html>"
	s := snippet([]byte(page))
	if !strings.HasPrefix(s, "Access & denied — Your request was blocked. padding") || len(s) > snippetLen+len("…") || strings.Contains(s, "<") {
		t.Errorf("snippet %q", s)
	}
	if s := snippet([]byte("  plain\n\ntext  ")); s != "plain text" {
		t.Errorf("%q", s)
	}
	if s := snippet(nil); s != "(empty body)" {
		t.Errorf("%q", s)
	}
	if s := oneLine(strings.Repeat("é", 100), 11); s != "ééééé…" {
		t.Errorf("cut inside a rune: %q", s)
	}
}

func TestDecodeEnvelope(t *testing.T) {
	env, err := decodeEnvelope([]byte(`{"x":{"nested":[1,{"more":false}]},"objects":[{"id":"a"},{"id":"b"}],"more":true,"next":"n1","y":null}`))
	if err != nil || !env.More || env.Next != "n1" || string(env.Objects) != `[{"id":"a"},{"id":"b"}]` {
		t.Errorf("%+v %v", env, err)
	}
	if env, err := decodeEnvelope([]byte(`{}`)); err != nil || env.More || env.Objects != nil {
		t.Errorf("empty: %+v %v", env, err)
	}
	for _, bad := range []string{`[]`, `{"more":"yes"}`, `{"objects":[`, `<html>`} {
		if _, err := decodeEnvelope([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestCheckMediaType(t *testing.T) {
	for _, tc := range []struct {
		ct, version, body string
		ok                bool
	}{
		{"application/taxii+json;version=2.1", "2.1", "{}", true},
		{`application/vnd.oasis.taxii+json; version="2.0"`, "2.0", "{}", true},
		{"application/vnd.oasis.stix+json; version=2.1", "2.0", "{}", true}, // a STIX version, not TAXII's
		{"", "2.1", " {}", true},
		{"", "2.1", "oops", false},
		{"application/taxii+json;version=2.0", "2.1", "{}", false},
		{"text/plain", "2.1", "{}", false},
	} {
		if err := checkMediaType(tc.ct, tc.version, []byte(tc.body)); (err == nil) != tc.ok {
			t.Errorf("%q for %s: %v", tc.ct, tc.version, err)
		}
	}
}

func TestFormatTime(t *testing.T) {
	in := time.Date(2017, 12, 31, 13, 49, 53, 935123999, time.FixedZone("x", 3600))
	if got := formatTime(in); got != "2017-12-31T12:49:53.935123Z" {
		t.Errorf("%s", got)
	}
}
