package rules_test

import (
	"encoding/csv"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"timap/engine"
)

// vcheck is one expectation of a golden vector: the alerts rule r gives
// for the indicators and rows.
type vcheck struct {
	r    string
	tis  []tiSpec
	rows []*engine.Event
	want []string
}

// TestGoldenVectors runs the synthetic vectors T1–T40 of spec §7 in
// timap's default ("fixed") semantics. Where the fixed result differs from
// the spec's Sentinel column, the case says why. Indicators are ingested
// now-1d and expire now+30d, rows are stamped now-10m, unless stated.
func TestGoldenVectors(t *testing.T) {
	csl := func(kv ...string) *engine.Event { return row("CommonSecurityLog", kv...) }
	pan := func(kv ...string) *engine.Event {
		return csl(append([]string{"DeviceVendor", "Palo Alto Networks", "DeviceEventClassID", "url"}, kv...)...)
	}
	ee := func(sender, senderDomain, recipient, action string) *engine.Event {
		return row("EmailEvents", "SenderFromAddress", sender, "SenderFromDomain", senderDomain, "RecipientEmailAddress", recipient, "DeliveryAction", action)
	}
	sha := "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"
	wsa := "2021-06-02 12:13:34 1589596903.150 178 https://google.com 114.50.12.56 200 18454 43125 POST https://www.survey-xact.dk:443/smartdesigner.jpg s-hostname text/html"
	wsa2 := "2021-06-02 12:13:34 1589596903.150 178 referer 114.50.12.56 200 18454 43125 POST https://www.survey-xact.dk:443/smartdesigner.jpg s-hostname text/html"
	surveyURL := ti("i1", "url", "https://www.survey-xact.dk:443/smartdesigner.jpg")

	vectors := []struct {
		id     string
		checks []vcheck
	}{
		{"T1", []vcheck{{"R21", []tiSpec{ti("i1", "ip", "203.0.113.10")}, []*engine.Event{row("AWSCloudTrail", "SourceIpAddress", "203.0.113.10")}, []string{"i1 203.0.113.10"}}}},
		// The newest version (inactive) wins, as in Sentinel.
		{"T2", []vcheck{{"R21", []tiSpec{ti("i1", "ip", "203.0.113.10"), ti("i1", "ip", "203.0.113.10", generated(t0.Add(-time.Hour)), inactive())},
			[]*engine.Event{row("AWSCloudTrail", "SourceIpAddress", "203.0.113.10")}, nil}}},
		// Sentinel: no match (the indicator was last ingested 15 days ago,
		// outside its 14-day lookback). timap keeps an indicator until it
		// expires or is revoked, whenever it was last re-published: match.
		{"T3", []vcheck{{"R21", []tiSpec{ti("i1", "ip", "203.0.113.10", generated(t0.Add(-15*24*time.Hour)))},
			[]*engine.Event{row("AWSCloudTrail", "SourceIpAddress", "203.0.113.10")}, []string{"i1 203.0.113.10"}}}},
		// Sentinel: no match (ipv4_is_private drops IPv6 indicators).
		// timap keeps IPv6 indicators: match.
		{"T4", []vcheck{{"R21", []tiSpec{ti("i1", "ip", "2001:db8::10")}, []*engine.Event{row("AWSCloudTrail", "SourceIpAddress", "2001:db8::10")}, []string{"i1 2001:db8::10"}}}},
		{"T5", []vcheck{{"R28", []tiSpec{ti("i1", "ip", "2001:db8::10")}, []*engine.Event{row("DeviceNetworkEvents", "RemoteIP", "2001:db8::10", "ActionType", "ConnectionSuccess")}, []string{"i1 2001:db8::10"}}}},
		// Sentinel: no match (NetworkIP 10.1.1.1 wins the precedence and is
		// private, so the indicator is dropped). timap refuses the private
		// address and matches every other address of the indicator: match.
		{"T6", []vcheck{{"R21", []tiSpec{ti("i1", "srcip", "198.51.100.7", also("ip", "10.1.1.1"))}, []*engine.Event{row("AWSCloudTrail", "SourceIpAddress", "198.51.100.7")}, []string{"i1 198.51.100.7"}}}},
		// Sentinel: no match (R31 ignores NetworkIP). timap reads every
		// address column of the indicator: match.
		{"T7", []vcheck{{"R31", []tiSpec{ti("i1", "ip", "198.51.100.7")}, []*engine.Event{row("OfficeActivity", "ClientIP", "198.51.100.7:443")}, []string{"i1 198.51.100.7"}}}},
		{"T8", []vcheck{{"R31", []tiSpec{ti("i1", "dstip", "198.51.100.7")}, []*engine.Event{row("OfficeActivity", "ClientIP", "[::ffff:198.51.100.7]:443")}, []string{"i1 198.51.100.7"}}}},
		{"T9", []vcheck{{"R27", []tiSpec{ti("i1", "ip", "203.0.113.10")}, []*engine.Event{csl("SourceIP", "10.0.0.5", "DestinationIP", "203.0.113.10")}, []string{"i1 203.0.113.10"}}}},
		// Sentinel: with i1 = the destination 15.230.137.45 no match (only
		// the public SourceIP is compared, issue 11069). timap compares both
		// addresses: match; with i1 = the source 17.81.146.1: match.
		{"T10", []vcheck{
			{"R27", []tiSpec{ti("i1", "ip", "15.230.137.45")}, []*engine.Event{solarigateCEF(t)}, []string{"i1 15.230.137.45"}},
			{"R27", []tiSpec{ti("i1", "ip", "17.81.146.1")}, []*engine.Event{solarigateCEF(t)}, []string{"i1 17.81.146.1"}},
		}},
		{"T11", []vcheck{{"R29", []tiSpec{ti("i1", "ip", "198.51.100.7")}, []*engine.Event{row("DnsEvents", "SubType", "LookupQuery", "IPAddresses", "203.0.113.10, 198.51.100.7")}, []string{"i1 198.51.100.7"}}}},
		// Sentinel splits on ", ", so "a,b" is one value that is no address
		// (no match); timap splits on "," and trims, so both forms match.
		{"T12", []vcheck{{"R29", []tiSpec{ti("i1", "ip", "198.51.100.7")}, []*engine.Event{row("DnsEvents", "SubType", "LookupQuery", "IPAddresses", "203.0.113.10,198.51.100.7")}, []string{"i1 198.51.100.7"}}}},
		// Sentinel: "Evil.Example.com" does not match (case-sensitive).
		// timap normalises case: both names match.
		{"T13", []vcheck{
			{"R03", []tiSpec{ti("i1", "domain", "evil.example.com")}, []*engine.Event{row("DnsEvents", "Name", "Evil.Example.com")}, []string{"i1 evil.example.com"}},
			{"R03", []tiSpec{ti("i1", "domain", "evil.example.com")}, []*engine.Event{row("DnsEvents", "Name", "evil.example.com")}, []string{"i1 evil.example.com"}},
		}},
		{"T14", []vcheck{{"R01", []tiSpec{ti("i1", "domain", "Evil.Example.com")}, []*engine.Event{csl("DeviceEventClassID", "url", "RequestURL", "evil.example.com/p", "ApplicationProtocol", "ssl")}, []string{"i1 evil.example.com"}}}},
		// Sentinel: no match for DomainName "Evil.Example.com" (used raw
		// against the lower-cased host). timap: match for both spellings.
		{"T15", []vcheck{
			{"R07", []tiSpec{ti("i1", "domain", "Evil.Example.com")}, []*engine.Event{pan("RequestURL", "evil.example.com/p", "ApplicationProtocol", "ssl")}, []string{"i1 evil.example.com"}},
			{"R07", []tiSpec{ti("i1", "domain", "evil.example.com")}, []*engine.Event{pan("RequestURL", "evil.example.com/p", "ApplicationProtocol", "ssl")}, []string{"i1 evil.example.com"}},
		}},
		// Sentinel: R01 and R39 prefix "http://" to the https URL and match
		// nothing; R07 matches. timap adds a scheme only when there is none:
		// all three match.
		{"T16", []vcheck{
			{"R01", []tiSpec{ti("i1", "domain", "evil.example.com")}, []*engine.Event{pan("RequestURL", "https://evil.example.com/p", "ApplicationProtocol", "web-browsing")}, []string{"i1 evil.example.com"}},
			{"R07", []tiSpec{ti("i1", "domain", "evil.example.com")}, []*engine.Event{pan("RequestURL", "https://evil.example.com/p", "ApplicationProtocol", "web-browsing")}, []string{"i1 evil.example.com"}},
			{"R39", []tiSpec{ti("i1", "url", "https://evil.example.com/p")}, []*engine.Event{pan("RequestURL", "https://evil.example.com/p", "ApplicationProtocol", "web-browsing")}, []string{"i1 https://evil.example.com/p"}},
		}},
		// Sentinel: TI Url "evil.example.com/p" (no scheme) never equals
		// the prefixed log URL. timap reads a scheme-less indicator as
		// http:// too: match.
		{"T17", []vcheck{
			{"R39", []tiSpec{ti("i1", "url", "http://evil.example.com/p")}, []*engine.Event{pan("RequestURL", `"evil.example.com/p"`, "ApplicationProtocol", "web-browsing")}, []string{"i1 http://evil.example.com/p"}},
			{"R39", []tiSpec{ti("i1", "url", "evil.example.com/p")}, []*engine.Event{pan("RequestURL", `"evil.example.com/p"`, "ApplicationProtocol", "web-browsing")}, []string{"i1 http://evil.example.com/p"}},
		}},
		// Sentinel: no match for a RemoteUrl without scheme (parse_url
		// yields no host). timap reads it as http://: match.
		{"T18", []vcheck{
			{"R02", []tiSpec{ti("i1", "domain", "evil.example.com")}, []*engine.Event{row("DeviceNetworkEvents", "RemoteUrl", "evil.example.com", "ActionType", "ConnectionSuccess")}, []string{"i1 evil.example.com"}},
			{"R02", []tiSpec{ti("i1", "domain", "evil.example.com")}, []*engine.Event{row("DeviceNetworkEvents", "RemoteUrl", "https://evil.example.com/x", "ActionType", "ConnectionSuccess")}, []string{"i1 evil.example.com"}},
		}},
		{"T19", []vcheck{{"R36", []tiSpec{ti("i1", "url", "HTTP://Evil.example.com/p")}, []*engine.Event{row("DeviceNetworkEvents", "RemoteUrl", "http://evil.example.com/p", "ActionType", "ConnectionSuccess")}, []string{"i1 http://evil.example.com/p"}}}},
		// Sentinel: no match on the recipient (its domain becomes
		// ["victim.com"]). timap takes the domain after the "@": match.
		{"T20", []vcheck{
			{"R04", []tiSpec{ti("i1", "domain", "victim.com")}, []*engine.Event{ee("x@other.com", "other.com", "bob@victim.com", "Delivered")}, []string{"i1 victim.com"}},
			{"R04", []tiSpec{ti("i1", "domain", "victim.com")}, []*engine.Event{ee("x@victim.com", "Victim.com", "bob@contoso.com", "Delivered")}, []string{"i1 victim.com"}},
		}},
		{"T21", []vcheck{
			{"R04", []tiSpec{ti("i1", "domain", "evil.com")}, []*engine.Event{ee("bad@evil.com", "evil.com", "bob@evil.com", "Blocked")}, nil},
			{"R11", []tiSpec{ti("i1", "email", "bad@evil.com")}, []*engine.Event{ee("bad@evil.com", "evil.com", "bob@contoso.com", "Blocked")}, nil},
		}},
		{"T22", []vcheck{{"R11", []tiSpec{ti("i1", "email", "Bad@Evil.com")}, []*engine.Event{ee("BAD@evil.com", "evil.com", "bob@contoso.com", "Delivered")}, []string{"i1 bad@evil.com"}}}},
		// Sentinel: "bad@evil.com" does not match "Bad@Evil.com"
		// (case-sensitive). timap: both match.
		{"T23", []vcheck{
			{"R12", []tiSpec{ti("i1", "email", "Bad@Evil.com")}, []*engine.Event{row("OfficeActivity", "UserId", "bad@evil.com")}, []string{"i1 bad@evil.com"}},
			{"R12", []tiSpec{ti("i1", "email", "Bad@Evil.com")}, []*engine.Event{row("OfficeActivity", "UserId", "Bad@Evil.com")}, []string{"i1 bad@evil.com"}},
		}},
		// Sentinel: no match (TI raw vs lower-cased Caller). timap: match.
		{"T24", []vcheck{
			{"R10", []tiSpec{ti("i1", "email", "Bad@Evil.com")}, []*engine.Event{row("AzureActivity", "Caller", "bad@evil.com")}, []string{"i1 bad@evil.com"}},
			{"R10", []tiSpec{ti("i1", "email", "bad@evil.com")}, []*engine.Event{row("AzureActivity", "Caller", "bad@evil.com")}, []string{"i1 bad@evil.com"}},
		}},
		// Sentinel: a mixed-case log hash matches neither the lower- nor
		// the upper-case copy of the indicator. timap: match.
		{"T25", []vcheck{
			{"R17", []tiSpec{ti("i1", "hash", sha)}, []*engine.Event{csl("FileHash", strings.ToLower(sha))}, []string{"i1 " + strings.ToLower(sha)}},
			{"R17", []tiSpec{ti("i1", "hash", sha)}, []*engine.Event{csl("FileHash", "AbCdEf"+strings.ToLower(sha[6:]))}, []string{"i1 " + strings.ToLower(sha)}},
		}},
		// Sentinel: an upper-case indicator never matches MDE's lower-case
		// SHA256 (case-sensitive). timap: match. MD5 indicators are not
		// compared by R18 (as in Sentinel) but by R50, which timap ships
		// working.
		{"T26", []vcheck{
			{"R18", []tiSpec{ti("i1", "hash", sha)}, []*engine.Event{row("DeviceFileEvents", "SHA256", strings.ToLower(sha))}, []string{"i1 " + strings.ToLower(sha)}},
			{"R18", []tiSpec{ti("i1", "hash", strings.ToLower(sha))}, []*engine.Event{row("DeviceFileEvents", "SHA256", strings.ToLower(sha))}, []string{"i1 " + strings.ToLower(sha)}},
			{"R18", []tiSpec{ti("i1", "hash", md5Bad)}, []*engine.Event{row("DeviceFileEvents", "MD5", md5Bad)}, nil},
			{"R50", []tiSpec{ti("i1", "hash", md5Bad)}, []*engine.Event{row("DeviceFileEvents", "MD5", md5Bad)}, []string{"i1 " + md5Bad}},
		}},
		{"T27", []vcheck{
			{"R19", []tiSpec{ti("i1", "hash", strings.ToLower(sha))}, []*engine.Event{row("SecurityEvent", "EventID", "8002", "FileHash", sha)}, []string{"i1 " + strings.ToLower(sha)}},
			{"R19", []tiSpec{ti("i1", "hash", strings.ToLower(sha))}, []*engine.Event{row("SecurityEvent", "EventID", "4688", "FileHash", sha)}, nil},
		}},
		// T28 (severities) and T29–T31, T36, T39, T40 are separate tests
		// below: they check more than the matched keys.
		// Sentinel: no match (only the first URL of the message,
		// https://google.com, is compared). timap looks up every URL: match.
		{"T32", []vcheck{{"R41", []tiSpec{surveyURL}, []*engine.Event{row("Syslog", "SyslogMessage", wsa)}, []string{"i1 https://www.survey-xact.dk/smartdesigner.jpg"}}}},
		{"T33", []vcheck{{"R41", []tiSpec{surveyURL}, []*engine.Event{row("Syslog", "SyslogMessage", wsa2)}, []string{"i1 https://www.survey-xact.dk/smartdesigner.jpg"}}}},
		// As in Sentinel, domain matching is exact: survey-xact.dk does not
		// match www.survey-xact.dk (Sentinel: because only the first token
		// counts; timap: because R09 does not match parent domains).
		{"T34", []vcheck{
			{"R09", []tiSpec{ti("i1", "domain", "survey-xact.dk")}, []*engine.Event{row("Syslog", "SyslogMessage", wsa2)}, nil},
			{"R09", []tiSpec{ti("i1", "domain", "www.survey-xact.dk")}, []*engine.Event{row("Syslog", "SyslogMessage", wsa2)}, []string{"i1 www.survey-xact.dk"}},
		}},
		// Sentinel: i3 ("https://EVIL.example.com/a") matches neither the
		// lower-cased chain nor the raw Url. timap normalises: i1, i2 and
		// i3 all match.
		{"T35", []vcheck{{"R42", []tiSpec{ti("i1", "url", "https://final.example.net/"), ti("i2", "url", "https://Evil.example.com/a"), ti("i3", "url", "https://EVIL.example.com/a")},
			[]*engine.Event{row("UrlClickEvents", "Url", "https://Evil.example.com/a", "UrlChain", `["https://evil.example.com/a","https://final.example.net/"]`)},
			[]string{"i1 https://final.example.net/", "i2 https://evil.example.com/a", "i3 https://evil.example.com/a"}}}},
		// Every IPv4 address of the response is a candidate.
		{"T37", []vcheck{{"R45", []tiSpec{ti("i1", "ip", "198.51.100.7")}, []*engine.Event{row("_Im_Dns", "DnsResponseName", "203.0.113.10;198.51.100.7")}, []string{"i1 198.51.100.7"}}}},
		{"T38", []vcheck{{"R44", []tiSpec{ti("i1", "domain", "avsvmcloud.com")}, []*engine.Event{solarigateUmbrella(t)}, []string{"i1 avsvmcloud.com"}}}},
	}
	for _, v := range vectors {
		t.Run(v.id, func(t *testing.T) {
			for i, c := range v.checks {
				if got := keys(of(c.r, runAll(t, t0, c.tis, c.rows...))); !slices.Equal(got, c.want) {
					t.Errorf("check %d (%s): got %s, want %s", i, c.r, fmtKeys(got), fmtKeys(c.want))
				}
			}
		})
	}

	// T28: R20's severity follows ConfidenceScore (> 82 High, > 74
	// Medium, else Low); 50 or less: no alert. Same as Sentinel.
	t.Run("T28", func(t *testing.T) {
		tis := []tiSpec{ti("i1", "ip", "203.0.113.1", conf(83)), ti("i2", "ip", "203.0.113.2", conf(75)), ti("i3", "ip", "203.0.113.3", conf(60)), ti("i4", "ip", "203.0.113.4", conf(50))}
		var rows []*engine.Event
		for _, a := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"} {
			rows = append(rows, row("AppServiceHTTPLogs", "CIp", a))
		}
		sev := map[string]string{}
		for _, a := range of("R20", runAll(t, t0, tis, rows...)) {
			sev[a.IndicatorId] = a.AlertSeverity
		}
		if len(sev) != 3 || sev["i1"] != "High" || sev["i2"] != "Medium" || sev["i3"] != "Low" {
			t.Errorf("severities %v, want i1 High, i2 Medium, i3 Low, no i4", sev)
		}
	})

	// T29: Sentinel keeps one arbitrary indicator per value (innerunique):
	// exactly one row. timap alerts for every indicator of the value.
	t.Run("T29", func(t *testing.T) {
		got := keys(of("R21", runAll(t, t0, []tiSpec{ti("i1", "ip", "203.0.113.10"), ti("i2", "ip", "203.0.113.10")}, row("AWSCloudTrail", "SourceIpAddress", "203.0.113.10"))))
		if want := []string{"i1 203.0.113.10", "i2 203.0.113.10"}; !slices.Equal(got, want) {
			t.Errorf("got %s, want %s", fmtKeys(got), fmtKeys(want))
		}
	})

	// T30: Sentinel returns one row per run, carrying the latest event.
	// timap keeps one alert per rule, indicator and value per hour: the
	// three rows make one alert spanning now-50m to now-5m, EventCount 3
	// (ExtendedProperties are the first row's).
	t.Run("T30", func(t *testing.T) {
		var rows []*engine.Event
		for _, ago := range []time.Duration{50, 30, 5} {
			rows = append(rows, rowAt("AWSCloudTrail", t0.Add(-ago*time.Minute), "SourceIpAddress", "203.0.113.10"))
		}
		al := of("R21", runAll(t, t0, []tiSpec{ti("i1", "ip", "203.0.113.10")}, rows...))
		if len(al) != 1 || al[0].EventCount != 3 || !al[0].StartTime.Equal(t0.Add(-50*time.Minute)) || !al[0].EndTime.Equal(t0.Add(-5*time.Minute)) {
			t.Fatalf("alerts %+v", al)
		}
	})

	// T31: the rules with the Description state filter drop an indicator
	// marked "State: inactive;"; the others (R21) still match. Same as
	// Sentinel. Each rule's first positive catalogue case is replayed with
	// the marked indicator.
	t.Run("T31", func(t *testing.T) {
		stateRules := []string{"R02", "R04", "R08", "R12", "R16", "R18", "R28", "R31", "R32", "R35", "R36", "R40"}
		done := map[string]bool{}
		for _, c := range catalogueCases() {
			if len(c.want) == 0 || done[c.r] {
				continue
			}
			done[c.r] = true
			var tis []tiSpec
			for _, s := range c.tis {
				s.desc = "Imported from MISP. State: inactive; reviewed"
				tis = append(tis, s)
			}
			got := keys(of(c.r, runAll(t, t0, tis, c.rows...)))
			if slices.Contains(stateRules, c.r) != (len(got) == 0) {
				t.Errorf("%s: got %s with a State: inactive; indicator", c.r, fmtKeys(got))
			}
		}
		for _, r := range stateRules {
			if f := ruleByNumber(t, r).TIFilters; len(f) != 2 || f[0].Value != "State: inactive;" || f[1].Value != "State: falsepos;" {
				t.Errorf("%s: ti filters %+v", r, f)
			}
		}
		got := keys(of("R02", runAll(t, t0, []tiSpec{ti("d1", "domain", "evil.example.com", desc("State: falsepos;"))},
			row("DeviceNetworkEvents", "RemoteUrl", "evil.example.com", "ActionType", "ConnectionSuccess"))))
		if len(got) != 0 {
			t.Errorf("R02 with State: falsepos;: %s", fmtKeys(got))
		}
	})

	sameInBothModes(t, false)
}

// solarigateCEF is the CommonSecurityLog row of the Sentinel training
// lab's solarigate_CEFevent.csv.
func solarigateCEF(t *testing.T) *engine.Event {
	return csvRow(t, "testdata/sentinel-samples/solarigate_CEFevent.csv", "CommonSecurityLog", nil)
}

// solarigateUmbrella is the Cisco Umbrella DNS row of the training lab's
// solarigate-beacon-umbrella.csv, as the ASIM DNS parser presents it.
func solarigateUmbrella(t *testing.T) *engine.Event {
	return csvRow(t, "testdata/sentinel-samples/solarigate-beacon-umbrella.csv", "_Im_Dns", map[string]string{
		"Domain": "DnsQuery", "InternalIp": "SrcIpAddr", "Action": "DvcAction", "QueryType": "DnsQueryTypeName", "ResponseCode": "EventResultDetails",
	})
}

// csvRow reads the single data row of a CSV export as an event of table;
// rename maps CSV headers to columns (nil: headers are the columns).
// Values are trimmed, as Log Analytics trims ingested strings.
func csvRow(t *testing.T, path, table string, rename map[string]string) *engine.Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("%s: %d records, %v", path, len(recs), err)
	}
	ev := row(table)
	for i, h := range recs[0] {
		col := h
		if rename != nil {
			if col = rename[h]; col == "" {
				continue
			}
		}
		if v := strings.TrimSpace(recs[1][i]); v != "" {
			ev.Set(col, v)
		}
	}
	return ev
}
