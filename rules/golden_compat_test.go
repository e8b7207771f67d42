package rules_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"timap/engine"
)

// TestGoldenVectorsCompat runs the synthetic vectors T1–T40 of spec §7 in
// Sentinel compatibility mode and expects the spec's "expected" column
// (Sentinel's result). Where compat mode cannot reproduce Sentinel the
// check asserts what it does and says why (gap). Indicators are ingested
// now-1d and expire now+30d, rows are stamped now-10m, unless stated; the
// store keeps indicator versions, as timap match --compat sentinel's does.
func TestGoldenVectorsCompat(t *testing.T) {
	csl := func(kv ...string) *engine.Event { return row("CommonSecurityLog", kv...) }
	pan := func(kv ...string) *engine.Event {
		return csl(append([]string{"DeviceVendor", "Palo Alto Networks", "DeviceEventClassID", "url"}, kv...)...)
	}
	ee := func(sender, senderDomain, recipient, action string) *engine.Event {
		return row("EmailEvents", "SenderFromAddress", sender, "SenderFromDomain", senderDomain, "RecipientEmailAddress", recipient, "DeliveryAction", action)
	}
	sha := "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"
	lsha := strings.ToLower(sha)
	wsa := "2021-06-02 12:13:34 1589596903.150 178 https://google.com 114.50.12.56 200 18454 43125 POST https://www.survey-xact.dk:443/smartdesigner.jpg s-hostname text/html"
	wsa2 := "2021-06-02 12:13:34 1589596903.150 178 referer 114.50.12.56 200 18454 43125 POST https://www.survey-xact.dk:443/smartdesigner.jpg s-hostname text/html"
	surveyURL := ti("i1", "url", "https://www.survey-xact.dk:443/smartdesigner.jpg")
	aws := row("AWSCloudTrail", "SourceIpAddress", "203.0.113.10")

	vectors := []struct {
		id     string
		checks []vcheck
	}{
		{"T1", []vcheck{{"R21", []tiSpec{ti("i1", "ip", "203.0.113.10")}, []*engine.Event{aws}, []string{"i1 203.0.113.10"}}}},
		{"T2", []vcheck{{"R21", []tiSpec{ti("i1", "ip", "203.0.113.10"), ti("i1", "ip", "203.0.113.10", generated(t0.Add(-time.Hour)), inactive())}, []*engine.Event{aws}, nil}}},
		{"T3", []vcheck{{"R21", []tiSpec{ti("i1", "ip", "203.0.113.10", generated(t0.Add(-15*24*time.Hour)))}, []*engine.Event{aws}, nil}}},
		{"T4", []vcheck{{"R21", []tiSpec{ti("i1", "ip", "2001:db8::10")}, []*engine.Event{row("AWSCloudTrail", "SourceIpAddress", "2001:db8::10")}, nil}}},
		{"T5", []vcheck{{"R28", []tiSpec{ti("i1", "ip", "2001:db8::10")}, []*engine.Event{row("DeviceNetworkEvents", "RemoteIP", "2001:db8::10", "ActionType", "ConnectionSuccess")}, []string{"i1 2001:db8::10"}}}},
		// NetworkIP 10.1.1.1 wins the precedence and is private, so the
		// indicator is dropped. timap refuses the private address when
		// loading but records its column (RefusedIPColumns).
		{"T6", []vcheck{{"R21", []tiSpec{ti("i1", "srcip", "198.51.100.7", also("ip", "10.1.1.1"))}, []*engine.Event{row("AWSCloudTrail", "SourceIpAddress", "198.51.100.7")}, nil}}},
		{"T7", []vcheck{{"R31", []tiSpec{ti("i1", "ip", "198.51.100.7")}, []*engine.Event{row("OfficeActivity", "ClientIP", "198.51.100.7:443")}, nil}}},
		{"T8", []vcheck{{"R31", []tiSpec{ti("i1", "dstip", "198.51.100.7")}, []*engine.Event{row("OfficeActivity", "ClientIP", "[::ffff:198.51.100.7]:443")}, []string{"i1 198.51.100.7"}}}},
		{"T9", []vcheck{{"R27", []tiSpec{ti("i1", "ip", "203.0.113.10")}, []*engine.Event{csl("SourceIP", "10.0.0.5", "DestinationIP", "203.0.113.10")}, []string{"i1 203.0.113.10"}}}},
		{"T10", []vcheck{
			{"R27", []tiSpec{ti("i1", "ip", "15.230.137.45")}, []*engine.Event{solarigateCEF(t)}, nil},
			{"R27", []tiSpec{ti("i1", "ip", "17.81.146.1")}, []*engine.Event{solarigateCEF(t)}, []string{"i1 17.81.146.1"}},
		}},
		{"T11", []vcheck{{"R29", []tiSpec{ti("i1", "ip", "198.51.100.7")}, []*engine.Event{row("DnsEvents", "SubType", "LookupQuery", "IPAddresses", "203.0.113.10, 198.51.100.7")}, []string{"i1 198.51.100.7"}}}},
		{"T12", []vcheck{{"R29", []tiSpec{ti("i1", "ip", "198.51.100.7")}, []*engine.Event{row("DnsEvents", "SubType", "LookupQuery", "IPAddresses", "203.0.113.10,198.51.100.7")}, nil}}},
		{"T13", []vcheck{
			{"R03", []tiSpec{ti("i1", "domain", "evil.example.com")}, []*engine.Event{row("DnsEvents", "Name", "Evil.Example.com")}, nil},
			{"R03", []tiSpec{ti("i1", "domain", "evil.example.com")}, []*engine.Event{row("DnsEvents", "Name", "evil.example.com")}, []string{"i1 evil.example.com"}},
		}},
		{"T14", []vcheck{{"R01", []tiSpec{ti("i1", "domain", "Evil.Example.com")}, []*engine.Event{csl("DeviceEventClassID", "url", "RequestURL", "evil.example.com/p", "ApplicationProtocol", "ssl")}, []string{"i1 evil.example.com"}}}},
		{"T15", []vcheck{
			{"R07", []tiSpec{ti("i1", "domain", "Evil.Example.com")}, []*engine.Event{pan("RequestURL", "evil.example.com/p", "ApplicationProtocol", "ssl")}, nil},
			{"R07", []tiSpec{ti("i1", "domain", "evil.example.com")}, []*engine.Event{pan("RequestURL", "evil.example.com/p", "ApplicationProtocol", "ssl")}, []string{"i1 evil.example.com"}},
		}},
		// R01 and R39 make PA_Url http://https://evil.example.com/p (no
		// match); R07 guards against it and matches.
		{"T16", []vcheck{
			{"R01", []tiSpec{ti("i1", "domain", "evil.example.com")}, []*engine.Event{pan("RequestURL", "https://evil.example.com/p", "ApplicationProtocol", "web-browsing")}, nil},
			{"R07", []tiSpec{ti("i1", "domain", "evil.example.com")}, []*engine.Event{pan("RequestURL", "https://evil.example.com/p", "ApplicationProtocol", "web-browsing")}, []string{"i1 evil.example.com"}},
			{"R39", []tiSpec{ti("i1", "url", "https://evil.example.com/p")}, []*engine.Event{pan("RequestURL", "https://evil.example.com/p", "ApplicationProtocol", "web-browsing")}, nil},
		}},
		{"T17", []vcheck{
			{"R39", []tiSpec{ti("i1", "url", "http://evil.example.com/p")}, []*engine.Event{pan("RequestURL", `"evil.example.com/p"`, "ApplicationProtocol", "web-browsing")}, []string{"i1 http://evil.example.com/p"}},
			{"R39", []tiSpec{ti("i1", "url", "evil.example.com/p")}, []*engine.Event{pan("RequestURL", `"evil.example.com/p"`, "ApplicationProtocol", "web-browsing")}, nil},
		}},
		{"T18", []vcheck{
			{"R02", []tiSpec{ti("i1", "domain", "evil.example.com")}, []*engine.Event{row("DeviceNetworkEvents", "RemoteUrl", "evil.example.com", "ActionType", "ConnectionSuccess")}, nil},
			{"R02", []tiSpec{ti("i1", "domain", "evil.example.com")}, []*engine.Event{row("DeviceNetworkEvents", "RemoteUrl", "https://evil.example.com/x", "ActionType", "ConnectionSuccess")}, []string{"i1 evil.example.com"}},
		}},
		{"T19", []vcheck{{"R36", []tiSpec{ti("i1", "url", "HTTP://Evil.example.com/p")}, []*engine.Event{row("DeviceNetworkEvents", "RemoteUrl", "http://evil.example.com/p", "ActionType", "ConnectionSuccess")}, []string{"i1 http://evil.example.com/p"}}}},
		{"T20", []vcheck{
			{"R04", []tiSpec{ti("i1", "domain", "victim.com")}, []*engine.Event{ee("x@other.com", "other.com", "bob@victim.com", "Delivered")}, nil},
			{"R04", []tiSpec{ti("i1", "domain", "victim.com")}, []*engine.Event{ee("x@victim.com", "Victim.com", "bob@contoso.com", "Delivered")}, []string{"i1 victim.com"}},
		}},
		{"T21", []vcheck{
			{"R04", []tiSpec{ti("i1", "domain", "evil.com")}, []*engine.Event{ee("bad@evil.com", "evil.com", "bob@evil.com", "Blocked")}, nil},
			{"R11", []tiSpec{ti("i1", "email", "bad@evil.com")}, []*engine.Event{ee("bad@evil.com", "evil.com", "bob@contoso.com", "Blocked")}, nil},
		}},
		{"T22", []vcheck{{"R11", []tiSpec{ti("i1", "email", "Bad@Evil.com")}, []*engine.Event{ee("BAD@evil.com", "evil.com", "bob@contoso.com", "Delivered")}, []string{"i1 bad@evil.com"}}}},
		{"T23", []vcheck{
			{"R12", []tiSpec{ti("i1", "email", "Bad@Evil.com")}, []*engine.Event{row("OfficeActivity", "UserId", "bad@evil.com")}, nil},
			{"R12", []tiSpec{ti("i1", "email", "Bad@Evil.com")}, []*engine.Event{row("OfficeActivity", "UserId", "Bad@Evil.com")}, []string{"i1 bad@evil.com"}},
		}},
		{"T24", []vcheck{
			{"R10", []tiSpec{ti("i1", "email", "Bad@Evil.com")}, []*engine.Event{row("AzureActivity", "Caller", "bad@evil.com")}, nil},
			{"R10", []tiSpec{ti("i1", "email", "bad@evil.com")}, []*engine.Event{row("AzureActivity", "Caller", "bad@evil.com")}, []string{"i1 bad@evil.com"}},
		}},
		{"T25", []vcheck{
			{"R17", []tiSpec{ti("i1", "hash", sha)}, []*engine.Event{csl("FileHash", lsha)}, []string{"i1 " + lsha}},
			{"R17", []tiSpec{ti("i1", "hash", sha)}, []*engine.Event{csl("FileHash", "AbCdEf"+lsha[6:])}, nil},
		}},
		// R50 never fires in Sentinel (Q10), nor in compat mode.
		{"T26", []vcheck{
			{"R18", []tiSpec{ti("i1", "hash", sha)}, []*engine.Event{row("DeviceFileEvents", "SHA256", lsha)}, nil},
			{"R18", []tiSpec{ti("i1", "hash", lsha)}, []*engine.Event{row("DeviceFileEvents", "SHA256", lsha)}, []string{"i1 " + lsha}},
			{"R18", []tiSpec{ti("i1", "hash", md5Bad)}, []*engine.Event{row("DeviceFileEvents", "MD5", md5Bad)}, nil},
			{"R50", []tiSpec{ti("i1", "hash", md5Bad)}, []*engine.Event{row("DeviceFileEvents", "MD5", md5Bad)}, nil},
		}},
		{"T27", []vcheck{
			{"R19", []tiSpec{ti("i1", "hash", lsha)}, []*engine.Event{row("SecurityEvent", "EventID", "8002", "FileHash", sha)}, []string{"i1 " + lsha}},
			{"R19", []tiSpec{ti("i1", "hash", lsha)}, []*engine.Event{row("SecurityEvent", "EventID", "4688", "FileHash", sha)}, nil},
		}},
		// T28–T31, T36, T39, T40 are separate tests below.
		{"T32", []vcheck{{"R41", []tiSpec{surveyURL}, []*engine.Event{row("Syslog", "SyslogMessage", wsa)}, nil}}},
		{"T33", []vcheck{{"R41", []tiSpec{surveyURL}, []*engine.Event{row("Syslog", "SyslogMessage", wsa2)}, []string{"i1 https://www.survey-xact.dk/smartdesigner.jpg"}}}},
		{"T34", []vcheck{
			{"R09", []tiSpec{ti("i1", "domain", "survey-xact.dk")}, []*engine.Event{row("Syslog", "SyslogMessage", wsa2)}, nil},
			{"R09", []tiSpec{ti("i1", "domain", "www.survey-xact.dk")}, []*engine.Event{row("Syslog", "SyslogMessage", wsa2)}, []string{"i1 www.survey-xact.dk"}},
		}},
		{"T35", []vcheck{{"R42", []tiSpec{ti("i1", "url", "https://final.example.net/"), ti("i2", "url", "https://Evil.example.com/a"), ti("i3", "url", "https://EVIL.example.com/a")},
			[]*engine.Event{row("UrlClickEvents", "Url", "https://Evil.example.com/a", "UrlChain", `["https://evil.example.com/a","https://final.example.net/"]`)},
			[]string{"i1 https://final.example.net/", "i2 https://evil.example.com/a"}}}},
		{"T37", []vcheck{{"R45", []tiSpec{ti("i1", "ip", "198.51.100.7")}, []*engine.Event{row("_Im_Dns", "DnsResponseName", "203.0.113.10;198.51.100.7")}, []string{"i1 198.51.100.7"}}}},
		{"T38", []vcheck{{"R44", []tiSpec{ti("i1", "domain", "avsvmcloud.com")}, []*engine.Event{solarigateUmbrella(t)}, []string{"i1 avsvmcloud.com"}}}},
	}
	for _, v := range vectors {
		t.Run(v.id, func(t *testing.T) {
			for i, c := range v.checks {
				if got := keys(of(c.r, runCompat(t, t0, c.tis, c.rows...))); !slices.Equal(got, c.want) {
					t.Errorf("check %d (%s): got %s, want %s", i, c.r, fmtKeys(got), fmtKeys(c.want))
				}
			}
		})
	}

	// T28: severity from ConfidenceScore; 50 or less: no alert.
	t.Run("T28", func(t *testing.T) {
		tis := []tiSpec{ti("i1", "ip", "203.0.113.1", conf(83)), ti("i2", "ip", "203.0.113.2", conf(75)), ti("i3", "ip", "203.0.113.3", conf(60)), ti("i4", "ip", "203.0.113.4", conf(50))}
		var rows []*engine.Event
		for _, a := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"} {
			rows = append(rows, row("AppServiceHTTPLogs", "CIp", a))
		}
		sev := map[string]string{}
		for _, a := range of("R20", runCompat(t, t0, tis, rows...)) {
			sev[a.IndicatorId] = a.AlertSeverity
		}
		if len(sev) != 3 || sev["i1"] != "High" || sev["i2"] != "Medium" || sev["i3"] != "Low" {
			t.Errorf("severities %v, want i1 High, i2 Medium, i3 Low, no i4", sev)
		}
	})

	// T29: exactly one indicator per value (innerunique). Sentinel's pick
	// is arbitrary; compat mode's is the latest ingested, then the highest
	// ConfidenceScore, then the smallest IndicatorId.
	t.Run("T29", func(t *testing.T) {
		for _, c := range []struct {
			tis  []tiSpec
			want string
		}{
			{[]tiSpec{ti("i1", "ip", "203.0.113.10"), ti("i2", "ip", "203.0.113.10")}, "i1 203.0.113.10"},
			{[]tiSpec{ti("i1", "ip", "203.0.113.10"), ti("i2", "ip", "203.0.113.10", generated(t0.Add(-time.Hour)))}, "i2 203.0.113.10"},
			{[]tiSpec{ti("i1", "ip", "203.0.113.10", conf(60)), ti("i2", "ip", "203.0.113.10", conf(90))}, "i2 203.0.113.10"},
		} {
			if got := keys(of("R21", runCompat(t, t0, c.tis, aws))); !slices.Equal(got, []string{c.want}) {
				t.Errorf("got %s, want [%s]", fmtKeys(got), c.want)
			}
		}
	})

	// T30: one row per run and dedup key, carrying the latest event.
	t.Run("T30", func(t *testing.T) {
		var rows []*engine.Event
		for i, ago := range []time.Duration{50, 30, 5} {
			rows = append(rows, rowAt("AWSCloudTrail", t0.Add(-ago*time.Minute), "SourceIpAddress", "203.0.113.10", "EventName", []string{"a", "b", "c"}[i]))
		}
		al := of("R21", runCompat(t, t0, []tiSpec{ti("i1", "ip", "203.0.113.10")}, rows...))
		if len(al) != 1 || al[0].EventCount != 3 || !al[0].EndTime.Equal(t0.Add(-5*time.Minute)) || al[0].ExtendedProperties["EventName"] != "c" {
			t.Fatalf("alerts %+v", al)
		}
	})

	// T31: the rules with the Description state filter drop an indicator
	// marked "State: inactive;"; the others (R21) still match. Each rule's
	// Sentinel-positive case of TestCompatRules is replayed with the
	// marked indicator.
	t.Run("T31", func(t *testing.T) {
		stateRules := []string{"R02", "R04", "R08", "R12", "R16", "R18", "R28", "R31", "R32", "R35", "R36", "R40"}
		done := map[string]bool{}
		for _, c := range compatCases(t) {
			if len(c.compat) == 0 || done[c.r] || !(slices.Contains(stateRules, c.r) || c.r == "R21") {
				continue
			}
			done[c.r] = true
			var tis []tiSpec
			for _, s := range c.tis {
				s.desc = "Imported from MISP. State: inactive; reviewed"
				tis = append(tis, s)
			}
			got := keys(of(c.r, runCompat(t, c.at(), tis, c.rows...)))
			if slices.Contains(stateRules, c.r) != (len(got) == 0) {
				t.Errorf("%s: got %s with a State: inactive; indicator", c.r, fmtKeys(got))
			}
		}
		for _, r := range append(stateRules, "R21") {
			if !done[r] {
				t.Errorf("%s: no Sentinel-positive compat case to replay", r)
			}
		}
	})

	sameInBothModes(t, true)
}
