package engine

import (
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// ind builds a live indicator with one observable per value.
func ind(t testing.TB, id string, typ ObservableType, column string, values ...string) *Indicator {
	t.Helper()
	in := &Indicator{IndicatorId: id, Active: true, Modified: t0, TimeGenerated: t0, ConfidenceScore: -1}
	for _, v := range values {
		o, err := NewObservable(typ, column, v, "")
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		in.Observables = append(in.Observables, o)
	}
	return in
}

func row(table string, at time.Time, kv ...string) *Event {
	ev := &Event{}
	ev.Reset(table)
	ev.TimeGenerated = at
	for i := 0; i+1 < len(kv); i += 2 {
		ev.Set(kv[i], kv[i+1])
	}
	return ev
}

type got struct{ rule, ind, column, value string }

func matchAll(t *testing.T, x *Executor, now time.Time, evs ...*Event) []got {
	t.Helper()
	var out []got
	m := x.NewMatcher()
	for _, ev := range evs {
		m.Match(ev, now, func(mt *Match) {
			out = append(out, got{mt.Rule.ID, mt.Ind.IndicatorId, mt.Column, mt.Value})
		})
	}
	return out
}

func ipRule() *Rule {
	return &Rule{ID: "ip", Name: "ip", Severity: "Medium", Table: "T", Candidates: []Candidate{
		{Column: "SourceIP", Type: TypeIP},
		{Column: "DestinationIP", Type: TypeIP},
		{Column: "Message", Type: TypeIP, Extract: "first_ipv4", Fallback: true},
	}}
}

func TestIPBothColumnsAndFallback(t *testing.T) {
	s := NewStore(StoreOptions{})
	s.Upsert(ind(t, "i1", TypeIP, "NetworkIP", "203.0.113.9"), ind(t, "i2", TypeIP, "NetworkIP", "198.51.100.0/24"))
	x, err := NewExecutor(s, []*Rule{ipRule()}, ExecutorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Minute)
	tests := []struct {
		ev   *Event
		want []got
	}{
		{row("T", t0, "SourceIP", "10.1.2.3", "DestinationIP", "203.0.113.9"), []got{{"ip", "i1", "DestinationIP", "203.0.113.9"}}},
		// Both public and both bad: Sentinel checks only SourceIP (issue 11069).
		{row("T", t0, "SourceIP", "198.51.100.77", "DestinationIP", "::ffff:203.0.113.9"),
			[]got{{"ip", "i2", "SourceIP", "198.51.100.77"}, {"ip", "i1", "DestinationIP", "203.0.113.9"}}},
		{row("T", t0, "Message", "conn from 203.0.113.9 to 198.51.100.1"), []got{{"ip", "i1", "Message", "203.0.113.9"}}},
		// Message is a fallback only: with an address column set it is ignored.
		{row("T", t0, "SourceIP", "192.0.2.1", "Message", "203.0.113.9"), nil},
		{row("T", t0, "SourceIP", "203.0.113.10"), nil},
		{row("Other", t0, "SourceIP", "203.0.113.9"), nil},
	}
	for i, tt := range tests {
		if g := matchAll(t, x, now, tt.ev); !slices.Equal(g, tt.want) {
			t.Errorf("case %d: got %v, want %v", i, g, tt.want)
		}
	}
}

func TestDomainExactAndSubdomains(t *testing.T) {
	s := NewStore(StoreOptions{})
	s.Upsert(ind(t, "d1", TypeDomain, "DomainName", "higan.org"), ind(t, "ps", TypeDomain, "DomainName", "co.uk"))
	exact := &Rule{ID: "exact", Name: "e", Severity: "Medium", Table: "T", Candidates: []Candidate{{Column: "Name", Type: TypeDomain}}}
	sub := &Rule{ID: "sub", Name: "s", Severity: "Medium", Table: "T", Candidates: []Candidate{{Column: "Name", Type: TypeDomain, Subdomains: true}}}
	x, err := NewExecutor(s, []*Rule{exact, sub}, ExecutorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want []got
	}{
		{"www.michigan.org", nil},
		{"higan.org", []got{{"exact", "d1", "Name", "higan.org"}, {"sub", "d1", "Name", "higan.org"}}},
		{"HIGAN.org.", []got{{"exact", "d1", "Name", "higan.org"}, {"sub", "d1", "Name", "higan.org"}}},
		{"cdn.higan.org", []got{{"sub", "d1", "Name", "cdn.higan.org"}}},
		{"a.b.cdn.higan.org", []got{{"sub", "d1", "Name", "a.b.cdn.higan.org"}}},
		// A public suffix indicator matches only itself, never its children.
		{"shop.example.co.uk", nil},
		{"co.uk", []got{{"exact", "ps", "Name", "co.uk"}, {"sub", "ps", "Name", "co.uk"}}},
	}
	for _, tt := range tests {
		if g := matchAll(t, x, t0, row("T", t0, "Name", tt.name)); !slices.Equal(g, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, g, tt.want)
		}
	}
}

func TestSameValueSeveralIndicators(t *testing.T) {
	s := NewStore(StoreOptions{})
	s.Upsert(ind(t, "feedA", TypeIP, "NetworkIP", "203.0.113.9"), ind(t, "feedB", TypeIP, "NetworkIP", "203.0.113.9"),
		ind(t, "range", TypeIP, "NetworkIP", "203.0.113.0/24"), ind(t, "wide", TypeIP, "NetworkIP", "203.0.0.0/16"))
	s.Rebuild()
	x, _ := NewExecutor(s, []*Rule{ipRule()}, ExecutorOptions{})
	g := matchAll(t, x, t0, row("T", t0, "SourceIP", "203.0.113.9"))
	var ids []string
	for _, m := range g {
		ids = append(ids, m.ind)
	}
	slices.Sort(ids)
	if want := []string{"feedA", "feedB", "range", "wide"}; !slices.Equal(ids, want) {
		t.Fatalf("indicators = %v, want %v (no innerunique collapse)", ids, want)
	}
}

func TestExpiryAndRevocation(t *testing.T) {
	T := t0
	s := NewStore(StoreOptions{})
	v1 := ind(t, "i1", TypeIP, "NetworkIP", "203.0.113.9")
	v1.ExpirationDateTime = T
	s.Upsert(v1)
	x, _ := NewExecutor(s, []*Rule{ipRule()}, ExecutorOptions{Grace: time.Hour})
	at := func(evTime, now time.Time) int {
		return len(matchAll(t, x, now, row("T", evTime, "SourceIP", "203.0.113.9")))
	}
	if n := at(T.Add(-time.Second), T.Add(-time.Second)); n != 1 {
		t.Errorf("event T-1s processed at once: %d matches, want 1", n)
	}
	if n := at(T.Add(-time.Second), T.Add(10*time.Minute)); n != 1 {
		t.Errorf("event T-1s processed 10 min after expiry: %d matches, want 1", n)
	}
	if n := at(T.Add(time.Second), T.Add(time.Second)); n != 0 {
		t.Errorf("event T+1s: %d matches, want 0", n)
	}
	if n := at(T.Add(-time.Second), T.Add(2*time.Hour)); n != 0 {
		t.Errorf("event T-1s processed beyond the grace: %d matches, want 0", n)
	}

	// A newer revoked version stops all matches; a stale re-send of the old
	// version changes nothing; a later active version re-activates.
	v2 := *v1
	v2.Modified, v2.Active, v2.ExpirationDateTime = T.Add(time.Hour), false, time.Time{}
	v1.ExpirationDateTime = time.Time{}
	if r := s.Upsert(&v2); r.Revoked != 1 {
		t.Fatalf("upsert revoked: %+v", r)
	}
	if n := at(T.Add(-2*time.Hour), T.Add(-2*time.Hour)); n != 0 {
		t.Errorf("revoked indicator matched %d times", n)
	}
	if r := s.Upsert(v1); r.Stale != 1 {
		t.Errorf("older version not stale: %+v", r)
	}
	v3 := v2
	v3.Modified, v3.Active = T.Add(2*time.Hour), true
	s.Upsert(&v3)
	if n := at(T.Add(-2*time.Hour), T.Add(-2*time.Hour)); n != 1 {
		t.Errorf("re-activated indicator matched %d times, want 1", n)
	}
	s.Rebuild()
	if n := at(T.Add(-2*time.Hour), T.Add(-2*time.Hour)); n != 1 {
		t.Errorf("after rebuild: %d matches, want 1", n)
	}
}

func TestDeltaOverBase(t *testing.T) {
	s := NewStore(StoreOptions{MaxDelta: 2})
	var batch []*Indicator
	for i, v := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"} {
		batch = append(batch, ind(t, string(rune('a'+i)), TypeIP, "NetworkIP", v))
	}
	s.Upsert(batch...) // over MaxDelta: base rebuilt
	x, _ := NewExecutor(s, []*Rule{ipRule()}, ExecutorOptions{})
	// Move indicator "a" to another address through the delta.
	a2 := ind(t, "a", TypeIP, "NetworkIP", "198.51.100.1")
	a2.Modified = t0.Add(time.Minute)
	v0 := s.Snapshot().Version
	s.Upsert(a2)
	if s.Snapshot().Version == v0 {
		t.Fatal("no new snapshot published")
	}
	if g := matchAll(t, x, t0, row("T", t0, "SourceIP", "203.0.113.1")); len(g) != 0 {
		t.Errorf("superseded base value still matches: %v", g)
	}
	if g := matchAll(t, x, t0, row("T", t0, "SourceIP", "198.51.100.1")); len(g) != 1 || g[0].ind != "a" {
		t.Errorf("delta value: %v", g)
	}
	if g := matchAll(t, x, t0, row("T", t0, "SourceIP", "203.0.113.2")); len(g) != 1 {
		t.Errorf("untouched base value: %v", g)
	}
	st := s.Stats()
	if st.Indicators != 4 || st.Live != 4 || st.Observables[TypeIP] != 4 {
		t.Errorf("stats = %+v", st)
	}
}

func TestValueTypes(t *testing.T) {
	s := NewStore(StoreOptions{})
	s.Upsert(ind(t, "u", TypeURL, "Url", "hxxp://evil[.]example[.]com/p"),
		ind(t, "e", TypeEmail, "EmailSenderAddress", "Bad@Evil.com"),
		ind(t, "h", TypeFileHash, "FileHashValue", "44d88612fea8a8f36de82e1278abb02f"))
	s.Rebuild()
	r := &Rule{ID: "r", Name: "r", Severity: "Low", Table: "T", Candidates: []Candidate{
		{Column: "Url", Type: TypeURL}, {Column: "Mail", Type: TypeEmail}, {Column: "FileHash", Type: TypeFileHash},
		{Column: "IPs", Type: TypeIP, Extract: "split", Sep: ", "},
	}}
	x, err := NewExecutor(s, []*Rule{r}, ExecutorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g := matchAll(t, x, t0, row("T", t0, "Url", "HTTP://EVIL.example.com:80/p#x", "Mail", "BAD@evil.COM",
		"FileHash", "44D88612FEA8A8F36DE82E1278ABB02F"))
	want := []got{{"r", "u", "Url", "http://evil.example.com/p"}, {"r", "e", "Mail", "bad@evil.com"},
		{"r", "h", "FileHash", "44d88612fea8a8f36de82e1278abb02f"}}
	if !slices.Equal(g, want) {
		t.Errorf("got %v\nwant %v", g, want)
	}
}

func TestNoAllocWithoutMatch(t *testing.T) {
	s := NewStore(StoreOptions{})
	s.Upsert(ind(t, "d", TypeDomain, "DomainName", "evil.example.com"), ind(t, "i", TypeIP, "NetworkIP", "203.0.113.9"))
	r := &Rule{ID: "r", Name: "r", Severity: "Low", Table: "T", Candidates: []Candidate{
		{Column: "SourceIP", Type: TypeIP}, {Column: "Url", Type: TypeDomain, Extract: "url_host", Subdomains: true},
	}}
	x, _ := NewExecutor(s, []*Rule{r}, ExecutorOptions{})
	m := x.NewMatcher()
	ev := row("T", t0, "SourceIP", "198.51.100.7", "Url", "https://www.benign.example.org/a/b?c")
	emit := func(*Match) {}
	m.Match(ev, t0, emit)
	if n := testing.AllocsPerRun(200, func() { m.Match(ev, t0, emit) }); n != 0 {
		t.Errorf("allocs per row without a match = %v, want 0", n)
	}
}

func TestPAURL(t *testing.T) {
	tests := []struct{ req, ext, app, want string }{
		{"evil.example.com/p", "", "ssl", "https://evil.example.com/p"},                  // spec T14
		{"https://evil.example.com/p", "", "web-browsing", "https://evil.example.com/p"}, // T16: no double scheme
		{"http://evil.example.com/p", "", "SSL", "http://evil.example.com/p"},
		{`"evil.example.com/p"`, "", "web-browsing", "http://evil.example.com/p"}, // T17: quotes trimmed
		{"", `"Evil.COM/x" cat=1`, "web-browsing", "http://evil.com/x"},
		{"", "PanOSThreatCategory=x", "ssl", ""},
		{"", "", "ssl", ""},
	}
	for _, tt := range tests {
		if got := string(appendPAURL(nil, tt.req, tt.ext, tt.app)); got != tt.want {
			t.Errorf("pa_url(%q, %q, %q) = %q, want %q", tt.req, tt.ext, tt.app, got, tt.want)
		}
	}
}

func TestStoreDelete(t *testing.T) {
	s := NewStore(StoreOptions{})
	s.Upsert(ind(t, "a", TypeIP, "NetworkIP", "203.0.113.1"), ind(t, "b", TypeIP, "NetworkIP", "203.0.113.2"))
	x, _ := NewExecutor(s, []*Rule{ipRule()}, ExecutorOptions{})
	if n := s.Delete("a", "nope"); n != 1 {
		t.Fatalf("Delete removed %d, want 1", n)
	}
	if g := matchAll(t, x, t0, row("T", t0, "SourceIP", "203.0.113.1")); len(g) != 0 {
		t.Errorf("deleted indicator matched: %v", g)
	}
	if g := matchAll(t, x, t0, row("T", t0, "SourceIP", "203.0.113.2")); len(g) != 1 {
		t.Errorf("other indicator: %v", g)
	}
	// The same version again is stale; a newer one brings it back.
	if r := s.Upsert(ind(t, "a", TypeIP, "NetworkIP", "203.0.113.1")); r.Stale != 1 {
		t.Errorf("re-sent version after delete: %+v", r)
	}
	newer := ind(t, "a", TypeIP, "NetworkIP", "203.0.113.1")
	newer.Modified = t0.Add(time.Second)
	s.Upsert(newer)
	if g := matchAll(t, x, t0, row("T", t0, "SourceIP", "203.0.113.1")); len(g) != 1 {
		t.Errorf("newer version after delete: %v", g)
	}
}
