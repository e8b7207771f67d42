package workload

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"timap/connectors/tabular"
	"timap/engine"
)

// TestGenerateEmail checks the e-mail file R05 and R37 join: rows in time
// order, every EmailEvents row naming a mail of the links, and the mix of
// delivery actions and shifts the docs describe.
func TestGenerateEmail(t *testing.T) {
	pools := &Pools{URLs: []string{"http://evil.example.com/a"}, Domains: []string{"bad.example.net"}}
	start := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	const n = 20000
	hits, mails, err := GenerateEmail(&buf, pools, Config{N: n, HitRate: 0.05, Seed: 7, Start: start})
	if err != nil {
		t.Fatal(err)
	}
	var prev time.Time
	links := map[string]time.Time{}  // NetworkMessageId → first link
	mailAt := map[string]time.Time{} // NetworkMessageId → its mail rows
	perTable, actions := map[string]int{}, map[string]int{}
	var atWindow, beyond, beforeStart int
	for i, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		var ev engine.Event
		ev.Reset("EmailUrlInfo")
		if err := tabular.DecodeJSON([]byte(line), &ev, nil); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if ev.TimeGenerated.Before(prev) {
			t.Fatalf("line %d: %s before the previous row's %s", i+1, ev.TimeGenerated, prev)
		}
		prev = ev.TimeGenerated
		perTable[ev.Table]++
		id := ev.Value("NetworkMessageId")
		if ev.Table == "EmailUrlInfo" {
			if _, ok := links[id]; !ok {
				links[id] = ev.TimeGenerated
			}
			continue
		}
		actions[ev.Value("DeliveryAction")]++
		if ev.Value("RecipientEmailAddress") == "" || !strings.HasSuffix(ev.Value("SenderFromAddress"), "@"+ev.Value("SenderFromDomain")) {
			t.Fatalf("line %d: %s", i+1, line)
		}
		if ev.TimeGenerated.Before(start) {
			beforeStart++
		}
		// Mail rows may precede their links: they are checked at the end.
		mailAt[id] = ev.TimeGenerated
	}
	for id, tm := range mailAt {
		first, ok := links[id]
		if !ok {
			t.Fatalf("EmailEvents row of %s, which has no link", id)
		}
		switch d := (tm.Sub(first)).Abs(); {
		case d == JoinWindow:
			atWindow++
		case d > JoinWindow:
			beyond++
		case d > 2*time.Minute:
			t.Errorf("mail %s lies %s from its first link", id, d)
		}
	}
	if perTable["EmailUrlInfo"] != n || perTable["EmailEvents"] != mails {
		t.Errorf("rows %v, want %d links and %d mail rows", perTable, n, mails)
	}
	if mails < n/2 || mails > n || actions["Blocked"] < mails/20 || actions["Blocked"] > mails/5 || actions["Delivered"] < mails/2 {
		t.Errorf("%d mail rows, actions %v", mails, actions)
	}
	if atWindow < 50 || beyond < 50 || beforeStart == 0 || hits < n/40 {
		t.Errorf("%d mails exactly JoinWindow away, %d further, %d before the start, %d hits", atWindow, beyond, beforeStart, hits)
	}
}
