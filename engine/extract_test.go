package engine

import (
	"slices"
	"testing"
	"time"
)

func TestExtractors(t *testing.T) {
	s := NewStore(StoreOptions{})
	s.Upsert(ind(t, "u", TypeURL, "Url", "https://www.survey-xact.dk/smartdesigner.jpg"),
		ind(t, "d", TypeDomain, "DomainName", "www.survey-xact.dk"),
		ind(t, "e", TypeEmail, "EmailSenderAddress", "bad@evil.example"),
		ind(t, "c", TypeURL, "Url", "https://final.example.net/"),
		ind(t, "i", TypeIP, "NetworkIP", "198.51.100.7"),
		ind(t, "e2", TypeEmail, "EmailSenderAddress", "ceo@evil.example"),
		ind(t, "i2", TypeIP, "NetworkIP", "198.51.100.8"))
	r := &Rule{ID: "r", Name: "r", Severity: "Low", Table: "T", Candidates: []Candidate{
		{Column: "Msg", Type: TypeURL, Extract: "urls"},
		{Column: "Msg", Type: TypeDomain, Extract: "domains"},
		{Column: "Msg", Type: TypeEmail, Extract: "emails"},
		{Column: "Chain", Type: TypeURL, Extract: "json_array"},
		{Column: "Raw", Type: TypeEmail, Extract: "json_field", Field: "Actor.UserId"},
		{Column: "ClientIP", Type: TypeIP, Extract: "host_port"},
		{Column: "Free", Type: TypeIP, Extract: "regex", Regex: `client=\[?([0-9a-f.:]+)`, Group: 1},
	}}
	x, err := NewExecutor(s, []*Rule{r}, ExecutorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Spec T32/T33: every URL of a Syslog message is a candidate (Sentinel
	// looks at the first only).
	msg := "2021-06-02 12:13:34 178 https://google.com 114.50.12.56 200 POST https://www.survey-xact.dk:443/smartdesigner.jpg from bad@evil.example"
	g := matchAll(t, x, t0, row("T", t0, "Msg", msg,
		"Chain", `["https://evil.example.com/a","https://final.example.net/"]`,
		"Raw", `{"Actor":{"UserId":"CEO@evil.example"}}`,
		"ClientIP", "[::ffff:198.51.100.7]:443",
		"Free", "login failed client=[198.51.100.8] user=x"))
	var ids []string
	for _, m := range g {
		ids = append(ids, m.ind+":"+m.column)
	}
	want := []string{"u:Msg", "d:Msg", "e:Msg", "c:Chain", "e2:Raw", "i:ClientIP", "i2:Free"}
	if !slices.Equal(ids, want) {
		t.Errorf("got %v\nwant %v", ids, want)
	}
	for _, bad := range []Candidate{
		{Column: "X", Type: TypeIP, Extract: "regex", Regex: "("},
		{Column: "X", Type: TypeIP, Extract: "regex", Regex: "a", Group: 2},
		{Column: "X", Type: TypeIP, Extract: "json_field"},
	} {
		if _, err := NewExecutor(s, []*Rule{{ID: "b", Name: "b", Severity: "Low", Table: "T", Candidates: []Candidate{bad}}}, ExecutorOptions{}); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestStripPort(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.9:443": "203.0.113.9", "[2001:db8::1]:443": "2001:db8::1", "2001:db8::1": "2001:db8::1",
		"[::ffff:198.51.100.7]:443": "::ffff:198.51.100.7", "203.0.113.9": "203.0.113.9",
	} {
		if got := stripPort(in); got != want {
			t.Errorf("stripPort(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTIFiltersSeverityTemplatesTables(t *testing.T) {
	s := NewStore(StoreOptions{})
	var inds []*Indicator
	for i, c := range []float64{83, 75, 60, 50} { // spec T28
		in := ind(t, string(rune('a'+i)), TypeIP, "NetworkIP", "203.0.113."+string(rune('1'+i)))
		in.ConfidenceScore = c
		inds = append(inds, in)
	}
	inactive := ind(t, "s", TypeIP, "NetworkIP", "203.0.113.9")
	inactive.Description = "feed x; State: inactive; y"
	s.Upsert(append(inds, inactive)...)
	r := &Rule{ID: "r20", Name: "R20", Severity: "Medium", Table: "AppServiceHTTPLogs", Tables: []string{"OtherHTTPLogs"},
		Candidates:               []Candidate{{Column: "CIp", Type: TypeIP}},
		TIFilters:                []TIFilter{{Column: "ConfidenceScore", Op: ">", Value: "50"}, {Column: "Description", Op: "!contains_cs", Value: "State: inactive;"}},
		SeverityBy:               &SeverityBy{Column: "ConfidenceScore", Steps: []SeverityStep{{82, "High"}, {74, "Medium"}}, Else: "Low"},
		AlertNameTemplate:        "TI IP {{MatchedValue}} seen by {{CsHost}}",
		AlertDescriptionTemplate: "confidence {{ConfidenceScore}}",
	}
	x, err := NewExecutor(s, []*Rule{r}, ExecutorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	agg := NewAggregator(AggregatorOptions{}, func(a *Alert) error {
		got = append(got, a.IndicatorId+" "+a.AlertSeverity+" "+a.AlertName+" / "+a.AlertDescription)
		return nil
	})
	m := x.NewMatcher()
	for i, ip := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4", "203.0.113.9"} {
		table := "AppServiceHTTPLogs"
		if i == 2 {
			table = "OtherHTTPLogs"
		}
		m.Match(row(table, t0.Add(time.Duration(i)*time.Second), "CIp", ip, "CsHost", "app1"), t0, func(mt *Match) { agg.Add(mt) })
	}
	agg.Flush()
	slices.Sort(got)
	want := []string{
		"a High TI IP 203.0.113.1 seen by app1 / confidence 83",
		"b Medium TI IP 203.0.113.2 seen by app1 / confidence 75",
		"c Low TI IP 203.0.113.3 seen by app1 / confidence 60",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestOwnAlertsIgnored(t *testing.T) {
	s := NewStore(StoreOptions{})
	s.Upsert(ind(t, "d", TypeDomain, "DomainName", "evil.example"))
	r := &Rule{ID: "r08", Name: "TI map Domain entity to SecurityAlert", Severity: "Medium", Table: "SecurityAlert",
		Candidates: []Candidate{{Column: "Entities", Type: TypeDomain, Extract: "domains"}}}
	x, _ := NewExecutor(s, []*Rule{r}, ExecutorOptions{})
	ents := `[{"Type":"dns","DomainName":"evil.example"}]`
	if g := matchAll(t, x, t0, row("SecurityAlert", t0, "AlertName", "Suspicious download", "Entities", ents)); len(g) != 1 {
		t.Errorf("third-party alert: %v", g)
	}
	for _, own := range [][]string{
		{"AlertName", "TI map Domain entity to SecurityAlert"},
		{"AlertName", "TI map Domain entity to PaloAlto"},
		{"ProviderName", "timap"},
	} {
		if g := matchAll(t, x, t0, row("SecurityAlert", t0, own[0], own[1], "Entities", ents)); len(g) != 0 {
			t.Errorf("own alert %v matched: %v", own, g)
		}
	}
}
