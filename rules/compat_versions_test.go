package rules_test

import (
	"slices"
	"testing"
	"time"

	"timap/engine"
)

// TestCompatVersions checks what compat mode does with older versions of
// an indicator (StoreOptions.KeepVersions): the filters Sentinel applies
// to every TI row before keeping the latest (spec §0.3 item 3) and R05's
// missing latest pick (Q15). Each case also runs against a store of newest
// versions only and in timap's semantics, which use the newest version.
func TestCompatVersions(t *testing.T) {
	day := 24 * time.Hour
	old := func(d time.Duration) tiOpt { return generated(t0.Add(-d)) }
	cip := row("AppServiceHTTPLogs", "CIp", ipBad)
	aws := row("AWSCloudTrail", "SourceIpAddress", ipBad2)
	link := row("EmailUrlInfo", "Url", "https://evil.example.com/a", "UrlDomain", domainBad, "NetworkMessageId", "m1")
	mail := row("EmailEvents", "NetworkMessageId", "m1", "RecipientEmailAddress", "bob@contoso.com", "DeliveryAction", "Delivered")
	for _, c := range []struct {
		name, r string
		tis     []tiSpec
		rows    []*engine.Event
		// compat: with versions kept; newest: compat mode on a store of
		// newest versions; timap: default semantics.
		compat, newest, timap []string
	}{
		// §0.3 item 3's example: the newest row fell to 40, R20 uses the
		// row with 60.
		{name: "confidence fell to 40", r: "R20", tis: []tiSpec{ti("i1", "ip", ipBad, conf(60), old(3*day)), ti("i1", "ip", ipBad, conf(40), old(day))},
			rows: []*engine.Event{cip}, compat: []string{"i1 " + ipBad}},
		{name: "confidence rose to 60", r: "R20", tis: []tiSpec{ti("i1", "ip", ipBad, conf(40), old(3*day)), ti("i1", "ip", ipBad, conf(60), old(day))},
			rows: []*engine.Event{cip}, compat: []string{"i1 " + ipBad}, newest: []string{"i1 " + ipBad}, timap: []string{"i1 " + ipBad}},
		// The row with 60 left the 14-day lookback.
		{name: "confidence 60 only 20 days ago", r: "R20", tis: []tiSpec{ti("i1", "ip", ipBad, conf(60), old(20*day)), ti("i1", "ip", ipBad, conf(40), old(day))},
			rows: []*engine.Event{cip}},
		// The row kept is revoked: Active applies after the pick.
		{name: "revoked above 50", r: "R20", tis: []tiSpec{ti("i1", "ip", ipBad, conf(60), old(3*day)), ti("i1", "ip", ipBad, conf(70), old(day), inactive())},
			rows: []*engine.Event{cip}},
		// A revocation row at 40 fails the pre-filter; the active row
		// at 60 is kept.
		{name: "revoked at 40", r: "R20", tis: []tiSpec{ti("i1", "ip", ipBad, conf(60), old(3*day)), ti("i1", "ip", ipBad, conf(40), old(day), inactive())},
			rows: []*engine.Event{cip}, compat: []string{"i1 " + ipBad}},
		// The older version is expired: no match through it.
		{name: "older version expired", r: "R20", tis: []tiSpec{ti("i1", "ip", ipBad, conf(60), old(3*day), expires(t0.Add(-time.Hour))), ti("i1", "ip", ipBad, conf(40), old(day))},
			rows: []*engine.Event{cip}},
		// The address derivation and private filter come before arg_max
		// too: the newest row's NetworkIP is private (T6), so the older
		// row's public NetworkIP is used.
		{name: "newest NetworkIP private", r: "R21", tis: []tiSpec{ti("i1", "ip", ipBad2, old(3*day)), ti("i1", "srcip", ipBad2, also("ip", "10.1.1.1"), old(day))},
			rows: []*engine.Event{aws}, compat: []string{"i1 " + ipBad2}, timap: []string{"i1 " + ipBad2}},
		// The newest row carries another address: the older one is kept
		// for its value only when the newest fails the pre-filters.
		{name: "address changed", r: "R21", tis: []tiSpec{ti("i1", "ip", ipBad2, old(3*day)), ti("i1", "ip", ipBad, old(day))},
			rows: []*engine.Event{aws}},
		// T2 with versions: the newest row is revoked, so R21 does not
		// match through the older active one.
		{name: "revoked (T2)", r: "R21", tis: []tiSpec{ti("i1", "ip", ipBad2, old(3*day)), ti("i1", "ip", ipBad2, old(day), inactive())},
			rows: []*engine.Event{aws}},
		// Q15: R05 joins every row of 14 days; the older active row matches.
		{name: "R05 revoked (Q15)", r: "R05", tis: []tiSpec{ti("d1", "domain", domainBad, old(3*day)), ti("d1", "domain", domainBad, old(day), inactive())},
			rows: []*engine.Event{link, mail}, compat: []string{"d1 " + domainBad}},
		{name: "R05 revoked, older row 15 days old", r: "R05", tis: []tiSpec{ti("d1", "domain", domainBad, old(15*day)), ti("d1", "domain", domainBad, old(day), inactive())},
			rows: []*engine.Event{link, mail}},
		{name: "R05 revoked, older row expired", r: "R05", tis: []tiSpec{ti("d1", "domain", domainBad, old(3*day), expires(t0.Add(-time.Hour))), ti("d1", "domain", domainBad, old(day), inactive())},
			rows: []*engine.Event{link, mail}},
		// The domain of an older row still matches R05 though the newest
		// row names another.
		{name: "R05 domain changed", r: "R05", tis: []tiSpec{ti("d1", "domain", domainBad, old(3*day)), ti("d1", "domain", "other.example.org", old(day))},
			rows: []*engine.Event{link, mail}, compat: []string{"d1 " + domainBad}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := keys(of(c.r, runCompat(t, t0, c.tis, c.rows...))); !slices.Equal(got, c.compat) {
				t.Errorf("compat: got %s, want %s", fmtKeys(got), fmtKeys(c.compat))
			}
			if got := keys(of(c.r, runStoreCompat(t, storeOf(t, c.tis), t0, c.rows...))); !slices.Equal(got, c.newest) {
				t.Errorf("compat, newest versions only: got %s, want %s", fmtKeys(got), fmtKeys(c.newest))
			}
			if got := keys(of(c.r, runAll(t, t0, c.tis, c.rows...))); !slices.Equal(got, c.timap) {
				t.Errorf("timap: got %s, want %s", fmtKeys(got), fmtKeys(c.timap))
			}
		})
	}

	// The alert carries the version used: R20's severity and confidence
	// come from the row with 60 (Low), not the newest.
	al := of("R20", runCompat(t, t0, []tiSpec{ti("i1", "ip", ipBad, conf(60), old(3*day)), ti("i1", "ip", ipBad, conf(40), old(day))}, cip))
	if len(al) != 1 || al[0].AlertSeverity != "Low" || al[0].ExtendedProperties["ConfidenceScore"] != 60.0 {
		t.Errorf("R20 alert %+v", al)
	}
}

// TestCompatNoDedup checks spec §0.3 item 8: R44 and R53 have no result
// dedup, so compat mode emits one alert per matching row where the rules
// with a dedup key (R21) keep one per hour.
func TestCompatNoDedup(t *testing.T) {
	at := func(table string, m time.Duration, kv ...string) *engine.Event {
		ev := rowAt(table, t0.Add(-m*time.Minute), kv...)
		ev.Offset = int64(m) // distinct rows of one origin
		return ev
	}
	var dns, wd, aws []*engine.Event
	for _, m := range []time.Duration{50, 30, 5} {
		dns = append(dns, at("_Im_Dns", m, "DnsQuery", domainBad, "SrcIpAddr", "10.1.1.5"))
		wd = append(wd, at("ASimAuditEventLogs", m, "EventVendor", "Workday", "DvcIpAddr", ipBad))
		aws = append(aws, at("AWSCloudTrail", m, "SourceIpAddress", ipBad))
	}
	count := func(alerts []*engine.Alert) (n int, rows int, ids map[string]bool) {
		ids = map[string]bool{}
		for _, a := range alerts {
			n++
			rows += a.EventCount
			ids[a.SystemAlertId] = true
		}
		return
	}
	for _, c := range []struct {
		r                  string
		tis                []tiSpec
		rows               []*engine.Event
		compat, timap      int // alerts
		compatRowsPerAlert int
	}{
		{"R44", []tiSpec{dom}, dns, 3, 1, 1},
		// kind=inner and no dedup: two indicators × three rows.
		{"R53", []tiSpec{ip, ti("i2", "ip", ipBad)}, wd, 6, 2, 1},
		{"R21", []tiSpec{ip}, aws, 1, 1, 3},
	} {
		n, rows, ids := count(of(c.r, runCompat(t, t0, c.tis, c.rows...)))
		if n != c.compat || len(ids) != n || rows != n*c.compatRowsPerAlert {
			t.Errorf("%s compat: %d alerts (%d ids) of %d rows, want %d of %d rows each", c.r, n, len(ids), rows, c.compat, c.compatRowsPerAlert)
		}
		if n, rows, _ := count(of(c.r, runAll(t, t0, c.tis, c.rows...))); n != c.timap || rows != 3*c.timap {
			t.Errorf("%s timap: %d alerts of %d rows, want %d of 3 rows each", c.r, n, rows, c.timap)
		}
	}
	// Each R44 alert carries its own row.
	var times []time.Time
	for _, a := range of("R44", runCompat(t, t0, []tiSpec{dom}, dns...)) {
		times = append(times, a.StartTime)
	}
	slices.SortFunc(times, time.Time.Compare)
	if len(times) != 3 || !times[0].Equal(t0.Add(-50*time.Minute)) || !times[2].Equal(t0.Add(-5*time.Minute)) {
		t.Errorf("R44 alert times %v", times)
	}
}
