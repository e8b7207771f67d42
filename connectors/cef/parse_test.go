package cef

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// mustParse parses line with a Parser whose reference time is fixed.
func mustParse(t *testing.T, line string) *Record {
	t.Helper()
	p := Parser{Now: time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)}
	var rec Record
	if err := p.Parse([]byte(line), &rec); err != nil {
		t.Fatalf("Parse(%q): %v", line, err)
	}
	return &rec
}

func ext(t *testing.T, rec *Record, key string) string {
	t.Helper()
	v, ok := rec.Get(key)
	if !ok {
		t.Fatalf("no extension %q in %+v", key, rec.Extensions)
	}
	return v
}

func TestParseHeader(t *testing.T) {
	rec := mustParse(t, `CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1`)
	want := Record{Version: 0, DeviceVendor: "Security", DeviceProduct: "threatmanager", DeviceVersion: "1.0",
		DeviceEventClassID: "100", Name: "worm successfully stopped", Severity: "10",
		Extensions: []KV{{"src", "10.0.0.1"}}}
	if !reflect.DeepEqual(*rec, want) {
		t.Fatalf("got %+v\nwant %+v", *rec, want)
	}
}

func TestParseHeaderEscapes(t *testing.T) {
	// CEF standard: '|' and '\' in header fields are escaped as \| and \\;
	// '=' needs no escape there. Other backslashes cannot come from
	// escaping and are kept.
	rec := mustParse(t, `CEF:0|Ven\|dor|Prod\\uct|C:\dir|1|a = b|5|`)
	if rec.DeviceVendor != "Ven|dor" || rec.DeviceProduct != `Prod\uct` || rec.DeviceVersion != `C:\dir` || rec.Name != "a = b" {
		t.Fatalf("header = %q %q %q %q", rec.DeviceVendor, rec.DeviceProduct, rec.DeviceVersion, rec.Name)
	}
	if len(rec.Extensions) != 0 {
		t.Fatalf("extensions = %+v", rec.Extensions)
	}
}

func TestParseExtensionEscapes(t *testing.T) {
	rec := mustParse(t, `CEF:0|V|P|1|2|N|3|act=blocked a \= dst=1.1.1.1 path=C:\\Windows\\x msg=line1\nline2\rend pipe=a\|b win=C:\Users\x`)
	for k, want := range map[string]string{
		"act":  "blocked a =",
		"dst":  "1.1.1.1",
		"path": `C:\Windows\x`,
		"msg":  "line1\nline2\rend",
		"pipe": "a|b",
		"win":  `C:\Users\x`, // not escapes: kept verbatim
	} {
		if got := ext(t, rec, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestParseValuesWithSpaces(t *testing.T) {
	rec := mustParse(t, "CEF:0|V|P|1|2|N|3| cs2=ip-172-30-2-212 -> /var/log/auth.log cs2Label=Location msg=Aug 14 14:26:53 host sshd[16217]: message repeated 2 times   \t")
	want := []KV{
		{"cs2", "ip-172-30-2-212 -> /var/log/auth.log"},
		{"cs2Label", "Location"},
		{"msg", "Aug 14 14:26:53 host sshd[16217]: message repeated 2 times"},
	}
	if !reflect.DeepEqual(rec.Extensions, want) {
		t.Fatalf("got %q", rec.Extensions)
	}
}

func TestParseUnescapedEquals(t *testing.T) {
	// A value ends where whitespace, a key and an unescaped '=' follow, as
	// Graylog's cef_with_unescaped_msg fixture expects; '=' not preceded
	// by " key" stays in the value.
	rec := mustParse(t, "CEF:0|V|P|1|2|N|3|request=http://h/p?a=b&c=d msg=PAM failures; logname= uid=0 x=a=b")
	want := []KV{
		{"request", "http://h/p?a=b&c=d"},
		{"msg", "PAM failures;"},
		{"logname", ""},
		{"uid", "0"},
		{"x", "a=b"},
	}
	if !reflect.DeepEqual(rec.Extensions, want) {
		t.Fatalf("got %q", rec.Extensions)
	}
}

func TestParseKeyCharacters(t *testing.T) {
	rec := mustParse(t, "CEF:0|V|P|1|2|N|3|TrendMicroDsFileMD5=44D8 ad.slice=user-994 Auth.NAS-Port=null arr[0]=x _k=y")
	want := []KV{{"TrendMicroDsFileMD5", "44D8"}, {"ad.slice", "user-994"}, {"Auth.NAS-Port", "null"}, {"arr[0]", "x"}, {"_k", "y"}}
	if !reflect.DeepEqual(rec.Extensions, want) {
		t.Fatalf("got %q", rec.Extensions)
	}
}

func TestParseRawNewlines(t *testing.T) {
	// Nozomi and Check Point send raw newlines: before a key they separate
	// pairs, elsewhere they belong to the value.
	rec := mustParse(t, "CEF:0|V|P|1|SIGN:X\n |N|9|\n  app=smb\n  cs2=vers les ressources\ninternes dpt=445")
	if rec.DeviceEventClassID != "SIGN:X" {
		t.Errorf("class id %q", rec.DeviceEventClassID)
	}
	want := []KV{{"app", "smb"}, {"cs2", "vers les ressources\ninternes"}, {"dpt", "445"}}
	if !reflect.DeepEqual(rec.Extensions, want) {
		t.Fatalf("got %q", rec.Extensions)
	}
}

func TestParseLenientHeaders(t *testing.T) {
	// Check Point: "CEF: 0|" and an eighth header field; the extra field
	// is dropped as text before the first key.
	rec := mustParse(t, "CEF: 0||Check Point|Application Control|Check Point|Log|Log|Unknown|act=Accept rt=1708352128000")
	if rec.DeviceVendor != "" || rec.DeviceProduct != "Check Point" || rec.Severity != "Log" {
		t.Fatalf("header %+v", rec)
	}
	if got := ext(t, rec, "act"); got != "Accept" {
		t.Fatalf("act = %q", got)
	}
	// F5 "CEF:CEF:0|": the first "CEF:" has no version; the second is used.
	rec = mustParse(t, "CEF:CEF:0|F5|ASM|15.1.10|Req|Req|2|dvc=1.1.1.1")
	if rec.DeviceVendor != "F5" || ext(t, rec, "dvc") != "1.1.1.1" {
		t.Fatalf("got %+v", rec)
	}
	// No '|' after Severity: the header is complete, there is no extension.
	rec = mustParse(t, "CEF:1|V|P|1|2|N|High")
	if rec.Version != 1 || rec.Severity != "High" || len(rec.Extensions) != 0 {
		t.Fatalf("got %+v", rec)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		line   string
		offset int
		msg    string
	}{
		{"", 0, "no \"CEF:\" marker"},
		{"Sep 19 08:26:10 host sshd[1]: Accepted password for root", 0, "no \"CEF:\" marker"},
		{"host CEF:x|V|P|1|2|N|3|", 9, "invalid CEF version"},
		{"CEF:0", 4, "invalid CEF version"},
		{"CEF:0|Vendor", 12, "missing header field Device Product"},
		{"CEF:0|V|P|1", 11, "missing header field Device Event Class ID"},
		{`CEF:0|V|P|1|2|Name with \| pipe`, 31, "missing header field Severity"},
	}
	var p Parser
	var rec Record
	for _, tt := range tests {
		err := p.Parse([]byte(tt.line), &rec)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, want *ParseError", tt.line, err)
			continue
		}
		if pe.Offset != tt.offset || !strings.Contains(pe.Msg, tt.msg) {
			t.Errorf("Parse(%q) = offset %d %q, want offset %d %q", tt.line, pe.Offset, pe.Msg, tt.offset, tt.msg)
		}
		if !strings.HasPrefix(err.Error(), "cef: offset ") {
			t.Errorf("Error() = %q", err.Error())
		}
	}
}

func TestParseSyslogPrefixes(t *testing.T) {
	now := time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		line string
		host string
		time time.Time
	}{
		// RFC 5424, as in Elastic's CEF integration documentation.
		{"<189>1 2021-06-18T10:55:50.000003Z host app - - - CEF:0|V|P|1|2|N|3|", "host",
			time.Date(2021, 6, 18, 10, 55, 50, 3000, time.UTC)},
		{"<34>1 2003-10-11T22:14:15.003-07:00 mymachine.example.com su - ID47 [exampleSDID@32473 iut=\"3\"] CEF:0|V|P|1|2|N|3|",
			"mymachine.example.com", time.Date(2003, 10, 12, 5, 14, 15, 3000000, time.UTC)},
		{"<14>1 - - - - - - CEF:0|V|P|1|2|N|3|", "", time.Time{}},
		// RFC 3164, year taken from Now.
		{"<132>Sep 19 08:26:10 example.com CEF:0|V|P|1|2|N|3|", "example.com", time.Date(2023, 9, 19, 8, 26, 10, 0, time.UTC)},
		{"Sep   19  08:26:10 host CEF:0|V|P|1|2|N|3|", "host", time.Date(2023, 9, 19, 8, 26, 10, 0, time.UTC)},
		{"<13>Mar 10 23:59:59 h CEF:0|V|P|1|2|N|3|", "h", time.Date(2024, 3, 10, 23, 59, 59, 0, time.UTC)},
		{"<13>Mar 11 13:00:00 h CEF:0|V|P|1|2|N|3|", "h", time.Date(2023, 3, 11, 13, 0, 0, 0, time.UTC)},
		{"Sep 10 16:03:01 172.30.0.20 ASM:CEF:0|V|P|1|2|N|3|", "172.30.0.20", time.Date(2023, 9, 10, 16, 3, 1, 0, time.UTC)},
		{"<132>Nov 13 13:17:41 CEF:0|V|P|1|2|N|3|", "", time.Date(2023, 11, 13, 13, 17, 41, 0, time.UTC)},
		{"<13>Jan  2 03:04:05 sshd[12]: CEF:0|V|P|1|2|N|3|", "", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		// ArcSight style with year, milliseconds and zone; IST is
		// ambiguous, so the Parser's zone (UTC) applies.
		{"Dec 03 2017 16:31:28.861 IST 10.17.4.208 CEF:0|V|P|1|2|N|3|", "10.17.4.208", time.Date(2017, 12, 3, 16, 31, 28, 861000000, time.UTC)},
		{"Dec 03 2017 16:31:28 GMT+01:00 h CEF:0|V|P|1|2|N|3|", "h", time.Date(2017, 12, 3, 15, 31, 28, 0, time.UTC)},
		// rsyslog high-precision (RFC 3339) in a 3164-style header.
		{"<13>2021-06-18T10:55:50+02:00 fw01 CEF:0|V|P|1|2|N|3|", "fw01", time.Date(2021, 6, 18, 8, 55, 50, 0, time.UTC)},
		// Unknown prefix: ignored.
		{"garbage here CEF:0|V|P|1|2|N|3|", "", time.Time{}},
	}
	for _, tt := range tests {
		p := Parser{Now: now}
		var rec Record
		if err := p.Parse([]byte(tt.line), &rec); err != nil {
			t.Errorf("Parse(%q): %v", tt.line, err)
			continue
		}
		if rec.SyslogHost != tt.host || !rec.SyslogTime.Equal(tt.time) {
			t.Errorf("Parse(%q): host %q time %v, want %q %v", tt.line, rec.SyslogHost, rec.SyslogTime, tt.host, tt.time)
		}
		if rec.DeviceVendor != "V" {
			t.Errorf("Parse(%q): vendor %q", tt.line, rec.DeviceVendor)
		}
	}
}

func TestYearInference(t *testing.T) {
	// The latest year that keeps the date at most a day after Now.
	tests := []struct {
		now  time.Time
		line string
		want time.Time
	}{
		{time.Date(2024, 12, 31, 23, 30, 0, 0, time.UTC), "Jan  1 00:10:00 h CEF:0|V|P|1|2|N|3|", time.Date(2025, 1, 1, 0, 10, 0, 0, time.UTC)},
		{time.Date(2025, 1, 1, 0, 5, 0, 0, time.UTC), "Dec 31 23:59:00 h CEF:0|V|P|1|2|N|3|", time.Date(2024, 12, 31, 23, 59, 0, 0, time.UTC)},
		{time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC), "Feb 29 10:00:00 h CEF:0|V|P|1|2|N|3|", time.Date(2020, 2, 29, 10, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		p := Parser{Now: tt.now}
		var rec Record
		if err := p.Parse([]byte(tt.line), &rec); err != nil {
			t.Fatal(err)
		}
		if !rec.SyslogTime.Equal(tt.want) {
			t.Errorf("now %v, %q: got %v want %v", tt.now, tt.line, rec.SyslogTime, tt.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	p := Parser{Now: time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)}
	tests := []struct {
		in   string
		want time.Time
	}{
		{"1617770662000", time.Date(2021, 4, 7, 4, 44, 22, 0, time.UTC)},
		{"1305034099211", time.Date(2011, 5, 10, 13, 28, 19, 211000000, time.UTC)},
		{"1617770662", time.Date(2021, 4, 7, 4, 44, 22, 0, time.UTC)}, // seconds
		{"Sep 10 2010 16:03:00", time.Date(2010, 9, 10, 16, 3, 0, 0, time.UTC)},
		{"Nov 08 2020 12:30:00.111 UTC", time.Date(2020, 11, 8, 12, 30, 0, 111000000, time.UTC)},
		{"Aug 16 2017 05:00:40 GMT+00:00", time.Date(2017, 8, 16, 5, 0, 40, 0, time.UTC)},
		{"Aug 16 2017 05:00:40 GMT-05:30", time.Date(2017, 8, 16, 10, 30, 40, 0, time.UTC)},
		{"Aug 16 2017 05:00:40 +0200", time.Date(2017, 8, 16, 3, 0, 40, 0, time.UTC)},
		{"Nov 19, 2014 18:21:13 IST", time.Date(2014, 11, 19, 18, 21, 13, 0, time.UTC)},
		{"Mar 09 11:00:00", time.Date(2024, 3, 9, 11, 0, 0, 0, time.UTC)},
		{"Mar 09 11:00:00.5 UTC", time.Date(2024, 3, 9, 11, 0, 0, 500000000, time.UTC)},
		{"2023-03-13 13:05:13", time.Date(2023, 3, 13, 13, 5, 13, 0, time.UTC)},
		{"2024-05-15T09:06:52.000Z", time.Date(2024, 5, 15, 9, 6, 52, 0, time.UTC)},
		{"2020-04-30-12.11.52.265056", time.Date(2020, 4, 30, 12, 11, 52, 265056000, time.UTC)},
	}
	for _, tt := range tests {
		got, ok := p.parseTime(tt.in)
		if !ok || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v %v, want %v", tt.in, got, ok, tt.want)
		}
	}
	for _, bad := range []string{"", "%EVENT_TIME%", "Foo 10 2010 16:03:00", "Sep 10 2010", "2020-13-01T00:00:00Z", "Sep 10 2010 16:03:00 +25:00 x", "12ab"} {
		if got, ok := p.parseTime(bad); ok {
			t.Errorf("parseTime(%q) = %v, want failure", bad, got)
		}
	}
	loc := time.FixedZone("X", 3600)
	p.Location = loc
	if got, _ := p.parseTime("Sep 10 2010 16:03:00"); !got.Equal(time.Date(2010, 9, 10, 15, 3, 0, 0, time.UTC)) {
		t.Errorf("Location not applied: %v", got)
	}
}

func TestRecordReuse(t *testing.T) {
	var p Parser
	var rec Record
	if err := p.Parse([]byte("<13>Jan  2 03:04:05 h CEF:0|V|P|1|2|N|3|a=1 b=2 c=3"), &rec); err != nil {
		t.Fatal(err)
	}
	if err := p.Parse([]byte("CEF:0|W|Q|1|2|N|3|d=4"), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.SyslogHost != "" || !rec.SyslogTime.IsZero() || !reflect.DeepEqual(rec.Extensions, []KV{{"d", "4"}}) {
		t.Fatalf("stale record: %+v", rec)
	}
	if cap(rec.Extensions) < 3 {
		t.Fatalf("Extensions storage not reused")
	}
}

func TestCopyLine(t *testing.T) {
	line := []byte("CEF:0|V|P|1|2|N|3|src=10.1.2.3")
	p := Parser{CopyLine: true}
	var rec Record
	if err := p.Parse(line, &rec); err != nil {
		t.Fatal(err)
	}
	copy(line, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXX")
	if rec.DeviceVendor != "V" || ext(t, &rec, "src") != "10.1.2.3" {
		t.Fatalf("CopyLine result changed with the buffer: %+v", rec)
	}
}
