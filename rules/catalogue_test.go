package rules_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"timap/engine"
)

// catalogue lists, per rule, the Sentinel display name and the tables it
// reads (spec §0.4, §1).
var catalogue = []struct {
	r, name string
	tables  []string
}{
	{"R01", "TI map Domain entity to PaloAlto CommonSecurityLog", []string{"CommonSecurityLog"}},
	{"R02", "TI Map Domain Entity to DeviceNetworkEvents", []string{"DeviceNetworkEvents"}},
	{"R03", "TI map Domain entity to DnsEvents", []string{"DnsEvents"}},
	{"R04", "TI map Domain entity to EmailEvents", []string{"EmailEvents"}},
	{"R05", "TI map Domain entity to EmailUrlInfo", []string{"EmailUrlInfo"}},
	{"R06", "TI map Domain entity to Web Session Events (ASIM Web Session schema)", []string{"_Im_WebSession"}},
	{"R07", "TI map Domain entity to PaloAlto", []string{"CommonSecurityLog"}},
	{"R08", "TI map Domain entity to SecurityAlert", []string{"SecurityAlert"}},
	{"R09", "TI map Domain entity to Syslog", []string{"Syslog"}},
	{"R10", "TI map Email entity to AzureActivity", []string{"AzureActivity"}},
	{"R11", "TI map Email entity to EmailEvents", []string{"EmailEvents"}},
	{"R12", "TI map Email entity to OfficeActivity", []string{"OfficeActivity"}},
	{"R13", "TI map Email entity to PaloAlto CommonSecurityLog", []string{"CommonSecurityLog"}},
	{"R14", "TI map Email entity to SecurityAlert", []string{"SecurityAlert"}},
	{"R15", "TI map Email entity to SecurityEvent", []string{"SecurityEvent", "WindowsEvent"}},
	{"R16", "TI map Email entity to SigninLogs", []string{"SigninLogs", "AADNonInteractiveUserSignInLogs"}},
	{"R17", "TI map File Hash to CommonSecurityLog Event", []string{"CommonSecurityLog"}},
	{"R18", "TI map File Hash to DeviceFileEvents Event", []string{"DeviceFileEvents"}},
	{"R19", "TI map File Hash to Security Event", []string{"SecurityEvent", "WindowsEvent"}},
	{"R20", "TI map IP entity to AppServiceHTTPLogs", []string{"AppServiceHTTPLogs"}},
	{"R21", "TI map IP entity to AWSCloudTrail", []string{"AWSCloudTrail"}},
	{"R22", "TI Map IP Entity to AzureActivity", []string{"AzureActivity"}},
	{"R23", "TI map IP entity to AzureFirewall", []string{"AzureDiagnostics"}},
	{"R24", "TI map IP entity to Azure Key Vault logs", []string{"AzureDiagnostics"}},
	{"R25", "TI map IP entity to AzureNetworkAnalytics_CL (NSG Flow Logs)", []string{"AzureNetworkAnalytics_CL"}},
	{"R26", "TI Map IP Entity to Azure SQL Security Audit Events", []string{"AzureDiagnostics"}},
	{"R27", "TI Map IP Entity to CommonSecurityLog", []string{"CommonSecurityLog"}},
	{"R28", "TI Map IP Entity to DeviceNetworkEvents", []string{"DeviceNetworkEvents"}},
	{"R29", "TI Map IP Entity to DnsEvents", []string{"DnsEvents"}},
	{"R30", "TI map IP entity to Web Session Events (ASIM Web Session schema)", []string{"_Im_WebSession"}},
	{"R31", "TI map IP entity to OfficeActivity", []string{"OfficeActivity"}},
	{"R32", "TI Map IP Entity to SigninLogs", []string{"SigninLogs", "AADNonInteractiveUserSignInLogs"}},
	{"R33", "TI Map IP Entity to VMConnection", []string{"VMConnection"}},
	{"R34", "TI Map IP Entity to W3CIISLog", []string{"W3CIISLog"}},
	{"R35", "TI Map URL Entity to AuditLogs", []string{"AuditLogs"}},
	{"R36", "TI Map URL Entity to DeviceNetworkEvents", []string{"DeviceNetworkEvents"}},
	{"R37", "TI Map URL Entity to EmailUrlInfo", []string{"EmailUrlInfo"}},
	{"R38", "TI Map URL Entity to OfficeActivity Data [Deprecated]", []string{"OfficeActivity"}},
	{"R39", "TI Map URL Entity to PaloAlto Data", []string{"CommonSecurityLog"}},
	{"R40", "TI Map URL Entity to SecurityAlert Data", []string{"SecurityAlert"}},
	{"R41", "TI Map URL Entity to Syslog Data", []string{"Syslog"}},
	{"R42", "TI Map URL Entity to UrlClickEvents", []string{"UrlClickEvents"}},
	{"R43", "TI Map IP Entity to Duo Security", []string{"DuoSecurityAuthentication_CL"}},
	{"R44", "TI map Domain entity to Dns Events (ASIM DNS Schema)", []string{"_Im_Dns"}},
	{"R45", "TI map IP entity to DNS Events (ASIM DNS schema)", []string{"_Im_Dns"}},
	{"R46", "TI map IP entity to Network Session Events (ASIM Network Session schema)", []string{"_Im_NetworkSession"}},
	{"R47", "TI map IP entity to GitHub_CL", []string{"GitHubAudit"}},
	{"R48", "Preview - TI map Domain entity to Cloud App Events", []string{"CloudAppEvents"}},
	{"R49", "Preview - TI map Email entity to Cloud App Events", []string{"CloudAppEvents"}},
	{"R50", "Preview - TI map File Hash entity to Cloud App Events", []string{"DeviceFileEvents"}},
	{"R51", "Preview - TI map IP entity to Cloud App Events", []string{"CloudAppEvents"}},
	{"R52", "Preview - TI map URL entity to Cloud App Events", []string{"CloudAppEvents"}},
	{"R53", "TI map IP entity to Workday(ASimAuditEventLogs)", []string{"ASimAuditEventLogs"}},
}

// TestCatalogueShape checks ids, display names and tables against the
// spec, and the conventions every rule file follows.
func TestCatalogueShape(t *testing.T) {
	rs := builtin(t)
	if len(rs) != 53 || len(catalogue) != 53 || len(ruleIDs) != 53 {
		t.Fatalf("%d rules, %d catalogue rows, %d ids; want 53", len(rs), len(catalogue), len(ruleIDs))
	}
	quirk := regexp.MustCompile(`^Q([1-9]|1[0-5])$`)
	for _, c := range catalogue {
		r := ruleByNumber(t, c.r)
		if r.Name != c.name {
			t.Errorf("%s: name %q, want %q", c.r, r.Name, c.name)
		}
		if !slices.Equal(r.AllTables(), c.tables) {
			t.Errorf("%s: tables %v, want %v", c.r, r.AllTables(), c.tables)
		}
		if r.Severity != "Medium" || r.Version == "" || len(r.Tactics) == 0 || len(r.Techniques) == 0 || r.Description == "" || r.SentinelFile == "" {
			t.Errorf("%s: severity %q version %q tactics %v techniques %v file %q", c.r, r.Severity, r.Version, r.Tactics, r.Techniques, r.SentinelFile)
		}
		for _, q := range r.Quirks {
			if !quirk.MatchString(q) {
				t.Errorf("%s: quirk %q", c.r, q)
			}
		}
		// project.ti and project.log land in one ExtendedProperties map.
		for _, col := range r.ProjectLog {
			if slices.Contains(r.ProjectTI, col) {
				t.Errorf("%s: %s projected from both the indicator and the row", c.r, col)
			}
		}
		// R05 and R37 count a link only for delivered mail.
		if j := r.Join; (c.r == "R05" || c.r == "R37") != (j != nil) {
			t.Errorf("%s: join %+v", c.r, j)
		} else if j != nil && (j.Table != "EmailEvents" || j.On != "NetworkMessageId" || len(j.Filters) != 1 ||
			j.Filters[0].Column != "DeliveryAction" || j.Filters[0].Op != engine.OpNotHas || j.Filters[0].Values[0] != "Blocked") {
			t.Errorf("%s: join %+v", c.r, j)
		}
	}
}

// ccase is one catalogue case: indicators, rows, and the alerts (as
// "IndicatorId MatchedValue") the rule must produce; want nil means none.
type ccase struct {
	r, name string
	tis     []tiSpec
	rows    []*engine.Event
	want    []string
	check   func(t *testing.T, al []*engine.Alert)
}

const (
	domainBad = "evil.example.com"
	ipBad     = "203.0.113.10"
	ipBad2    = "198.51.100.7"
	emailBad  = "bad@evil.example"
	sha256Bad = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	sha1Bad   = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
	md5Bad    = "d41d8cd98f00b204e9800998ecf8427e"
)

var (
	dom   = ti("d1", "domain", domainBad)
	ip    = ti("i1", "ip", ipBad)
	url1  = ti("u1", "url", "https://evil.example.com/p")
	email = ti("e1", "email", emailBad)
)

func catalogueCases() []ccase {
	return []ccase{
		// R01: any vendor's URL rows; scheme added only when missing.
		{r: "R01", name: "url row of any vendor", tis: []tiSpec{dom},
			rows: []*engine.Event{row("CommonSecurityLog", "DeviceVendor", "Fortinet", "DeviceEventClassID", "url", "RequestURL", "evil.example.com/p", "ApplicationProtocol", "ssl", "SourceIP", "10.1.1.5")},
			want: []string{"d1 evil.example.com"},
			check: func(t *testing.T, al []*engine.Alert) {
				if al[0].ExtendedProperties["PA_Url"] != "https://evil.example.com/p" {
					t.Errorf("PA_Url %v", al[0].ExtendedProperties["PA_Url"])
				}
			}},
		{r: "R01", name: "not a url row", tis: []tiSpec{dom},
			rows: []*engine.Event{row("CommonSecurityLog", "DeviceEventClassID", "traffic", "RequestURL", "evil.example.com/p")}},

		{r: "R02", name: "connection to the domain", tis: []tiSpec{dom},
			rows: []*engine.Event{row("DeviceNetworkEvents", "RemoteUrl", "https://EVIL.example.com/x", "ActionType", "ConnectionSuccess", "DeviceName", "ws1.contoso.com")},
			want: []string{"d1 evil.example.com"},
			check: func(t *testing.T, al []*engine.Alert) {
				if entity(al[0], "Host", "FullName") != "ws1.contoso.com" || entity(al[0], "URL", "Url") != "https://EVIL.example.com/x" {
					t.Errorf("entities %+v", al[0].Entities)
				}
			}},
		{r: "R02", name: "failed connection", tis: []tiSpec{dom},
			rows: []*engine.Event{row("DeviceNetworkEvents", "RemoteUrl", "evil.example.com", "ActionType", "ConnectionFailed")}},
		{r: "R02", name: "indicator marked inactive in its description", tis: []tiSpec{ti("d1", "domain", domainBad, desc("Feed X. State: inactive; seen 2025"))},
			rows: []*engine.Event{row("DeviceNetworkEvents", "RemoteUrl", "evil.example.com", "ActionType", "ConnectionSuccess")}},

		{r: "R03", name: "lookup of the domain", tis: []tiSpec{dom},
			rows: []*engine.Event{row("DnsEvents", "Name", "evil.example.com", "ClientIP", "10.1.1.5", "Computer", "dns1.contoso.com", "SubType", "LookupQuery")},
			want: []string{"d1 evil.example.com"}},
		{r: "R03", name: "exact names only", tis: []tiSpec{dom},
			rows: []*engine.Event{row("DnsEvents", "Name", "cdn.evil.example.com"), row("DnsEvents", "Name", "example.com")}},

		{r: "R04", name: "mail from the domain", tis: []tiSpec{dom},
			rows: []*engine.Event{row("EmailEvents", "SenderFromAddress", "x@evil.example.com", "SenderFromDomain", "Evil.Example.com", "RecipientEmailAddress", "bob@contoso.com", "DeliveryAction", "Delivered")},
			want: []string{"d1 evil.example.com"},
			check: func(t *testing.T, al []*engine.Alert) {
				if entity(al[0], "Account", "FullName") != "bob@contoso.com" {
					t.Errorf("entities %+v", al[0].Entities)
				}
			}},
		{r: "R04", name: "blocked mail", tis: []tiSpec{dom},
			rows: []*engine.Event{row("EmailEvents", "SenderFromAddress", "x@evil.example.com", "SenderFromDomain", "evil.example.com", "RecipientEmailAddress", "bob@contoso.com", "DeliveryAction", "Blocked")}},

		{r: "R05", name: "link domain and URL of a delivered mail", tis: []tiSpec{dom, url1},
			rows: []*engine.Event{
				row("EmailUrlInfo", "Url", "https://Evil.Example.com/p", "UrlDomain", "evil.example.com", "NetworkMessageId", "m1"),
				row("EmailEvents", "NetworkMessageId", "m1", "RecipientEmailAddress", "bob@contoso.com", "DeliveryAction", "Delivered")},
			want: []string{"d1 evil.example.com", "u1 https://evil.example.com/p"},
			check: func(t *testing.T, al []*engine.Alert) {
				if entity(al[0], "Account", "FullName") != "bob@contoso.com" || al[0].ExtendedProperties["DeliveryAction"] != "Delivered" {
					t.Errorf("entities %+v properties %v", al[0].Entities, al[0].ExtendedProperties)
				}
			}},
		{r: "R05", name: "other link", tis: []tiSpec{dom, url1},
			rows: []*engine.Event{
				row("EmailUrlInfo", "Url", "https://good.example.org/p", "UrlDomain", "good.example.org", "NetworkMessageId", "m1"),
				row("EmailEvents", "NetworkMessageId", "m1", "RecipientEmailAddress", "bob@contoso.com", "DeliveryAction", "Delivered")}},
		{r: "R05", name: "blocked mail", tis: []tiSpec{dom},
			rows: []*engine.Event{
				row("EmailEvents", "NetworkMessageId", "m1", "RecipientEmailAddress", "bob@contoso.com", "DeliveryAction", "Blocked"),
				row("EmailUrlInfo", "Url", "https://evil.example.com/p", "UrlDomain", "evil.example.com", "NetworkMessageId", "m1")}},

		{r: "R06", name: "web request to the domain", tis: []tiSpec{dom},
			rows: []*engine.Event{row("_Im_WebSession", "Url", "https://evil.example.com/login", "SrcIpAddr", "10.1.1.5")},
			want: []string{"d1 evil.example.com"},
			check: func(t *testing.T, al []*engine.Alert) {
				if al[0].AlertName != "A web request from 10.1.1.5 to hostname evil.example.com matched an IoC" ||
					!strings.HasPrefix(al[0].AlertDescription, "A client with address 10.1.1.5 requested the URL ") {
					t.Errorf("name %q description %q", al[0].AlertName, al[0].AlertDescription)
				}
			}},
		{r: "R06", name: "other host", tis: []tiSpec{dom},
			rows: []*engine.Event{row("_Im_WebSession", "Url", "https://good.example.org/?u=evil.example.com", "SrcIpAddr", "10.1.1.5")}},

		{r: "R07", name: "Palo Alto url row", tis: []tiSpec{ti("d1", "domain", "Evil.Example.com")},
			rows: []*engine.Event{row("CommonSecurityLog", "DeviceVendor", "Palo Alto Networks", "DeviceEventClassID", "url", "RequestURL", `"evil.example.com/p"`)},
			want: []string{"d1 evil.example.com"}},
		{r: "R07", name: "other vendor", tis: []tiSpec{dom},
			rows: []*engine.Event{row("CommonSecurityLog", "DeviceVendor", "Fortinet", "DeviceEventClassID", "url", "RequestURL", "evil.example.com/p")}},

		{r: "R08", name: "domain in an alert's entities", tis: []tiSpec{dom},
			rows: []*engine.Event{row("SecurityAlert", "AlertName", "Suspicious download", "ProviderName", "MDATP",
				"Entities", `[{"$id":"2","HostName":"ws1","Type":"host"},{"$id":"3","Url":"http://Evil.Example.com/x.exe","Type":"url"}]`)},
			want: []string{"d1 evil.example.com"}},
		{r: "R08", name: "TI map alerts never feed back", tis: []tiSpec{dom},
			rows: []*engine.Event{
				row("SecurityAlert", "AlertName", "TI map Domain entity to Syslog", "ProviderName", "ASI Scheduled Alerts", "Entities", `[{"Url":"http://evil.example.com/x","Type":"url"}]`),
				row("SecurityAlert", "AlertName", "anything", "ProviderName", "timap", "Entities", `[{"Url":"http://evil.example.com/x","Type":"url"}]`)}},

		{r: "R09", name: "domain in a message", tis: []tiSpec{dom},
			rows: []*engine.Event{row("Syslog", "SyslogMessage", "sshd[42]: reverse lookup of 192.0.2.1 gave mail.good.example.org, then EVIL.example.com", "Computer", "gw1")},
			want: []string{"d1 evil.example.com"}},
		{r: "R09", name: "no such domain", tis: []tiSpec{dom},
			rows: []*engine.Event{row("Syslog", "SyslogMessage", "connect from notevil.example.com.au")}},

		{r: "R10", name: "caller address", tis: []tiSpec{ti("e1", "email", "Bad@Evil.example")},
			rows: []*engine.Event{row("AzureActivity", "Caller", "bad@evil.example", "CallerIpAddress", ipBad)},
			want: []string{"e1 bad@evil.example"}},
		{r: "R10", name: "caller is an application id", tis: []tiSpec{email},
			rows: []*engine.Event{row("AzureActivity", "Caller", "0f3b2c1d-1111-2222-3333-444455556666")}},

		{r: "R11", name: "mail to the address", tis: []tiSpec{email},
			rows: []*engine.Event{row("EmailEvents", "SenderFromAddress", "alice@contoso.com", "RecipientEmailAddress", "BAD@evil.example", "DeliveryAction", "Delivered")},
			want: []string{"e1 bad@evil.example"}},
		{r: "R11", name: "blocked mail", tis: []tiSpec{email},
			rows: []*engine.Event{row("EmailEvents", "SenderFromAddress", emailBad, "RecipientEmailAddress", "bob@contoso.com", "DeliveryAction", "Replaced/Blocked")}},

		{r: "R12", name: "user address", tis: []tiSpec{email},
			rows: []*engine.Event{row("OfficeActivity", "UserId", "Bad@Evil.example", "ClientIP", ipBad)},
			want: []string{"e1 bad@evil.example"}},
		{r: "R12", name: "other user", tis: []tiSpec{email},
			rows: []*engine.Event{row("OfficeActivity", "UserId", "alice@contoso.com")}},

		{r: "R13", name: "WildFire SMTP recipient", tis: []tiSpec{email},
			rows: []*engine.Event{row("CommonSecurityLog", "DeviceVendor", "Palo Alto Networks", "DeviceEventClassID", "wildfire", "ApplicationProtocol", "smtp", "DestinationUserID", emailBad)},
			want: []string{"e1 bad@evil.example"}},
		{r: "R13", name: "not mail traffic", tis: []tiSpec{email},
			rows: []*engine.Event{row("CommonSecurityLog", "DeviceVendor", "Palo Alto Networks", "DeviceEventClassID", "wildfire", "ApplicationProtocol", "web-browsing", "DestinationUserID", emailBad)}},

		{r: "R14", name: "account of an alert (Name@UPNSuffix)", tis: []tiSpec{email},
			rows: []*engine.Event{row("SecurityAlert", "AlertName", "Suspicious sign-in", "ProviderName", "IPC",
				"Entities", `[{"$id":"1","Type":"account","Name":"Bad","UPNSuffix":"Evil.example"}]`)},
			want: []string{"e1 bad@evil.example"}},
		{r: "R14", name: "other account", tis: []tiSpec{email},
			rows: []*engine.Event{row("SecurityAlert", "AlertName", "x", "Entities", `[{"Type":"account","Name":"alice","UPNSuffix":"contoso.com"}]`)}},
		// As in Sentinel, only account entities count, not a mailbox address.
		{r: "R14", name: "mailbox entity", tis: []tiSpec{email},
			rows: []*engine.Event{row("SecurityAlert", "AlertName", "Phish delivered", "Entities", `[{"Type":"mailbox","MailboxPrimaryAddress":"Bad@Evil.example"}]`)}},

		{r: "R15", name: "SecurityEvent and WindowsEvent target user", tis: []tiSpec{email},
			rows: []*engine.Event{
				row("SecurityEvent", "TargetUserName", "Bad@Evil.example", "EventID", "4624", "Computer", "dc1.contoso.com"),
				row("WindowsEvent", "EventData", `{"TargetUserName":"bad@evil.example","TargetDomainName":"CONTOSO"}`, "EventID", "4625")},
			want: []string{"e1 bad@evil.example"},
			check: func(t *testing.T, al []*engine.Alert) {
				if al[0].EventCount != 2 || al[0].Table != "SecurityEvent" {
					t.Errorf("count %d table %s", al[0].EventCount, al[0].Table)
				}
			}},
		{r: "R15", name: "local account", tis: []tiSpec{email},
			rows: []*engine.Event{row("SecurityEvent", "TargetUserName", "administrator")}},

		{r: "R16", name: "interactive and non-interactive sign-ins", tis: []tiSpec{email},
			rows: []*engine.Event{
				row("SigninLogs", "UserPrincipalName", "Bad@Evil.example", "IPAddress", ipBad2),
				row("AADNonInteractiveUserSignInLogs", "UserPrincipalName", "bad@evil.example")},
			want: []string{"e1 bad@evil.example"}},
		{r: "R16", name: "other user", tis: []tiSpec{email},
			rows: []*engine.Event{row("SigninLogs", "UserPrincipalName", "alice@contoso.com")}},

		{r: "R17", name: "file hash", tis: []tiSpec{ti("h1", "hash", strings.ToUpper(sha256Bad))},
			rows: []*engine.Event{row("CommonSecurityLog", "FileHash", sha256Bad, "DeviceName", "fw1")},
			want: []string{"h1 " + sha256Bad}},
		{r: "R17", name: "other hash", tis: []tiSpec{ti("h1", "hash", sha256Bad)},
			rows: []*engine.Event{row("CommonSecurityLog", "FileHash", sha1Bad)}},

		{r: "R18", name: "SHA256 of a file", tis: []tiSpec{ti("h1", "hash", strings.ToUpper(sha256Bad))},
			rows: []*engine.Event{row("DeviceFileEvents", "SHA256", sha256Bad, "SHA1", sha1Bad, "DeviceName", "ws1")},
			want: []string{"h1 " + sha256Bad},
			check: func(t *testing.T, al []*engine.Alert) {
				if entity(al[0], "FileHash", "Algorithm") != "SHA256" || entity(al[0], "Host", "HostName") != "ws1" {
					t.Errorf("entities %+v", al[0].Entities)
				}
			}},
		{r: "R18", name: "MD5 is not read", tis: []tiSpec{ti("h1", "hash", md5Bad)},
			rows: []*engine.Event{row("DeviceFileEvents", "MD5", md5Bad, "SHA1", sha1Bad)}},

		{r: "R19", name: "AppLocker events", tis: []tiSpec{ti("h1", "hash", sha256Bad)},
			rows: []*engine.Event{
				row("SecurityEvent", "EventID", "8002", "FileHash", strings.ToUpper(sha256Bad), "Computer", "ws1"),
				row("WindowsEvent", "EventID", "8003", "EventData", `{"FileHash":"`+sha256Bad+`","Fqbn":"-"}`)},
			want: []string{"h1 " + sha256Bad}},
		{r: "R19", name: "other event id", tis: []tiSpec{ti("h1", "hash", sha256Bad)},
			rows: []*engine.Event{row("SecurityEvent", "EventID", "4688", "FileHash", sha256Bad)}},

		{r: "R20", name: "client address, severity from confidence", tis: []tiSpec{ti("i1", "ip", ipBad, conf(90))},
			rows: []*engine.Event{row("AppServiceHTTPLogs", "CIp", ipBad, "CsHost", "app.azurewebsites.net")},
			want: []string{"i1 " + ipBad},
			check: func(t *testing.T, al []*engine.Alert) {
				if al[0].AlertSeverity != "High" {
					t.Errorf("severity %s", al[0].AlertSeverity)
				}
			}},
		{r: "R20", name: "confidence 50 or less", tis: []tiSpec{ti("i1", "ip", ipBad, conf(40)), ti("i2", "ip", ipBad)},
			rows: []*engine.Event{row("AppServiceHTTPLogs", "CIp", ipBad)}},

		{r: "R21", name: "API call from the address", tis: []tiSpec{ip},
			rows: []*engine.Event{row("AWSCloudTrail", "SourceIpAddress", ipBad, "UserIdentityUserName", "deploy")},
			want: []string{"i1 " + ipBad},
			check: func(t *testing.T, al []*engine.Alert) {
				if entity(al[0], "Account", "Name") != "deploy" {
					t.Errorf("entities %+v", al[0].Entities)
				}
			}},
		{r: "R21", name: "call made by an AWS service", tis: []tiSpec{ip},
			rows: []*engine.Event{row("AWSCloudTrail", "SourceIpAddress", "ec2.amazonaws.com")}},

		{r: "R22", name: "caller address", tis: []tiSpec{ip},
			rows: []*engine.Event{row("AzureActivity", "CallerIpAddress", ipBad, "Caller", "alice@contoso.com")},
			want: []string{"i1 " + ipBad}},
		{r: "R22", name: "other address", tis: []tiSpec{ip},
			rows: []*engine.Event{row("AzureActivity", "CallerIpAddress", "203.0.113.11")}},

		{r: "R23", name: "both ends of a firewall log", tis: []tiSpec{ip, ti("i2", "ip", ipBad2)},
			rows: []*engine.Event{row("AzureDiagnostics", "OperationName", "AzureFirewallNetworkRuleLog", "Category", "AzureFirewallNetworkRule",
				"msg_s", "TCP request from 198.51.100.7:51234 to 203.0.113.10:443. Action: Allow.")},
			want: []string{"i1 " + ipBad, "i2 " + ipBad2}},
		{r: "R23", name: "not a firewall rule log", tis: []tiSpec{ip},
			rows: []*engine.Event{row("AzureDiagnostics", "OperationName", "AzureFirewallThreatIntelLog", "msg_s", "TCP request from 10.0.0.4:51234 to 203.0.113.10:443.")}},

		{r: "R24", name: "Key Vault caller", tis: []tiSpec{ip},
			rows: []*engine.Event{row("AzureDiagnostics", "ResourceType", "vaults", "CallerIPAddress", ipBad, "ResourceId", "/SUBSCRIPTIONS/X/VAULTS/KV1")},
			want: []string{"i1 " + ipBad}},
		{r: "R24", name: "other resource type", tis: []tiSpec{ip},
			rows: []*engine.Event{row("AzureDiagnostics", "ResourceType", "SERVERS/DATABASES", "CallerIPAddress", ipBad)}},

		{r: "R25", name: "every public address of an allowed flow", tis: []tiSpec{ip},
			rows: []*engine.Event{row("AzureNetworkAnalytics_CL", "FlowStatus_s", "A", "PublicIPs_s", "198.51.100.20|1|0|0|0|0 203.0.113.10|2|0|0|0|0")},
			want: []string{"i1 " + ipBad}},
		{r: "R25", name: "denied flow", tis: []tiSpec{ip},
			rows: []*engine.Event{row("AzureNetworkAnalytics_CL", "FlowStatus_s", "D", "PublicIPs_s", "203.0.113.10|0|0|1|0|0")}},

		{r: "R26", name: "SQL audit client", tis: []tiSpec{ip},
			rows: []*engine.Event{row("AzureDiagnostics", "ResourceProvider", "MICROSOFT.SQL", "Category", "SQLSecurityAuditEvents", "client_ip_s", ipBad)},
			want: []string{"i1 " + ipBad}},
		{r: "R26", name: "category compared case-sensitively", tis: []tiSpec{ip},
			rows: []*engine.Event{row("AzureDiagnostics", "ResourceProvider", "MICROSOFT.SQL", "Category", "sqlsecurityauditevents", "client_ip_s", ipBad)}},

		{r: "R27", name: "destination of an outbound connection", tis: []tiSpec{ip},
			rows: []*engine.Event{row("CommonSecurityLog", "SourceIP", "10.0.0.5", "DestinationIP", ipBad)},
			want: []string{"i1 " + ipBad},
			check: func(t *testing.T, al []*engine.Alert) {
				if entity(al[0], "IP", "Address") != ipBad {
					t.Errorf("entities %+v", al[0].Entities)
				}
			}},
		{r: "R27", name: "message address ignored when the row has addresses", tis: []tiSpec{ip},
			rows: []*engine.Event{row("CommonSecurityLog", "SourceIP", "10.0.0.5", "DestinationIP", "192.0.2.1", "Message", "seen 203.0.113.10")}},

		{r: "R28", name: "remote address", tis: []tiSpec{ip},
			rows: []*engine.Event{row("DeviceNetworkEvents", "RemoteIP", ipBad, "ActionType", "ConnectionSuccess", "DeviceName", "ws1")},
			want: []string{"i1 " + ipBad}},
		{r: "R28", name: "failed connection", tis: []tiSpec{ip},
			rows: []*engine.Event{row("DeviceNetworkEvents", "RemoteIP", ipBad, "ActionType", "ConnectionFailed")}},

		{r: "R29", name: "lookup answer", tis: []tiSpec{ip},
			rows: []*engine.Event{row("DnsEvents", "SubType", "LookupQuery", "Name", "x.example.org", "IPAddresses", "192.0.2.1, 203.0.113.10")},
			want: []string{"i1 " + ipBad}},
		{r: "R29", name: "not a lookup", tis: []tiSpec{ip},
			rows: []*engine.Event{row("DnsEvents", "SubType", "Dynamic update", "IPAddresses", ipBad)}},

		{r: "R30", name: "web client address", tis: []tiSpec{ip},
			rows: []*engine.Event{row("_Im_WebSession", "SrcIpAddr", ipBad, "DstIpAddr", "192.0.2.80", "Url", "http://shop.example.org/")},
			want: []string{"i1 " + ipBad},
			check: func(t *testing.T, al []*engine.Alert) {
				if al[0].AlertName != "The IP 203.0.113.10 of the web request matches an IP IoC" || entity(al[0], "IP", "Address") != ipBad {
					t.Errorf("name %q entities %+v", al[0].AlertName, al[0].Entities)
				}
			}},
		{r: "R30", name: "only the client address is read", tis: []tiSpec{ip},
			rows: []*engine.Event{row("_Im_WebSession", "SrcIpAddr", "10.1.1.5", "DstIpAddr", ipBad)}},

		{r: "R31", name: "client address with a port", tis: []tiSpec{ip},
			rows: []*engine.Event{
				row("OfficeActivity", "ClientIP", "203.0.113.10:55555", "UserId", "alice@contoso.com"),
				row("OfficeActivity", "ClientIP", "203.0.113.10-55555", "UserId", "alice@contoso.com")},
			want: []string{"i1 " + ipBad},
			check: func(t *testing.T, al []*engine.Alert) {
				if al[0].EventCount != 2 {
					t.Errorf("count %d", al[0].EventCount)
				}
			}},
		{r: "R31", name: "other address", tis: []tiSpec{ip},
			rows: []*engine.Event{row("OfficeActivity", "ClientIP", "[2001:db8::1]:443")}},

		{r: "R32", name: "sign-in address", tis: []tiSpec{ip},
			rows: []*engine.Event{row("AADNonInteractiveUserSignInLogs", "IPAddress", ipBad, "UserPrincipalName", "alice@contoso.com")},
			want: []string{"i1 " + ipBad}},
		{r: "R32", name: "other address", tis: []tiSpec{ip},
			rows: []*engine.Event{row("SigninLogs", "IPAddress", "192.0.2.1")}},

		{r: "R33", name: "remote end", tis: []tiSpec{ip},
			rows: []*engine.Event{row("VMConnection", "RemoteIp", ipBad, "DestinationIp", ipBad, "SourceIp", "10.0.0.4", "Direction", "outbound")},
			want: []string{"i1 " + ipBad}},
		{r: "R33", name: "only the remote end is read", tis: []tiSpec{ip},
			rows: []*engine.Event{row("VMConnection", "RemoteIp", "192.0.2.1", "SourceIp", ipBad)}},

		{r: "R34", name: "IIS client", tis: []tiSpec{ti("i1", "ip", "2001:db8::10")},
			rows: []*engine.Event{row("W3CIISLog", "cIP", "2001:db8::10", "sIP", "10.0.0.4")},
			want: []string{"i1 2001:db8::10"}},
		{r: "R34", name: "server address not read", tis: []tiSpec{ip},
			rows: []*engine.Event{row("W3CIISLog", "cIP", "192.0.2.1", "sIP", ipBad)}},

		{r: "R35", name: "URL in target resources", tis: []tiSpec{ti("u1", "url", "https://evil.example.com/cb")},
			rows: []*engine.Event{row("AuditLogs", "OperationName", "Update application",
				"TargetResources", `[{"displayName":"app1","modifiedProperties":[{"displayName":"AppAddress","oldValue":"[\"https://good.example.org/cb\"]","newValue":"[\"https://EVIL.example.com/cb\"]"}]}]`)},
			want: []string{"u1 https://evil.example.com/cb"}},
		{r: "R35", name: "other URL", tis: []tiSpec{ti("u1", "url", "https://evil.example.com/cb")},
			rows: []*engine.Event{row("AuditLogs", "TargetResources", `[{"displayName":"app1","newValue":"https://evil.example.com/other"}]`)}},

		{r: "R36", name: "remote URL without scheme", tis: []tiSpec{ti("u1", "url", "http://evil.example.com/p")},
			rows: []*engine.Event{row("DeviceNetworkEvents", "RemoteUrl", "evil.example.com/p", "ActionType", "ConnectionSuccess")},
			want: []string{"u1 http://evil.example.com/p"}},
		{r: "R36", name: "failed connection", tis: []tiSpec{ti("u1", "url", "http://evil.example.com/p")},
			rows: []*engine.Event{row("DeviceNetworkEvents", "RemoteUrl", "http://evil.example.com/p", "ActionType", "ConnectionFailed")}},

		// The mail's row may come first.
		{r: "R37", name: "link URL of a delivered mail", tis: []tiSpec{ti("u1", "url", "HTTPS://Evil.example.com/P")},
			rows: []*engine.Event{
				row("EmailEvents", "NetworkMessageId", "m1", "RecipientEmailAddress", "bob@contoso.com", "DeliveryAction", "Junked"),
				row("EmailUrlInfo", "Url", "https://evil.example.com/p", "UrlDomain", "evil.example.com", "NetworkMessageId", "m1")},
			want: []string{"u1 https://evil.example.com/p"}},
		{r: "R37", name: "other link", tis: []tiSpec{url1},
			rows: []*engine.Event{
				row("EmailUrlInfo", "Url", "https://evil.example.com/q", "UrlDomain", "evil.example.com", "NetworkMessageId", "m1"),
				row("EmailEvents", "NetworkMessageId", "m1", "RecipientEmailAddress", "bob@contoso.com", "DeliveryAction", "Delivered")}},
		{r: "R37", name: "no mail row", tis: []tiSpec{url1},
			rows: []*engine.Event{row("EmailUrlInfo", "Url", "https://evil.example.com/p", "UrlDomain", "evil.example.com", "NetworkMessageId", "m1")}},

		{r: "R38", name: "URL in modified properties", tis: []tiSpec{url1},
			rows: []*engine.Event{row("OfficeActivity", "OfficeWorkload", "AzureActiveDirectory", "UserId", "admin@contoso.com",
				"ModifiedProperties", `[{"Name":"AppAddress","NewValue":"https://evil.example.com/p;https://good.example.org/"}]`)},
			want: []string{"u1 https://evil.example.com/p"}},
		{r: "R38", name: "no URL", tis: []tiSpec{url1},
			rows: []*engine.Event{row("OfficeActivity", "ModifiedProperties", `[{"Name":"DisplayName","NewValue":"evil.example.com"}]`)}},

		{r: "R39", name: "Palo Alto URL", tis: []tiSpec{ti("u1", "url", "http://evil.example.com/p")},
			rows: []*engine.Event{row("CommonSecurityLog", "DeviceVendor", "Palo Alto Networks", "DeviceEventClassID", "url", "RequestURL", `"evil.example.com/p"`, "ApplicationProtocol", "web-browsing")},
			want: []string{"u1 http://evil.example.com/p"}},
		{r: "R39", name: "other path", tis: []tiSpec{ti("u1", "url", "http://evil.example.com/p")},
			rows: []*engine.Event{row("CommonSecurityLog", "DeviceVendor", "Palo Alto Networks", "DeviceEventClassID", "url", "RequestURL", "evil.example.com/q")}},

		{r: "R40", name: "URL entities", tis: []tiSpec{url1, ti("u2", "url", "https://evil.example.com/q")},
			rows: []*engine.Event{row("SecurityAlert", "AlertName", "Malicious URL clicked", "ProviderName", "OATP",
				"Entities", `[{"$id":"1","Type":"url","Url":"HTTPS://Evil.example.com/p"},{"$id":"2","Type":"mailMessage","Urls":["https://evil.example.com/q"]}]`)},
			want: []string{"u1 https://evil.example.com/p", "u2 https://evil.example.com/q"}},
		{r: "R40", name: "URL outside Url and Urls", tis: []tiSpec{url1},
			rows: []*engine.Event{row("SecurityAlert", "AlertName", "x", "Entities", `[{"Type":"file","Name":"https://evil.example.com/p"}]`)}},

		{r: "R41", name: "second URL of a message", tis: []tiSpec{url1},
			rows: []*engine.Event{row("Syslog", "SyslogMessage", "GET https://good.example.org/ then https://Evil.example.com/p 200", "Computer", "proxy1")},
			want: []string{"u1 https://evil.example.com/p"}},
		{r: "R41", name: "no such URL", tis: []tiSpec{url1},
			rows: []*engine.Event{row("Syslog", "SyslogMessage", "GET https://evil.example.com/ 200")}},

		{r: "R42", name: "redirect chain", tis: []tiSpec{ti("u1", "url", "https://final.example.net/")},
			rows: []*engine.Event{row("UrlClickEvents", "Url", "https://short.example.org/a", "UrlChain", `["https://short.example.org/a","https://FINAL.example.net/"]`, "AccountUpn", "bob@contoso.com")},
			want: []string{"u1 https://final.example.net/"}},
		{r: "R42", name: "clean click", tis: []tiSpec{ti("u1", "url", "https://final.example.net/")},
			rows: []*engine.Event{row("UrlClickEvents", "Url", "https://short.example.org/a", "UrlChain", `["https://short.example.org/a"]`)}},

		{r: "R43", name: "Duo device address", tis: []tiSpec{ti("i1", "srcip", ipBad)},
			rows: []*engine.Event{row("DuoSecurityAuthentication_CL", "access_device_ip_s", ipBad, "user_name_s", "alice@contoso.com")},
			want: []string{"i1 " + ipBad}},
		{r: "R43", name: "other address", tis: []tiSpec{ip},
			rows: []*engine.Event{row("DuoSecurityAuthentication_CL", "access_device_ip_s", "192.0.2.1")}},

		{r: "R44", name: "DNS query", tis: []tiSpec{dom},
			rows: []*engine.Event{row("_Im_Dns", "DnsQuery", "EVIL.example.com.", "SrcIpAddr", "10.1.1.5", "Dvc", "dns1")},
			want: []string{"d1 evil.example.com"},
			check: func(t *testing.T, al []*engine.Alert) {
				if entity(al[0], "DNS", "DomainName") != domainBad {
					t.Errorf("entities %+v", al[0].Entities)
				}
			}},
		{r: "R44", name: "parent domain queried", tis: []tiSpec{dom},
			rows: []*engine.Event{row("_Im_Dns", "DnsQuery", "example.com")}},

		{r: "R45", name: "DNS answers, IPv4 and IPv6", tis: []tiSpec{ip, ti("i2", "ip", "2001:db8::10")},
			rows: []*engine.Event{row("_Im_Dns", "DnsQuery", "x.example.org", "DnsResponseName", "192.0.2.1;203.0.113.10;2001:db8::10", "SrcIpAddr", "10.1.1.5")},
			want: []string{"i1 " + ipBad, "i2 2001:db8::10"},
			check: func(t *testing.T, al []*engine.Alert) {
				if al[0].AlertName != "The response 203.0.113.10 to DNS query matched an IoC" {
					t.Errorf("name %q", al[0].AlertName)
				}
			}},
		{r: "R45", name: "no bad answer", tis: []tiSpec{ip},
			rows: []*engine.Event{row("_Im_Dns", "DnsQuery", "x.example.org", "DnsResponseName", "192.0.2.1", "SrcIpAddr", ipBad)}},

		{r: "R46", name: "both ends of a session", tis: []tiSpec{ip, ti("i2", "ip", ipBad2)},
			rows: []*engine.Event{row("_Im_NetworkSession", "SrcIpAddr", ipBad2, "DstIpAddr", ipBad, "Dvc", "fw1")},
			want: []string{"i1 " + ipBad, "i2 " + ipBad2},
			check: func(t *testing.T, al []*engine.Alert) {
				if al[0].AlertName != "A network session address 203.0.113.10 matched an IoC." || al[0].MatchedColumn != "DstIpAddr" {
					t.Errorf("name %q column %s", al[0].AlertName, al[0].MatchedColumn)
				}
			}},
		{r: "R46", name: "clean session", tis: []tiSpec{ip},
			rows: []*engine.Event{row("_Im_NetworkSession", "SrcIpAddr", "10.1.1.5", "DstIpAddr", "192.0.2.1")}},

		{r: "R47", name: "GitHub actor address", tis: []tiSpec{ip},
			rows: []*engine.Event{row("GitHubAudit", "IPaddress", ipBad, "Actor", "octocat", "Action", "repo.download_zip")},
			want: []string{"i1 " + ipBad}},
		{r: "R47", name: "other address", tis: []tiSpec{ip},
			rows: []*engine.Event{row("GitHubAudit", "IPaddress", "192.0.2.1")}},

		{r: "R48", name: "host of a URL in the raw event", tis: []tiSpec{dom},
			rows: []*engine.Event{row("CloudAppEvents", "Application", "Microsoft SharePoint Online", "IPAddress", ipBad2,
				"RawEventData", `{"Operation":"FileDownloaded","ObjectId":"https://EVIL.example.com/sites/x/doc.docx","UserId":"alice@contoso.com"}`)},
			want: []string{"d1 evil.example.com"}},
		{r: "R48", name: "domain outside a URL", tis: []tiSpec{dom},
			rows: []*engine.Event{row("CloudAppEvents", "RawEventData", `{"UserId":"alice@evil.example.com","ClientIP":"192.0.2.1"}`)}},

		{r: "R49", name: "raw user id", tis: []tiSpec{email},
			rows: []*engine.Event{row("CloudAppEvents", "Application", "Microsoft Exchange Online", "RawEventData", `{"UserId":"Bad@Evil.example","Operation":"MailItemsAccessed"}`)},
			want: []string{"e1 bad@evil.example"}},
		{r: "R49", name: "no application", tis: []tiSpec{email},
			rows: []*engine.Event{row("CloudAppEvents", "RawEventData", `{"UserId":"bad@evil.example"}`)}},

		{r: "R50", name: "MD5 of a file", tis: []tiSpec{ti("h1", "hash", strings.ToUpper(md5Bad))},
			rows: []*engine.Event{row("DeviceFileEvents", "MD5", md5Bad, "DeviceName", "ws1", "FileName", "x.exe")},
			want: []string{"h1 " + md5Bad}},
		{r: "R50", name: "SHA1 is R18's", tis: []tiSpec{ti("h1", "hash", sha1Bad)},
			rows: []*engine.Event{row("DeviceFileEvents", "SHA1", sha1Bad, "MD5", "00000000000000000000000000000001")}},

		{r: "R51", name: "activity address", tis: []tiSpec{ti("i1", "emailip", ipBad)},
			rows: []*engine.Event{row("CloudAppEvents", "IPAddress", ipBad, "Application", "Microsoft Teams")},
			want: []string{"i1 " + ipBad}},
		{r: "R51", name: "other address", tis: []tiSpec{ip},
			rows: []*engine.Event{row("CloudAppEvents", "IPAddress", "192.0.2.1")}},

		{r: "R52", name: "URL among activity objects", tis: []tiSpec{url1},
			rows: []*engine.Event{row("CloudAppEvents", "ActivityObjects", `[{"Type":"File","Name":"doc.docx"},{"Type":"Url","Name":"https://Evil.example.com/p"}]`, "Application", "Microsoft Teams", "ApplicationId", "20893")},
			want: []string{"u1 https://evil.example.com/p"},
			check: func(t *testing.T, al []*engine.Alert) {
				if entity(al[0], "CloudApplication", "AppId") != "20893" {
					t.Errorf("entities %+v", al[0].Entities)
				}
			}},
		{r: "R52", name: "no URL", tis: []tiSpec{url1},
			rows: []*engine.Event{row("CloudAppEvents", "ActivityObjects", `[{"Type":"File","Name":"evil.example.com"}]`)}},

		{r: "R53", name: "Workday device address", tis: []tiSpec{ti("i1", "dstip", ipBad)},
			rows: []*engine.Event{row("ASimAuditEventLogs", "EventVendor", "Workday", "DvcIpAddr", ipBad, "ActorUsername", "alice@contoso.com")},
			want: []string{"i1 " + ipBad}},
		{r: "R53", name: "vendor compared case-sensitively", tis: []tiSpec{ip},
			rows: []*engine.Event{row("ASimAuditEventLogs", "EventVendor", "workday", "DvcIpAddr", ipBad)}},
	}
}

// TestCatalogue runs every rule's positive and negative cases through the
// engine with all 53 rules loaded.
func TestCatalogue(t *testing.T) {
	pos, neg := map[string]int{}, map[string]int{}
	for _, c := range catalogueCases() {
		if len(c.want) > 0 {
			pos[c.r]++
		} else {
			neg[c.r]++
		}
		t.Run(c.r+"/"+c.name, func(t *testing.T) {
			al := of(c.r, runAll(t, t0, c.tis, c.rows...))
			if got := keys(al); !slices.Equal(got, c.want) {
				t.Fatalf("got %s, want %s", fmtKeys(got), fmtKeys(c.want))
			}
			for _, a := range al {
				if a.AlertName == "" || a.AlertSeverity == "" || a.ExtendedProperties == nil {
					t.Errorf("alert %+v", a)
				}
			}
			if c.check != nil && len(al) > 0 {
				c.check(t, al)
			}
		})
	}
	for _, c := range catalogue {
		if pos[c.r] == 0 || neg[c.r] == 0 {
			t.Errorf("%s: %d positive and %d negative cases, want at least one of each", c.r, pos[c.r], neg[c.r])
		}
	}
	t.Logf("%d rules, %d positive and %d negative cases", len(pos), sum(pos), sum(neg))
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestProjectionsFilled checks, on each rule's first positive case, that
// every projected row column the row has is in ExtendedProperties.
func TestProjectionsFilled(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range catalogueCases() {
		if len(c.want) == 0 || seen[c.r] {
			continue
		}
		seen[c.r] = true
		r := ruleByNumber(t, c.r)
		al := of(c.r, runAll(t, t0, c.tis, c.rows...))
		if len(al) == 0 {
			continue // reported by TestCatalogue
		}
		for _, col := range append(append([]string{}, r.ProjectTI...), r.ProjectLog...) {
			if _, ok := al[0].ExtendedProperties[col]; !ok {
				t.Errorf("%s: ExtendedProperties lacks %s", c.r, col)
			}
		}
		if v := al[0].ExtendedProperties[engine.MatchedValueColumn]; slices.Contains(r.ProjectTI, engine.MatchedValueColumn) && fmt.Sprint(v) != al[0].MatchedValue {
			t.Errorf("%s: MatchedValue %v", c.r, v)
		}
	}
}
