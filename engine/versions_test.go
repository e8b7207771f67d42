package engine

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

// TestKQLPAURL checks the PA_Url expressions of Sentinel's R01, R07 and R39
// (spec §1, T14–T17), double scheme included.
func TestKQLPAURL(t *testing.T) {
	const h = "https://evil.example.com/p"
	tests := []struct{ fn, req, ext, app, want string }{
		{"kql_pa_url_r01", "evil.example.com/p", "", "ssl", h},   // T14
		{"kql_pa_url_r01", h, "", "web-browsing", "http://" + h}, // T16
		{"kql_pa_url_r39", h, "", "web-browsing", "http://" + h}, // T16
		{"kql_pa_url_r07", h, "", "web-browsing", h},             // T16: R07 guards
		{"kql_pa_url_r01", "http://evil.example.com/p", "", "SSL", "https://http://evil.example.com/p"},
		{"kql_pa_url_r07", "http://evil.example.com/p", "", "ssl", "https://http://evil.example.com/p"},
		{"kql_pa_url_r01", "HTTP://Evil.example.com/p", "", "web-browsing", "HTTP://Evil.example.com/p"}, // startswith ignores case
		{"kql_pa_url_r39", `"evil.example.com/p"`, "", "web-browsing", "http://evil.example.com/p"},      // T17
		{"kql_pa_url_r01", "", `"Evil.COM/x" cat=1`, "web-browsing", "http://evil.com/x"},
		{"kql_pa_url_r01", "", "PanOSThreatCategory=x", "ssl", "https://"},
		{"kql_pa_url_r39", "", "PanOSThreatCategory=x", "web-browsing", "http://panosthreatcategory=x"},
		{"kql_pa_url_r07", "", `"evil.com/x"`, "web-browsing", ""}, // coalesce(…, "None"): no host
		{"kql_pa_url_r07", "None", "", "ssl", ""},
		{"kql_pa_url_r07", "http://None", "", "ssl", "http://None"},
	}
	for _, tt := range tests {
		if got := kqlPAURL(tt.fn, tt.req, tt.ext, tt.app); got != tt.want {
			t.Errorf("%s(%q, %q, %q) = %q, want %q", tt.fn, tt.req, tt.ext, tt.app, got, tt.want)
		}
	}
}

// TestDeriveDiffersPerRule: two rules of one table derive the same column
// with different functions; each is matched on its own value (compat R01
// and R07 on one CommonSecurityLog row, spec T16).
func TestDeriveDiffersPerRule(t *testing.T) {
	mk := func(id, fn string) *Rule {
		return &Rule{ID: id, Name: id, Severity: "Medium", Table: "CommonSecurityLog",
			Derive:     []Derivation{{Column: "PA_Url", Func: fn, Args: []string{"RequestURL", "AdditionalExtensions", "ApplicationProtocol"}}},
			Candidates: []Candidate{{Column: "PA_Url", Type: TypeDomain, Extract: "url_host"}}}
	}
	s := NewStore(StoreOptions{})
	s.Upsert(ind(t, "d1", TypeDomain, "DomainName", "evil.example.com"))
	for _, order := range [][]string{{"kql_pa_url_r01", "kql_pa_url_r07"}, {"kql_pa_url_r07", "kql_pa_url_r01"}} {
		x, err := NewExecutor(s, []*Rule{mk(order[0], order[0]), mk(order[1], order[1])}, ExecutorOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ev := row("CommonSecurityLog", t0, "RequestURL", "https://evil.example.com/p", "ApplicationProtocol", "web-browsing")
		var rules []string
		for _, g := range matchAll(t, x, t0, ev) {
			rules = append(rules, g.rule)
		}
		if !slices.Equal(rules, []string{"kql_pa_url_r07"}) {
			t.Errorf("order %v: matches %v, want R07's only", order, rules)
		}
	}
}

// TestAdmitObservable: a refused single address of a TI IP column is
// recorded (spec T6); ranges, garbage and other columns are not.
func TestAdmitObservable(t *testing.T) {
	in := &Indicator{}
	for _, v := range []struct {
		t        ObservableType
		col, raw string
		admitted bool
	}{
		{TypeIP, "NetworkIP", "10.1.1.1", false},
		{TypeIP, "NetworkIP", "127.0.0.1", false}, // recorded once
		{TypeIP, "NetworkSourceIP", "198.51.100.7", true},
		{TypeIP, "NetworkDestinationIP", "10.0.0.0/8", false}, // a range: column unknown
		{TypeIP, "EmailSourceIpAddress", "not an ip", false},  // no address
		{TypeIP, "NetworkCidrBlock", "192.168.1.1", false},    // not an IP rule column
		{TypeURL, "Url", "http://10.1.1.1/x", false},
	} {
		_, err := in.AdmitObservable(v.t, v.col, v.raw, "")
		if (err == nil) != v.admitted {
			t.Errorf("%s %q: err %v", v.col, v.raw, err)
		}
	}
	if !slices.Equal(in.RefusedIPColumns, []string{"NetworkIP"}) {
		t.Errorf("RefusedIPColumns %v", in.RefusedIPColumns)
	}
	// T6: the refused NetworkIP wins the precedence.
	o, _ := in.AdmitObservable(TypeIP, "NetworkSourceIP", "198.51.100.7", "")
	in.Observables = append(in.Observables, o)
	std := []string{"NetworkIP", "NetworkDestinationIP", "NetworkSourceIP", "EmailSourceIpAddress"}
	if got := chosenIPColumn(in, std); got != "NetworkIP" {
		t.Errorf("chosen column %q", got)
	}
}

// version is one version of indicator id carrying addr, ingested ago
// before t0.
func version(t *testing.T, id, addr string, ago time.Duration, active bool) *Indicator {
	in := ind(t, id, TypeIP, "NetworkIP", addr)
	in.TimeGenerated, in.Modified, in.Active = t0.Add(-ago), t0.Add(-ago), active
	return in
}

func chain(in *Indicator) []time.Duration {
	var out []time.Duration
	for v := range in.versions() {
		out = append(out, t0.Sub(v.TimeGenerated))
	}
	return out
}

// TestStoreKeepVersions: the versions kept per id (newest first, 14-day
// lookback from the newest, MaxVersions), their observables indexed under
// the newest version even when it is revoked, and snapshots taken before
// an update unchanged by it.
func TestStoreKeepVersions(t *testing.T) {
	day := 24 * time.Hour
	s := NewStore(StoreOptions{KeepVersions: true, MaxVersions: 3})
	s.Upsert(version(t, "i1", "203.0.113.1", 20*day, true))
	s.Upsert(version(t, "i1", "203.0.113.2", 5*day, true))
	first, _ := s.Get("i1")
	if got := chain(first); !slices.Equal(got, []time.Duration{5 * day}) {
		t.Errorf("20-day-old version kept: %v", got) // outside 14 days of the newest
	}
	snap := s.Snapshot()
	for _, ago := range []time.Duration{4 * day, 3 * day, 2 * day} {
		s.Upsert(version(t, "i1", "203.0.113.3", ago, true))
	}
	head, _ := s.Get("i1")
	if got := chain(head); !slices.Equal(got, []time.Duration{2 * day, 3 * day, 4 * day}) {
		t.Errorf("versions %v, want the newest 3", got)
	}
	if got := chain(first); !slices.Equal(got, []time.Duration{5 * day}) {
		t.Errorf("an older version's chain changed: %v", got)
	}
	lookup := func(sn *Snapshot, a string) []string {
		var out []string
		for _, p := range sn.AppendIP(nil, netip.MustParseAddr(a)) {
			out = append(out, p.Ind.IndicatorId+"@"+t0.Sub(p.Ind.TimeGenerated).String())
		}
		return out
	}
	// The old snapshot still sees its versions.
	if got := lookup(snap, "203.0.113.2"); !slices.Equal(got, []string{"i1@120h0m0s"}) {
		t.Errorf("old snapshot: %v", got)
	}
	// 203.0.113.2 (5 days) fell off the cap; the values of the kept
	// versions are found once, under the newest.
	if got := lookup(s.Snapshot(), "203.0.113.2"); got != nil {
		t.Errorf("dropped version found: %v", got)
	}
	if got := lookup(s.Snapshot(), "203.0.113.3"); !slices.Equal(got, []string{"i1@48h0m0s"}) {
		t.Errorf("kept versions: %v", got)
	}
	// Revoked: still indexed (older active versions), under the revoked
	// newest version; after a rebuild too.
	s.Upsert(version(t, "i1", "203.0.113.3", day, false))
	for _, rebuild := range []bool{false, true} {
		if rebuild {
			s.Rebuild()
		}
		if got := lookup(s.Snapshot(), "203.0.113.3"); !slices.Equal(got, []string{"i1@24h0m0s"}) {
			t.Errorf("revoked, rebuild %v: %v", rebuild, got)
		}
	}
	// A default store keeps nothing and drops the revoked indicator.
	d := NewStore(StoreOptions{})
	d.Upsert(version(t, "i1", "203.0.113.3", 2*day, true), version(t, "i1", "203.0.113.3", day, false))
	if h, _ := d.Get("i1"); len(h.older) != 0 || len(d.Snapshot().AppendIP(nil, netip.MustParseAddr("203.0.113.3"))) != 0 {
		t.Errorf("default store: versions %v", chain(h))
	}
	// Only compat mode may read a store with versions.
	if _, err := NewExecutor(s, []*Rule{ipRule()}, ExecutorOptions{}); err == nil {
		t.Error("default-mode executor accepted a store with versions")
	}
	if _, err := NewExecutor(s, []*Rule{ipRule()}, ExecutorOptions{Compat: true}); err != nil {
		t.Error(err)
	}
}

// TestCompatPickVersions: R20's pre-arg_max ConfidenceScore filter picks
// the newest version above 50 (spec §0.3 item 3), Q15's AnyVersion any
// active one, and the match carries the version used.
func TestCompatPickVersions(t *testing.T) {
	day := 24 * time.Hour
	v := func(conf float64, ago time.Duration, active bool) *Indicator {
		in := version(t, "i1", "203.0.113.10", ago, active)
		in.ConfidenceScore = conf
		return in
	}
	r20 := func(pre bool, anyVersion bool) *Rule {
		return &Rule{ID: "r20", Name: "R20", Severity: "Medium", Table: "T",
			Candidates: []Candidate{{Column: "CIp", Type: TypeIP}},
			TIFilters:  []TIFilter{{Column: "ConfidenceScore", Op: ">", Value: "50", PreArgMax: pre}},
			Compat:     &Compat{TIIPColumns: []string{"NetworkIP"}, IPv4Only: true, AnyVersion: anyVersion}}
	}
	ev := row("T", t0.Add(-10*time.Minute), "CIp", "203.0.113.10")
	for _, tt := range []struct {
		name     string
		pre, any bool
		versions []*Indicator
		wantConf float64 // 0: no match
	}{
		{"pre-filter, newest at 40", true, false, []*Indicator{v(70, 3*day, true), v(60, 2*day, true), v(40, day, true)}, 60},
		{"post-filter, newest at 40", false, false, []*Indicator{v(70, 3*day, true), v(60, 2*day, true), v(40, day, true)}, 0},
		{"pre-filter, newest revoked at 40", true, false, []*Indicator{v(60, 2*day, true), v(40, day, false)}, 60},
		{"pre-filter, newest revoked at 90", true, false, []*Indicator{v(60, 2*day, true), v(90, day, false)}, 0},
		{"any version, newest revoked", false, true, []*Indicator{v(70, 3*day, true), v(60, 2*day, true), v(90, day, false)}, 60},
	} {
		s := NewStore(StoreOptions{KeepVersions: true})
		for _, in := range tt.versions {
			s.Upsert(in)
		}
		x, err := NewExecutor(s, []*Rule{r20(tt.pre, tt.any)}, ExecutorOptions{Compat: true})
		if err != nil {
			t.Fatal(err)
		}
		var conf []float64
		x.NewMatcher().Match(ev, t0, func(m *Match) { conf = append(conf, m.Ind.ConfidenceScore) })
		want := []float64{tt.wantConf}
		if tt.wantConf == 0 {
			want = nil
		}
		if !slices.Equal(conf, want) {
			t.Errorf("%s: matched versions with confidence %v, want %v", tt.name, conf, want)
		}
	}
}

// TestAggregatorNoDedup: with SentinelDedup, a rule whose original has no
// dedup (spec §0.3 item 8) gets one alert per row, emitted at once, with
// distinct ids; without SentinelDedup it is grouped as every rule.
func TestAggregatorNoDedup(t *testing.T) {
	r := &Rule{ID: "r44", Name: "R44", Severity: "Medium", Table: "T", Compat: &Compat{NoDedup: true}}
	in := ind(t, "i1", TypeIP, "NetworkIP", "203.0.113.10")
	for _, sentinel := range []bool{true, false} {
		var got []*Alert
		a := NewAggregator(AggregatorOptions{SentinelDedup: sentinel}, func(al *Alert) error { got = append(got, al); return nil })
		base := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
		for _, m := range []time.Duration{10, 30, 55} {
			if err := a.Add(aggMatch(r, in, "203.0.113.10", base.Add(m*time.Minute))); err != nil {
				t.Fatal(err)
			}
		}
		if sentinel && (len(got) != 3 || a.Open() != 0) {
			t.Fatalf("SentinelDedup: %d alerts emitted before the flush, %d open", len(got), a.Open())
		}
		a.Flush()
		ids := map[string]bool{}
		for _, al := range got {
			ids[al.SystemAlertId] = true
		}
		want := 1
		if sentinel {
			want = 3
		}
		if len(got) != want || len(ids) != want || got[len(got)-1].EventCount != 4-want {
			t.Errorf("SentinelDedup %v: %d alerts, %d ids, last counting %d rows", sentinel, len(got), len(ids), got[len(got)-1].EventCount)
		}
	}
}

// TestStoreVersionsDeleteAndDropExpired: with KeepVersions a deleted
// indicator is a revocation row (the version picked; Q15's AnyVersion
// still sees the older active one), and DropExpired keeps an indicator
// some version of which can still match, forgetting versions past the
// 14-day lookback.
func TestStoreVersionsDeleteAndDropExpired(t *testing.T) {
	day := 24 * time.Hour
	rule := func(anyVersion bool) *Rule {
		return &Rule{ID: "r", Name: "r", Severity: "Medium", Table: "T", Candidates: []Candidate{{Column: "IP", Type: TypeIP}},
			Compat: &Compat{AnyVersion: anyVersion}}
	}
	matches := func(s *Store, anyVersion bool, now time.Time) int {
		x, err := NewExecutor(s, []*Rule{rule(anyVersion)}, ExecutorOptions{Compat: true})
		if err != nil {
			t.Fatal(err)
		}
		return x.NewMatcher().Match(row("T", now.Add(-time.Minute), "IP", "203.0.113.10"), now, func(*Match) {})
	}
	s := NewStore(StoreOptions{KeepVersions: true})
	s.Upsert(version(t, "i1", "203.0.113.10", 2*day, true))
	s.Delete("i1")
	if latest, all := matches(s, false, t0), matches(s, true, t0); latest != 0 || all != 1 {
		t.Errorf("deleted: %d matches with the latest pick, %d without; want 0 and 1", latest, all)
	}

	s = NewStore(StoreOptions{KeepVersions: true})
	older := version(t, "i1", "203.0.113.10", 3*day, true)
	newest := version(t, "i1", "203.0.113.10", 2*day, true)
	newest.ExpirationDateTime = t0.Add(-time.Hour)
	s.Upsert(older, newest)
	if n := s.DropExpired(t0, 0); n != 0 || matches(s, true, t0) != 1 || matches(s, false, t0) != 0 {
		t.Errorf("newest expired, older live: dropped %d", n)
	}
	// 12 days later the older version has left the lookback: nothing can
	// match, the indicator is dropped.
	later := t0.Add(12 * day)
	if n := s.DropExpired(later, 0); n != 1 || len(s.Snapshot().AppendIP(nil, netip.MustParseAddr("203.0.113.10"))) != 0 {
		t.Errorf("all versions dead: dropped %d", n)
	}
	if h, _ := s.Get("i1"); h.Active || len(h.older) != 0 {
		t.Errorf("dropped indicator %+v", h)
	}
}
