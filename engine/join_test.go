package engine

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func joinRule() *Rule {
	return &Rule{ID: "r37", Name: "R37", Severity: "Medium", Table: "EmailUrlInfo",
		Candidates: []Candidate{{Column: "Url", Type: TypeURL}},
		ProjectLog: []string{"Url", "RecipientEmailAddress"},
		Entities:   []EntityMapping{{Type: "Account", Identifiers: []Identifier{{"FullName", "RecipientEmailAddress"}}}},
		Join: &Join{Table: "EmailEvents", On: "NetworkMessageId", Window: time.Hour,
			Filters: []Filter{{Column: "DeliveryAction", Op: OpNotHas, Values: []string{"Blocked"}}},
			Columns: []string{"RecipientEmailAddress", "DeliveryAction"}},
	}
}

// TestJoin covers spec T40 in timap's semantics: a URL in a mail matches
// only when the mail (same NetworkMessageId) was delivered, whichever row
// comes first.
func TestJoin(t *testing.T) {
	s := NewStore(StoreOptions{})
	s.Upsert(ind(t, "u", TypeURL, "Url", "https://evil.example.com/a"))
	x, err := NewExecutor(s, []*Rule{joinRule()}, ExecutorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if need := x.Needs("EmailEvents"); !need.Has("NetworkMessageId") || !need.Has("DeliveryAction") || !need.Has("RecipientEmailAddress") {
		t.Fatalf("EmailEvents needs %v", need)
	}
	url := func(id string, at time.Duration) *Event {
		return row("EmailUrlInfo", t0.Add(at), "Url", "https://Evil.example.com/a", "NetworkMessageId", id)
	}
	mail := func(id, action, to string, at time.Duration) *Event {
		return row("EmailEvents", t0.Add(at), "NetworkMessageId", id, "DeliveryAction", action, "RecipientEmailAddress", to)
	}
	tests := []struct {
		name string
		rows []*Event
		want []string // recipient of each match, in emission order
	}{
		{"url then delivered mail", []*Event{url("m1", 0), mail("m1", "Delivered", "bob@corp.example", time.Minute)}, []string{"bob@corp.example"}},
		{"mail then url", []*Event{mail("m2", "Delivered", "amy@corp.example", 0), url("m2", time.Minute)}, []string{"amy@corp.example"}},
		{"blocked mail", []*Event{url("m3", 0), mail("m3", "Blocked", "bob@corp.example", time.Minute)}, nil},
		{"no mail", []*Event{url("m4", 0)}, nil},
		{"mail too late", []*Event{url("m5", 0), mail("m5", "Delivered", "bob@corp.example", 2*time.Hour)}, nil},
		{"other message", []*Event{url("m6", 0), mail("m7", "Delivered", "bob@corp.example", time.Minute)}, nil},
	}
	for _, tt := range tests {
		m := x.NewMatcher()
		var got []string
		var alerts []*Alert
		agg := NewAggregator(AggregatorOptions{}, func(a *Alert) error { alerts = append(alerts, a); return nil })
		for _, ev := range tt.rows {
			m.Match(ev, t0, func(mt *Match) {
				got = append(got, mt.Joined.Value("RecipientEmailAddress"))
				agg.Add(mt)
			})
		}
		agg.Flush()
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
		if len(alerts) > 0 && (alerts[0].ExtendedProperties["RecipientEmailAddress"] != tt.want[0] ||
			alerts[0].Entities[0].Identifiers[0].Column != tt.want[0] || alerts[0].Table != "EmailUrlInfo") {
			t.Errorf("%s: alert %+v", tt.name, alerts[0])
		}
	}
}

func TestJoinStateBounded(t *testing.T) {
	s := NewStore(StoreOptions{})
	s.Upsert(ind(t, "u", TypeURL, "Url", "https://evil.example.com/a"))
	r := joinRule()
	r.Join.MaxPending, r.Join.MaxRows = 10, 10
	x, _ := NewExecutor(s, []*Rule{r}, ExecutorOptions{})
	m := x.NewMatcher()
	for i := 0; i < 1000; i++ {
		id := string(rune('a'+i%26)) + time.Duration(i).String()
		m.Match(row("EmailUrlInfo", t0, "Url", "https://evil.example.com/a", "NetworkMessageId", id), t0, func(*Match) {})
		m.Match(row("EmailEvents", t0, "NetworkMessageId", "x"+id, "DeliveryAction", "Delivered"), t0, func(*Match) {})
	}
	js := m.joins[r]
	if js.npend > 11 || len(js.rows) > 10 {
		t.Errorf("join state grew: %d pending, %d rows", js.npend, len(js.rows))
	}
}

// BenchmarkJoinRows streams mails as the benchmark's e-mail file has them:
// per mail one EmailEvents row (kept by the join) and one EmailUrlInfo
// row that does not match; allocations are the join state's copies.
func BenchmarkJoinRows(b *testing.B) {
	s := NewStore(StoreOptions{})
	s.Upsert(ind(b, "u", TypeURL, "Url", "https://evil.example.com/a"))
	r := joinRule()
	r.Join.Columns = []string{"RecipientEmailAddress", "SenderFromAddress", "Subject", "DeliveryAction", "DeliveryLocation", "EmailDirection"}
	x, err := NewExecutor(s, []*Rule{r}, ExecutorOptions{})
	if err != nil {
		b.Fatal(err)
	}
	m := x.NewMatcher()
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-1c2d-4e5f-8a9b-0c1d2e3f4a5b", i)
	}
	var mail, link Event
	t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		mail.Reset("EmailEvents")
		mail.TimeGenerated = at
		mail.Set("NetworkMessageId", ids[i%len(ids)])
		mail.Set("RecipientEmailAddress", "bob@contoso.com")
		mail.Set("SenderFromAddress", "news@example.org")
		mail.Set("Subject", "Your invoice for November")
		mail.Set("DeliveryAction", "Delivered")
		mail.Set("DeliveryLocation", "Inbox/folder")
		mail.Set("EmailDirection", "Inbound")
		m.Match(&mail, at, func(*Match) {})
		link.Reset("EmailUrlInfo")
		link.TimeGenerated = at
		link.Set("NetworkMessageId", ids[i%len(ids)])
		link.Set("Url", "https://good.example.org/x")
		m.Match(&link, at, func(*Match) {})
		i++
	}
}
