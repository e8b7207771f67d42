package rules_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"timap/engine"
	"timap/rules"
)

// compatCase runs one set of indicators and rows through a rule in both
// semantics: timap's default and --compat sentinel.
type compatCase struct {
	r, name string
	tis     []tiSpec
	rows    []*engine.Event
	// timap and compat are the alerts ("IndicatorId MatchedValue") of the
	// default semantics and of compat mode; compat is Sentinel's result
	// unless the case says GAP.
	timap, compat []string
	now           time.Time // zero: t0
}

func (c compatCase) at() time.Time {
	if c.now.IsZero() {
		return t0
	}
	return c.now
}

// compatCases gives every rule at least one case, showing the quirk compat
// mode reproduces where the rule has one, else innerunique (Q1, which all
// rules but R53 share) or the same result in both semantics.
func compatCases(t *testing.T) []compatCase {
	newer := generated(t0.Add(-2 * time.Hour))
	// A row stamped after the indicators' expiry (now+30d): Q11.
	late := t0.Add(31 * 24 * time.Hour)
	pan := func(kv ...string) *engine.Event {
		return row("CommonSecurityLog", append([]string{"DeviceVendor", "Palo Alto Networks", "DeviceEventClassID", "url"}, kv...)...)
	}
	upper := ti("e1", "email", "Bad@Evil.example")
	ipv6 := ti("i1", "ip", "2001:db8::10", conf(90))
	const v6 = "2001:db8::10"
	fw := func(msg string) *engine.Event {
		return row("AzureDiagnostics", "OperationName", "AzureFirewallNetworkRuleLog", "msg_s", msg)
	}
	mail := row("EmailEvents", "NetworkMessageId", "m1", "RecipientEmailAddress", "bob@contoso.com", "DeliveryAction", "Delivered")
	return []compatCase{
		// Q1: one indicator per value; the newer one wins.
		{r: "R01", name: "two indicators, one domain", tis: []tiSpec{dom, ti("d2", "domain", domainBad, newer)},
			rows:  []*engine.Event{row("CommonSecurityLog", "DeviceEventClassID", "url", "RequestURL", "evil.example.com/p", "ApplicationProtocol", "ssl")},
			timap: []string{"d1 evil.example.com", "d2 evil.example.com"}, compat: []string{"d2 evil.example.com"}},
		{r: "R01", name: "http:// URL of an ssl row", tis: []tiSpec{dom},
			rows:  []*engine.Event{row("CommonSecurityLog", "DeviceEventClassID", "url", "RequestURL", "http://evil.example.com/p", "ApplicationProtocol", "ssl")},
			timap: []string{"d1 evil.example.com"}},
		{r: "R01", name: "quoted URL in AdditionalExtensions", tis: []tiSpec{dom},
			rows:  []*engine.Event{row("CommonSecurityLog", "DeviceEventClassID", "url", "AdditionalExtensions", `"Evil.Example.com/p";x=1`, "ApplicationProtocol", "web-browsing")},
			timap: []string{"d1 evil.example.com"}, compat: []string{"d1 evil.example.com"}},
		{r: "R02", name: "RemoteUrl without scheme (Q8)", tis: []tiSpec{dom},
			rows:  []*engine.Event{row("DeviceNetworkEvents", "RemoteUrl", "evil.example.com", "ActionType", "ConnectionSuccess")},
			timap: []string{"d1 evil.example.com"}},
		{r: "R02", name: "RemoteUrl with scheme", tis: []tiSpec{dom},
			rows:  []*engine.Event{row("DeviceNetworkEvents", "RemoteUrl", "HTTPS://Evil.example.com/x", "ActionType", "ConnectionSuccess")},
			timap: []string{"d1 evil.example.com"}, compat: []string{"d1 evil.example.com"}},
		{r: "R03", name: "capitals in Name (Q6)", tis: []tiSpec{dom},
			rows:  []*engine.Event{row("DnsEvents", "Name", "Evil.Example.com")},
			timap: []string{"d1 evil.example.com"}},
		{r: "R04", name: "sender domain", tis: []tiSpec{dom},
			rows:  []*engine.Event{row("EmailEvents", "SenderFromAddress", "x@evil.example.com", "SenderFromDomain", "Evil.Example.com", "RecipientEmailAddress", "bob@contoso.com", "DeliveryAction", "Delivered")},
			timap: []string{"d1 evil.example.com"}, compat: []string{"d1 evil.example.com"}},
		{r: "R04", name: "recipient domain (Q7)", tis: []tiSpec{dom},
			rows:  []*engine.Event{row("EmailEvents", "SenderFromAddress", "x@contoso.com", "SenderFromDomain", "contoso.com", "RecipientEmailAddress", "bob@evil.example.com", "DeliveryAction", "Delivered")},
			timap: []string{"d1 evil.example.com"}},
		{r: "R05", name: "two indicators, one domain", tis: []tiSpec{dom, ti("d2", "domain", domainBad, newer)},
			rows:  []*engine.Event{row("EmailUrlInfo", "Url", "https://evil.example.com/p", "UrlDomain", "evil.example.com", "NetworkMessageId", "m1"), mail},
			timap: []string{"d1 evil.example.com", "d2 evil.example.com"}, compat: []string{"d2 evil.example.com"}},
		{r: "R06", name: "host in capitals (Q6)", tis: []tiSpec{dom},
			rows:  []*engine.Event{row("_Im_WebSession", "Url", "https://EVIL.example.com/login", "SrcIpAddr", "10.1.1.5")},
			timap: []string{"d1 evil.example.com"}},
		{r: "R06", name: "Url without scheme", tis: []tiSpec{dom},
			rows:  []*engine.Event{row("_Im_WebSession", "Url", "evil.example.com/login", "SrcIpAddr", "10.1.1.5")},
			timap: []string{"d1 evil.example.com"}},
		{r: "R07", name: "indicator with capitals (Q5)", tis: []tiSpec{ti("d1", "domain", "Evil.Example.com")},
			rows:  []*engine.Event{pan("RequestURL", "evil.example.com/p")},
			timap: []string{"d1 evil.example.com"}},
		// The double scheme (T16's ssl twin): https:// goes before http://.
		{r: "R07", name: "http:// URL of an ssl row", tis: []tiSpec{dom},
			rows:  []*engine.Event{pan("RequestURL", "http://evil.example.com/p", "ApplicationProtocol", "ssl")},
			timap: []string{"d1 evil.example.com"}},
		{r: "R07", name: "URL only in AdditionalExtensions", tis: []tiSpec{dom},
			rows:  []*engine.Event{pan("AdditionalExtensions", `"evil.example.com/p"`)},
			timap: []string{"d1 evil.example.com"}},
		{r: "R08", name: "two indicators, one domain", tis: []tiSpec{dom, ti("d2", "domain", domainBad, newer)},
			rows:  []*engine.Event{row("SecurityAlert", "AlertName", "Suspicious download", "Entities", `[{"Url":"http://Evil.Example.com/x.exe","Type":"url"}]`)},
			timap: []string{"d1 evil.example.com", "d2 evil.example.com"}, compat: []string{"d2 evil.example.com"}},
		{r: "R09", name: "second domain of the message (Q9)", tis: []tiSpec{dom},
			rows:  []*engine.Event{row("Syslog", "SyslogMessage", "connect from good.example.org to EVIL.example.com")},
			timap: []string{"d1 evil.example.com"}},
		{r: "R09", name: "first domain of the message", tis: []tiSpec{dom},
			rows:  []*engine.Event{row("Syslog", "SyslogMessage", "connect to EVIL.example.com from good.example.org")},
			timap: []string{"d1 evil.example.com"}, compat: []string{"d1 evil.example.com"}},
		{r: "R10", name: "indicator with capitals (Q5)", tis: []tiSpec{upper},
			rows:  []*engine.Event{row("AzureActivity", "Caller", "bad@evil.example")},
			timap: []string{"e1 bad@evil.example"}},
		{r: "R11", name: "two indicators, one address", tis: []tiSpec{email, ti("e2", "email", emailBad, newer)},
			rows:  []*engine.Event{row("EmailEvents", "SenderFromAddress", "BAD@evil.example", "RecipientEmailAddress", "bob@contoso.com", "DeliveryAction", "Delivered")},
			timap: []string{"e1 bad@evil.example", "e2 bad@evil.example"}, compat: []string{"e2 bad@evil.example"}},
		{r: "R12", name: "case differs (Q6)", tis: []tiSpec{upper},
			rows:  []*engine.Event{row("OfficeActivity", "UserId", "bad@evil.example")},
			timap: []string{"e1 bad@evil.example"}},
		{r: "R12", name: "same spelling", tis: []tiSpec{upper},
			rows:  []*engine.Event{row("OfficeActivity", "UserId", "Bad@Evil.example")},
			timap: []string{"e1 bad@evil.example"}, compat: []string{"e1 bad@evil.example"}},
		{r: "R13", name: "vendor in lower case (KQL ==)", tis: []tiSpec{email},
			rows:  []*engine.Event{row("CommonSecurityLog", "DeviceVendor", "palo alto networks", "DeviceEventClassID", "wildfire", "ApplicationProtocol", "smtp", "DestinationUserID", emailBad)},
			timap: []string{"e1 bad@evil.example"}},
		{r: "R13", name: "exact vendor", tis: []tiSpec{email},
			rows:  []*engine.Event{row("CommonSecurityLog", "DeviceVendor", "Palo Alto Networks", "DeviceEventClassID", "wildfire", "ApplicationProtocol", "smtp", "DestinationUserID", "BAD@evil.example")},
			timap: []string{"e1 bad@evil.example"}, compat: []string{"e1 bad@evil.example"}},
		{r: "R14", name: "indicator with capitals (Q5)", tis: []tiSpec{upper},
			rows:  []*engine.Event{row("SecurityAlert", "AlertName", "x", "Entities", `[{"$id":"2","Name":"bad","UPNSuffix":"evil.example","Type":"account"}]`)},
			timap: []string{"e1 bad@evil.example"}},
		{r: "R14", name: "account entity", tis: []tiSpec{email},
			rows:  []*engine.Event{row("SecurityAlert", "AlertName", "x", "Entities", `[{"$id":"2","Name":"Bad","UPNSuffix":"Evil.example","Type":"account"}]`)},
			timap: []string{"e1 bad@evil.example"}, compat: []string{"e1 bad@evil.example"}},
		{r: "R15", name: "indicator with capitals (Q5)", tis: []tiSpec{upper},
			rows:  []*engine.Event{row("SecurityEvent", "TargetUserName", "bad@evil.example")},
			timap: []string{"e1 bad@evil.example"}},
		{r: "R16", name: "indicator with capitals (Q5)", tis: []tiSpec{upper},
			rows:  []*engine.Event{row("SigninLogs", "UserPrincipalName", "bad@evil.example")},
			timap: []string{"e1 bad@evil.example"}},
		{r: "R16", name: "lower-case indicator", tis: []tiSpec{email},
			rows:  []*engine.Event{row("SigninLogs", "UserPrincipalName", "Bad@Evil.example")},
			timap: []string{"e1 bad@evil.example"}, compat: []string{"e1 bad@evil.example"}},
		{r: "R17", name: "mixed-case log hash", tis: []tiSpec{ti("h1", "hash", sha256Bad)},
			rows:  []*engine.Event{row("CommonSecurityLog", "FileHash", "E3B0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")},
			timap: []string{"h1 " + sha256Bad}},
		{r: "R18", name: "upper-case indicator (Q6)", tis: []tiSpec{ti("h1", "hash", strings.ToUpper(sha256Bad))},
			rows:  []*engine.Event{row("DeviceFileEvents", "SHA256", sha256Bad, "DeviceId", "dev1")},
			timap: []string{"h1 " + sha256Bad}},
		{r: "R18", name: "lower-case indicator", tis: []tiSpec{ti("h1", "hash", sha256Bad)},
			rows:  []*engine.Event{row("DeviceFileEvents", "SHA256", sha256Bad, "DeviceId", "dev1")},
			timap: []string{"h1 " + sha256Bad}, compat: []string{"h1 " + sha256Bad}},
		// Both sides upper-cased: the same result.
		{r: "R19", name: "upper-case log hash", tis: []tiSpec{ti("h1", "hash", sha256Bad)},
			rows:  []*engine.Event{row("SecurityEvent", "EventID", "8002", "FileHash", strings.ToUpper(sha256Bad))},
			timap: []string{"h1 " + sha256Bad}, compat: []string{"h1 " + sha256Bad}},
		{r: "R20", name: "IPv6 indicator (Q2)", tis: []tiSpec{ipv6},
			rows:  []*engine.Event{row("AppServiceHTTPLogs", "CIp", v6)},
			timap: []string{"i1 " + v6}},
		{r: "R21", name: "caller address", tis: []tiSpec{ip},
			rows:  []*engine.Event{row("AWSCloudTrail", "SourceIpAddress", ipBad)},
			timap: []string{"i1 " + ipBad}, compat: []string{"i1 " + ipBad}},
		{r: "R21", name: "second address of an indicator (Q3)", tis: []tiSpec{ti("i1", "ip", ipBad, also("srcip", ipBad2))},
			rows:  []*engine.Event{row("AWSCloudTrail", "SourceIpAddress", ipBad2)},
			timap: []string{"i1 " + ipBad2}},
		{r: "R22", name: "IPv6 indicator (Q2)", tis: []tiSpec{ipv6},
			rows:  []*engine.Event{row("AzureActivity", "CallerIpAddress", v6)},
			timap: []string{"i1 " + v6}},
		{r: "R23", name: "bad source, public destination", tis: []tiSpec{ti("i1", "ip", ipBad2)},
			rows:  []*engine.Event{fw("TCP request from 198.51.100.7:1234 to 203.0.113.10:443. Action: Allow.")},
			timap: []string{"i1 " + ipBad2}},
		{r: "R23", name: "bad destination", tis: []tiSpec{ip},
			rows:  []*engine.Event{fw("TCP request from 198.51.100.7:1234 to 203.0.113.10:443. Action: Allow.")},
			timap: []string{"i1 " + ipBad}, compat: []string{"i1 " + ipBad}},
		{r: "R23", name: "bad source, host name destination", tis: []tiSpec{ti("i1", "ip", ipBad2)},
			rows:  []*engine.Event{fw("HTTPS request from 198.51.100.7:1234 to www.example.com:443. Action: Allow. Rule Collection: c. Rule: r")},
			timap: []string{"i1 " + ipBad2}, compat: []string{"i1 " + ipBad2}},
		{r: "R23", name: "bad source, private destination", tis: []tiSpec{ti("i1", "ip", ipBad2)},
			rows:  []*engine.Event{fw("UDP request from 198.51.100.7:53 to 10.0.0.4:5353. Action: Deny.")},
			timap: []string{"i1 " + ipBad2}, compat: []string{"i1 " + ipBad2}},
		{r: "R24", name: "second address of an indicator (Q3)", tis: []tiSpec{ti("i1", "dstip", ipBad, also("emailip", ipBad2))},
			rows:  []*engine.Event{row("AzureDiagnostics", "ResourceType", "VAULTS", "CallerIPAddress", ipBad2)},
			timap: []string{"i1 " + ipBad2}},
		{r: "R25", name: "second public address", tis: []tiSpec{ip},
			rows:  []*engine.Event{row("AzureNetworkAnalytics_CL", "FlowStatus_s", "A", "PublicIPs_s", "198.51.100.9|1|0|0|0|0 203.0.113.10|1|0|0|0|0")},
			timap: []string{"i1 " + ipBad}},
		{r: "R25", name: "first public address", tis: []tiSpec{ip},
			rows:  []*engine.Event{row("AzureNetworkAnalytics_CL", "FlowStatus_s", "A", "PublicIPs_s", "203.0.113.10|1|0|0|0|0 198.51.100.9|1|0|0|0|0")},
			timap: []string{"i1 " + ipBad}, compat: []string{"i1 " + ipBad}},
		{r: "R26", name: "IPv6 indicator (Q2)", tis: []tiSpec{ipv6},
			rows:  []*engine.Event{row("AzureDiagnostics", "ResourceProvider", "MICROSOFT.SQL", "Category", "SQLSecurityAuditEvents", "client_ip_s", v6)},
			timap: []string{"i1 " + v6}},
		{r: "R27", name: "destination of a row with a public source (Q4, T10)", tis: []tiSpec{ti("i1", "ip", "15.230.137.45")},
			rows:  []*engine.Event{solarigateCEF(t)},
			timap: []string{"i1 15.230.137.45"}},
		{r: "R27", name: "Message address of a row with a private source", tis: []tiSpec{ip},
			rows:  []*engine.Event{row("CommonSecurityLog", "SourceIP", "10.0.0.5", "Message", "deny tcp from 203.0.113.10:443 to 10.0.0.5:4444")},
			timap: []string{"i1 " + ipBad}, compat: []string{"i1 " + ipBad}},
		{r: "R28", name: "row stamped after the expiry (Q11)", tis: []tiSpec{ip},
			rows:   []*engine.Event{rowAt("DeviceNetworkEvents", late, "RemoteIP", ipBad, "ActionType", "ConnectionSuccess", "DeviceName", "ws1")},
			compat: []string{"i1 " + ipBad}},
		{r: "R29", name: "list without spaces (T12)", tis: []tiSpec{ip},
			rows:  []*engine.Event{row("DnsEvents", "SubType", "LookupQuery", "IPAddresses", "198.51.100.9,203.0.113.10")},
			timap: []string{"i1 " + ipBad}},
		{r: "R30", name: "IPv6 indicator (Q2)", tis: []tiSpec{ipv6},
			rows:  []*engine.Event{row("_Im_WebSession", "SrcIpAddr", v6, "DstIpAddr", "192.0.2.80")},
			timap: []string{"i1 " + v6}},
		{r: "R31", name: "client address with a port", tis: []tiSpec{ti("i1", "srcip", ipBad2)},
			rows:  []*engine.Event{row("OfficeActivity", "ClientIP", "198.51.100.7:443")},
			timap: []string{"i1 " + ipBad2}, compat: []string{"i1 " + ipBad2}},
		{r: "R31", name: "NetworkIP only (T7)", tis: []tiSpec{ti("i1", "ip", ipBad2)},
			rows:  []*engine.Event{row("OfficeActivity", "ClientIP", "198.51.100.7:443")},
			timap: []string{"i1 " + ipBad2}},
		{r: "R32", name: "EmailSourceIpAddress before NetworkDestinationIP (Q3)", tis: []tiSpec{ti("i1", "emailip", ipBad2, also("dstip", ipBad))},
			rows:  []*engine.Event{row("SigninLogs", "IPAddress", ipBad)},
			timap: []string{"i1 " + ipBad}},
		{r: "R32", name: "the chosen address", tis: []tiSpec{ti("i1", "emailip", ipBad2, also("dstip", ipBad))},
			rows:  []*engine.Event{row("SigninLogs", "IPAddress", ipBad2)},
			timap: []string{"i1 " + ipBad2}, compat: []string{"i1 " + ipBad2}},
		{r: "R33", name: "IPv6 indicator (Q2)", tis: []tiSpec{ipv6},
			rows:  []*engine.Event{row("VMConnection", "RemoteIp", v6)},
			timap: []string{"i1 " + v6}},
		{r: "R34", name: "IPv6 client (Q2, Q12)", tis: []tiSpec{ipv6},
			rows:  []*engine.Event{row("W3CIISLog", "cIP", v6, "sIP", "10.0.0.4")},
			timap: []string{"i1 " + v6}},
		{r: "R35", name: "second URL of TargetResources (Q9)", tis: []tiSpec{ti("u1", "url", "https://evil.example.com/cb")},
			rows:  []*engine.Event{row("AuditLogs", "TargetResources", `[{"displayName":"app1","oldValue":"https://good.example.org/cb","newValue":"https://evil.example.com/cb"}]`)},
			timap: []string{"u1 https://evil.example.com/cb"}},
		{r: "R35", name: "first URL of TargetResources", tis: []tiSpec{ti("u1", "url", "https://evil.example.com/cb")},
			rows:  []*engine.Event{row("AuditLogs", "TargetResources", `[{"displayName":"app1","newValue":"https://evil.example.com/cb"}]`)},
			timap: []string{"u1 https://evil.example.com/cb"}, compat: []string{"u1 https://evil.example.com/cb"}},
		{r: "R36", name: "RemoteUrl with scheme", tis: []tiSpec{ti("u1", "url", "http://Evil.example.com/p")},
			rows:  []*engine.Event{row("DeviceNetworkEvents", "RemoteUrl", "HTTP://evil.example.com/p", "ActionType", "ConnectionSuccess")},
			timap: []string{"u1 http://evil.example.com/p"}, compat: []string{"u1 http://evil.example.com/p"}},
		{r: "R36", name: "RemoteUrl without scheme (Q8)", tis: []tiSpec{ti("u1", "url", "http://evil.example.com/p")},
			rows:  []*engine.Event{row("DeviceNetworkEvents", "RemoteUrl", "evil.example.com/p", "ActionType", "ConnectionSuccess")},
			timap: []string{"u1 http://evil.example.com/p"}},
		{r: "R37", name: "indicator with capitals (Q5)", tis: []tiSpec{ti("u1", "url", "HTTPS://Evil.example.com/P")},
			rows:  []*engine.Event{row("EmailUrlInfo", "Url", "https://evil.example.com/P", "UrlDomain", "evil.example.com", "NetworkMessageId", "m1"), mail},
			timap: []string{"u1 https://evil.example.com/p"}},
		{r: "R37", name: "lower-case indicator, link with capitals", tis: []tiSpec{ti("u1", "url", "https://evil.example.com/p")},
			rows:  []*engine.Event{row("EmailUrlInfo", "Url", "https://Evil.example.com/P", "UrlDomain", "evil.example.com", "NetworkMessageId", "m1"), mail},
			timap: []string{"u1 https://evil.example.com/p"}, compat: []string{"u1 https://evil.example.com/p"}},
		// One case rule per branch: raw UrlDomain against the indicator's DomainName.
		{r: "R37", name: "domain branch with capitals", tis: []tiSpec{ti("d1", "domain", "evil.example.com")},
			rows:  []*engine.Event{row("EmailUrlInfo", "Url", "https://Evil.example.com/P", "UrlDomain", "Evil.example.com", "NetworkMessageId", "m1"), mail},
			timap: []string{"d1 evil.example.com"}},
		{r: "R37", name: "domain branch as written", tis: []tiSpec{ti("d1", "domain", "evil.example.com")},
			rows:  []*engine.Event{row("EmailUrlInfo", "Url", "https://Evil.example.com/P", "UrlDomain", "evil.example.com", "NetworkMessageId", "m1"), mail},
			timap: []string{"d1 evil.example.com"}, compat: []string{"d1 evil.example.com"}},
		{r: "R38", name: "deprecated (Q10)", tis: []tiSpec{url1},
			rows:  []*engine.Event{row("OfficeActivity", "ModifiedProperties", `[{"Name":"AppAddress","NewValue":"https://evil.example.com/p"}]`)},
			timap: []string{"u1 https://evil.example.com/p"}},
		{r: "R39", name: "http:// URL of an ssl row", tis: []tiSpec{ti("u1", "url", "http://evil.example.com/p")},
			rows:  []*engine.Event{pan("RequestURL", "http://evil.example.com/p", "ApplicationProtocol", "ssl")},
			timap: []string{"u1 http://evil.example.com/p"}},
		{r: "R39", name: "https:// URL of an ssl row", tis: []tiSpec{ti("u1", "url", "https://evil.example.com/p")},
			rows:  []*engine.Event{pan("RequestURL", "https://evil.example.com/p", "ApplicationProtocol", "ssl")},
			timap: []string{"u1 https://evil.example.com/p"}, compat: []string{"u1 https://evil.example.com/p"}},
		{r: "R39", name: "indicator without scheme (T17)", tis: []tiSpec{ti("u1", "url", "evil.example.com/p")},
			rows:  []*engine.Event{pan("RequestURL", `"evil.example.com/p"`, "ApplicationProtocol", "web-browsing")},
			timap: []string{"u1 http://evil.example.com/p"}},
		// Both sides lower-cased: the same result.
		{r: "R40", name: "URL entity with capitals", tis: []tiSpec{ti("u1", "url", "https://Evil.example.com/p")},
			rows:  []*engine.Event{row("SecurityAlert", "AlertName", "Malicious URL clicked", "Entities", `[{"Type":"url","Url":"HTTPS://EVIL.example.com/p"}]`)},
			timap: []string{"u1 https://evil.example.com/p"}, compat: []string{"u1 https://evil.example.com/p"}},
		{r: "R41", name: "second URL of the message (Q9)", tis: []tiSpec{url1},
			rows:  []*engine.Event{row("Syslog", "SyslogMessage", "GET https://good.example.org/ then https://evil.example.com/p 200")},
			timap: []string{"u1 https://evil.example.com/p"}},
		{r: "R42", name: "indicator in capitals (T35)", tis: []tiSpec{ti("u1", "url", "https://EVIL.example.com/a")},
			rows:  []*engine.Event{row("UrlClickEvents", "Url", "https://Evil.example.com/a", "UrlChain", `["https://evil.example.com/a"]`)},
			timap: []string{"u1 https://evil.example.com/a"}},
		// The chain is lower-cased, the clicked Url is not.
		{r: "R42", name: "hop with capitals", tis: []tiSpec{ti("u1", "url", "https://evil.example.com/a")},
			rows:  []*engine.Event{row("UrlClickEvents", "Url", "https://good.example.org/", "UrlChain", `["https://good.example.org/","https://EVIL.example.com/a"]`)},
			timap: []string{"u1 https://evil.example.com/a"}, compat: []string{"u1 https://evil.example.com/a"}},
		{r: "R42", name: "clicked Url with capitals", tis: []tiSpec{ti("u1", "url", "https://evil.example.com/a")},
			rows:  []*engine.Event{row("UrlClickEvents", "Url", "https://EVIL.example.com/a", "UrlChain", `["https://good.example.org/"]`)},
			timap: []string{"u1 https://evil.example.com/a"}},
		{r: "R43", name: "row stamped after the expiry (Q11)", tis: []tiSpec{ip},
			rows:   []*engine.Event{rowAt("DuoSecurityAuthentication_CL", late, "access_device_ip_s", ipBad)},
			compat: []string{"i1 " + ipBad}},
		{r: "R44", name: "name with capitals and trailing dot (Q6)", tis: []tiSpec{dom},
			rows:  []*engine.Event{row("_Im_Dns", "DnsQuery", "EVIL.example.com.")},
			timap: []string{"d1 evil.example.com"}},
		{r: "R45", name: "IPv6 answer", tis: []tiSpec{ip, ti("i2", "ip", v6)},
			rows:  []*engine.Event{row("_Im_Dns", "DnsQuery", "x.example.org", "DnsResponseName", "192.0.2.1;203.0.113.10;2001:db8::10", "SrcIpAddr", "10.1.1.5")},
			timap: []string{"i1 " + ipBad, "i2 " + v6}, compat: []string{"i1 " + ipBad}},
		{r: "R46", name: "second address of an indicator (Q3)", tis: []tiSpec{ti("i1", "ip", ipBad, also("dstip", ipBad2))},
			rows:  []*engine.Event{row("_Im_NetworkSession", "SrcIpAddr", "10.1.1.5", "DstIpAddr", ipBad2)},
			timap: []string{"i1 " + ipBad2}},
		// One address per session: the source when both ends match.
		{r: "R46", name: "both ends match", tis: []tiSpec{ip, ti("i2", "ip", ipBad2)},
			rows:  []*engine.Event{row("_Im_NetworkSession", "SrcIpAddr", ipBad, "DstIpAddr", ipBad2)},
			timap: []string{"i1 " + ipBad, "i2 " + ipBad2}, compat: []string{"i1 " + ipBad}},
		{r: "R46", name: "destination only", tis: []tiSpec{ip, ti("i2", "ip", ipBad2)},
			rows:  []*engine.Event{row("_Im_NetworkSession", "SrcIpAddr", "198.51.100.77", "DstIpAddr", ipBad2)},
			timap: []string{"i2 " + ipBad2}, compat: []string{"i2 " + ipBad2}},
		{r: "R47", name: "Action == true never holds (Q10)", tis: []tiSpec{ip},
			rows:  []*engine.Event{row("GitHubAudit", "IPaddress", ipBad, "Actor", "octocat")},
			timap: []string{"i1 " + ipBad}},
		{r: "R48", name: "no RequestURL column (Q10)", tis: []tiSpec{dom},
			rows:  []*engine.Event{row("CloudAppEvents", "RawEventData", `{"ObjectId":"https://evil.example.com/sites/x/doc.docx"}`)},
			timap: []string{"d1 evil.example.com"}},
		{r: "R49", name: "case differs (Q6)", tis: []tiSpec{email},
			rows:  []*engine.Event{row("CloudAppEvents", "Application", "Microsoft Exchange Online", "RawEventData", `{"UserId":"Bad@Evil.example"}`)},
			timap: []string{"e1 bad@evil.example"}},
		{r: "R50", name: "never fires (Q10)", tis: []tiSpec{ti("h1", "hash", md5Bad)},
			rows:  []*engine.Event{row("DeviceFileEvents", "MD5", md5Bad)},
			timap: []string{"h1 " + md5Bad}},
		{r: "R51", name: "EmailSourceIpAddress only (TIipEntity typo)", tis: []tiSpec{ti("i1", "emailip", ipBad)},
			rows:  []*engine.Event{row("CloudAppEvents", "IPAddress", ipBad)},
			timap: []string{"i1 " + ipBad}},
		// No private filter in R51's KQL: IPv6 indicators match.
		{r: "R51", name: "IPv6 indicator", tis: []tiSpec{ti("i1", "dstip", v6)},
			rows:  []*engine.Event{row("CloudAppEvents", "IPAddress", v6)},
			timap: []string{"i1 " + v6}, compat: []string{"i1 " + v6}},
		{r: "R52", name: "URL in capitals (Q6)", tis: []tiSpec{url1},
			rows:  []*engine.Event{row("CloudAppEvents", "ActivityObjects", `[{"Type":"Url","Name":"https://Evil.example.com/p"}]`)},
			timap: []string{"u1 https://evil.example.com/p"}},
		{r: "R53", name: "row stamped after the expiry (Q11)", tis: []tiSpec{ip},
			rows:   []*engine.Event{rowAt("ASimAuditEventLogs", late, "EventVendor", "Workday", "DvcIpAddr", ipBad)},
			compat: []string{"i1 " + ipBad}},
		// kind=inner: every indicator of the address matches.
		{r: "R53", name: "two indicators, one address", tis: []tiSpec{ip, ti("i2", "ip", ipBad, newer)},
			rows:  []*engine.Event{row("ASimAuditEventLogs", "EventVendor", "Workday", "DvcIpAddr", ipBad)},
			timap: []string{"i1 " + ipBad, "i2 " + ipBad}, compat: []string{"i1 " + ipBad, "i2 " + ipBad}},
	}
}

// TestCompatRules runs every rule's cases in both semantics.
func TestCompatRules(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range compatCases(t) {
		seen[c.r] = true
		t.Run(c.r+"/"+c.name, func(t *testing.T) {
			if got := keys(of(c.r, runAll(t, c.at(), c.tis, c.rows...))); !slices.Equal(got, c.timap) {
				t.Errorf("timap: got %s, want %s", fmtKeys(got), fmtKeys(c.timap))
			}
			if got := keys(of(c.r, runCompat(t, c.at(), c.tis, c.rows...))); !slices.Equal(got, c.compat) {
				t.Errorf("compat: got %s, want %s", fmtKeys(got), fmtKeys(c.compat))
			}
		})
	}
	for _, c := range catalogue {
		if !seen[c.r] {
			t.Errorf("%s: no compat case", c.r)
		}
	}
}

// TestCompatBlocks checks each rule's compat block against spec §0.3,
// §0.4 and the quirk list, and that the columns it names exist.
func TestCompatBlocks(t *testing.T) {
	std := []string{"NetworkIP", "NetworkDestinationIP", "NetworkSourceIP", "EmailSourceIpAddress"}
	mde := []string{"NetworkIP", "EmailSourceIpAddress", "NetworkDestinationIP", "NetworkSourceIP"}
	tiIP := map[string][]string{
		"R28": mde, "R32": mde, "R31": {"NetworkDestinationIP", "NetworkSourceIP", "EmailSourceIpAddress"},
		"R51": {"NetworkIP", "NetworkDestinationIP"},
	}
	for _, r := range []string{"R20", "R21", "R22", "R23", "R24", "R25", "R26", "R27", "R29", "R30", "R33", "R34", "R43", "R45", "R46", "R47", "R53"} {
		tiIP[r] = std
	}
	// §0.4 "case"; IP rules compare raw strings (the default), never-firing rules compare nothing.
	cases := map[string]string{
		"R01": "lower", "R02": "lower", "R04": "lower", "R05": "lower", "R08": "lower", "R11": "lower", "R36": "lower", "R40": "lower",
		"R03": "raw", "R06": "raw", "R12": "raw", "R18": "raw", "R35": "raw", "R39": "raw", "R41": "raw", "R42": "raw", "R44": "raw", "R49": "raw", "R52": "raw",
		"R07": "ti_raw", "R09": "ti_raw", "R10": "ti_raw", "R13": "ti_raw", "R14": "ti_raw", "R15": "ti_raw", "R16": "ti_raw", "R37": "ti_raw",
		"R17": "lower_or_upper", "R19": "upper",
	}
	never := []string{"R38", "R47", "R48", "R50"}
	noExpiry := []string{"R28", "R43", "R47", "R53"}
	ipv4Only := []string{"R20", "R21", "R22", "R23", "R24", "R25", "R26", "R27", "R29", "R30", "R33", "R34"}
	firstOnly := []string{"R09", "R23", "R27", "R31", "R35", "R41", "R52"}
	// §0.3 items 6 and 8, Q15, T16.
	noDedup := []string{"R44", "R47", "R53"}
	paURL := map[string]string{"R01": "kql_pa_url_r01", "R07": "kql_pa_url_r07", "R39": "kql_pa_url_r39"}
	schemas, err := rules.Tables()
	if err != nil {
		t.Fatal(err)
	}
	for _, cat := range catalogue {
		r := ruleByNumber(t, cat.r)
		c := r.Compat
		if c == nil {
			t.Errorf("%s: no compat block", cat.r)
			continue
		}
		if c.Never != slices.Contains(never, cat.r) || c.NoExpiryCheck != slices.Contains(noExpiry, cat.r) || c.IPv4Only != slices.Contains(ipv4Only, cat.r) {
			t.Errorf("%s: never %v, no_expiry_check %v, ipv4_only %v", cat.r, c.Never, c.NoExpiryCheck, c.IPv4Only)
		}
		if !slices.Equal(c.TIIPColumns, tiIP[cat.r]) {
			t.Errorf("%s: ti_ip_columns %v, want %v", cat.r, c.TIIPColumns, tiIP[cat.r])
		}
		if c.Case != cases[cat.r] {
			t.Errorf("%s: case %q, want %q", cat.r, c.Case, cases[cat.r])
		}
		// §1 R37, R42: one branch raw, the other against the lower-cased row.
		byCol := map[string]map[string]string{"R37": {"UrlDomain": "raw"}, "R42": {"UrlChain": "ti_raw"}}
		if !maps.Equal(c.CaseByColumn, byCol[cat.r]) {
			t.Errorf("%s: case_by_column %v, want %v", cat.r, c.CaseByColumn, byCol[cat.r])
		}
		if c.NoDedup != slices.Contains(noDedup, cat.r) || c.JoinInner != (cat.r == "R53") || c.AnyVersion != (cat.r == "R05") {
			t.Errorf("%s: no_dedup %v, join inner %v, latest_pick false %v", cat.r, c.NoDedup, c.JoinInner, c.AnyVersion)
		}
		if c.NoDedup && len(r.SentinelDedup) > 0 {
			t.Errorf("%s: no_dedup with dedup %v", cat.r, r.SentinelDedup)
		}
		if fn := paURL[cat.r]; len(c.Derive) != len(r.Derive) && fn != "" || fn != "" && c.Derive[0].Func != fn || fn == "" && c.Derive != nil {
			t.Errorf("%s: compat derive %+v, want PA_Url by %q", cat.r, c.Derive, fn)
		}
		for _, f := range r.TIFilters {
			// §0.3 item 3: R20's ConfidenceScore > 50 comes before arg_max.
			if f.PreArgMax != (cat.r == "R20" && f.Column == "ConfidenceScore") {
				t.Errorf("%s: ti filter %s pre_arg_max %v", cat.r, f.Column, f.PreArgMax)
			}
		}
		first := false
		for _, cd := range c.Candidates {
			first = first || cd.FirstOnly
		}
		if first != slices.Contains(firstOnly, cat.r) {
			t.Errorf("%s: first_only %v", cat.r, first)
		}
		// A compat column is one of the table or one the rule already reads
		// (custom columns declared in the rule file).
		known := func(col string) bool {
			for _, tn := range r.AllTables() {
				if s := schemas[tn]; s != nil && s.Has(col) {
					return true
				}
			}
			for _, cd := range r.Candidates {
				if cd.Column == col {
					return true
				}
			}
			for _, f := range r.Filters {
				if f.Column == col {
					return true
				}
			}
			return slices.Contains(r.ProjectLog, col)
		}
		for _, cd := range c.Candidates {
			if !known(cd.Column) {
				t.Errorf("%s: compat candidate column %q unknown", cat.r, cd.Column)
			}
		}
		for _, f := range c.Filters {
			if !known(f.Column) {
				t.Errorf("%s: compat filter column %q unknown", cat.r, f.Column)
			}
		}
	}
}

// TestCompatGrouping checks the dedup keys compat mode groups results by
// where they are not (IndicatorId, value): R05 keeps one row per domain
// indicator and UrlDomain, R45 one per aggregated DNS group.
func TestCompatGrouping(t *testing.T) {
	mail := row("EmailEvents", "NetworkMessageId", "m1", "RecipientEmailAddress", "bob@contoso.com", "DeliveryAction", "Delivered")
	link := func(u string) *engine.Event {
		return row("EmailUrlInfo", "Url", u, "UrlDomain", domainBad, "NetworkMessageId", "m1")
	}
	if al := of("R05", runCompat(t, t0, []tiSpec{dom}, link("https://evil.example.com/a"), link("https://evil.example.com/b"), mail)); len(al) != 1 || al[0].EventCount != 2 {
		t.Errorf("R05: %d alerts %s", len(al), fmtKeys(keys(al)))
	}
	dns := func(src string) *engine.Event {
		return row("_Im_Dns", "DnsQuery", "x.example.org", "DnsResponseName", ipBad, "SrcIpAddr", src, "Dvc", "dns1")
	}
	if al := of("R45", runCompat(t, t0, []tiSpec{ip}, dns("10.1.1.5"), dns("10.1.1.6"), dns("10.1.1.5"))); len(al) != 2 {
		t.Errorf("R45: %d alerts %s, want one per source", len(al), fmtKeys(keys(al)))
	}
}
