package engine

import (
	"slices"
	"testing"
	"time"
)

// TestCompatMode runs a few of spec §7's vectors in Sentinel compatibility
// mode through engine-level rules; the rule catalogue's compat blocks are
// tested with all vectors in package rules.
func TestCompatMode(t *testing.T) {
	now := t0
	mk := func(id, typ, col, v string, ingested time.Duration) *Indicator {
		tt, _ := ParseObservableType(typ)
		in := ind(t, id, tt, col, v)
		in.TimeGenerated = now.Add(-ingested)
		return in
	}
	ipRule := &Rule{ID: "r21", Name: "R21", Severity: "Medium", Table: "AWSCloudTrail",
		Candidates:    []Candidate{{Column: "SourceIpAddress", Type: TypeIP}},
		SentinelDedup: []string{"IndicatorId", "SourceIpAddress"},
		Compat:        &Compat{TIIPColumns: []string{"NetworkIP", "NetworkDestinationIP", "NetworkSourceIP", "EmailSourceIpAddress"}, IPv4Only: true}}
	dnsRule := &Rule{ID: "r03", Name: "R03", Severity: "Medium", Table: "DnsEvents",
		Candidates: []Candidate{{Column: "Name", Type: TypeDomain}}, Compat: &Compat{Case: "raw"}}
	never := &Rule{ID: "r38", Name: "R38", Severity: "Medium", Table: "OfficeActivity",
		Candidates: []Candidate{{Column: "Url", Type: TypeURL}}, Compat: &Compat{Never: true}}
	syslog := &Rule{ID: "r41", Name: "R41", Severity: "Medium", Table: "Syslog",
		Candidates: []Candidate{{Column: "SyslogMessage", Type: TypeURL, Extract: "urls"}},
		Compat:     &Compat{Candidates: []Candidate{{Column: "SyslogMessage", Type: TypeURL, Extract: "urls", FirstOnly: true}}}}
	tests := []struct {
		vector   string
		rule     *Rule
		inds     []*Indicator
		ev       *Event
		compat   []string // matched indicator ids in compat mode
		timapIDs []string // and in timap's semantics
	}{
		{"T1", ipRule, []*Indicator{mk("i1", "ip", "NetworkIP", "203.0.113.10", 24*time.Hour)},
			row("AWSCloudTrail", now.Add(-10*time.Minute), "SourceIpAddress", "203.0.113.10"), []string{"i1"}, []string{"i1"}},
		{"T3", ipRule, []*Indicator{mk("i1", "ip", "NetworkIP", "203.0.113.10", 15*24*time.Hour)},
			row("AWSCloudTrail", now.Add(-10*time.Minute), "SourceIpAddress", "203.0.113.10"), nil, []string{"i1"}},
		{"T4", ipRule, []*Indicator{mk("i1", "ip", "NetworkIP", "2001:db8::10", 24*time.Hour)},
			row("AWSCloudTrail", now.Add(-10*time.Minute), "SourceIpAddress", "2001:db8::10"), nil, []string{"i1"}},
		{"T13", dnsRule, []*Indicator{mk("i1", "domain", "DomainName", "evil.example.com", 24*time.Hour)},
			row("DnsEvents", now.Add(-10*time.Minute), "Name", "Evil.Example.com"), nil, []string{"i1"}},
		{"T29", ipRule, []*Indicator{mk("i1", "ip", "NetworkIP", "203.0.113.10", 24*time.Hour), mk("i2", "ip", "NetworkIP", "203.0.113.10", 2*time.Hour)},
			row("AWSCloudTrail", now.Add(-10*time.Minute), "SourceIpAddress", "203.0.113.10"), []string{"i2"}, []string{"i1", "i2"}},
		{"T32", syslog, []*Indicator{mk("i1", "url", "Url", "https://www.survey-xact.dk:443/smartdesigner.jpg", 24*time.Hour)},
			row("Syslog", now.Add(-10*time.Minute), "SyslogMessage", "1589596903.150 178 https://google.com 114.50.12.56 200 POST https://www.survey-xact.dk:443/smartdesigner.jpg"),
			nil, []string{"i1"}},
		{"Q10", never, []*Indicator{mk("i1", "url", "Url", "http://evil.example/a", 24*time.Hour)},
			row("OfficeActivity", now.Add(-10*time.Minute), "Url", "http://evil.example/a"), nil, []string{"i1"}},
	}
	for _, tt := range tests {
		for _, compat := range []bool{true, false} {
			s := NewStore(StoreOptions{})
			s.Upsert(tt.inds...)
			x, err := NewExecutor(s, []*Rule{tt.rule}, ExecutorOptions{Compat: compat})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, g := range matchAll(t, x, now, tt.ev) {
				got = append(got, g.ind)
			}
			slices.Sort(got)
			want := tt.timapIDs
			if compat {
				want = tt.compat
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s compat=%v: matched %v, want %v", tt.vector, compat, got, want)
			}
		}
	}
}

// TestCompatDedup is spec T30: one result per (IndicatorId, value) per hour,
// carrying the latest row.
func TestCompatDedup(t *testing.T) {
	r := &Rule{ID: "r21", Name: "R21", Severity: "Medium", Table: "T", SentinelDedup: []string{"IndicatorId", "SourceIpAddress"},
		ProjectLog: []string{"EventName"}}
	in := ind(t, "i1", TypeIP, "NetworkIP", "203.0.113.10")
	var got []Alert
	a := NewAggregator(AggregatorOptions{SentinelDedup: true}, func(al *Alert) error { got = append(got, *al); return nil })
	base := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	for i, m := range []time.Duration{10 * time.Minute, 30 * time.Minute, 55 * time.Minute} {
		ev := row("T", base.Add(m), "SourceIpAddress", "203.0.113.10", "EventName", []string{"a", "b", "c"}[i])
		a.Add(&Match{Rule: r, Ind: in, Obs: &in.Observables[0], Column: "SourceIpAddress", Value: "203.0.113.10", Event: ev})
	}
	a.Flush()
	if len(got) != 1 || got[0].EventCount != 3 || got[0].ExtendedProperties["EventName"] != "c" || !got[0].EndTime.Equal(base.Add(55*time.Minute)) {
		t.Errorf("got %+v", got)
	}
}
