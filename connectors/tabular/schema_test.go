package tabular

import (
	"slices"
	"strings"
	"testing"
	"time"

	"timap/engine"
)

func TestConvert(t *testing.T) {
	cases := []struct {
		typ     engine.ColumnType
		in, out string
		ok      bool
	}{
		{engine.ColumnInt, "4624", "4624", true},
		{engine.ColumnInt, "+7", "7", true},
		{engine.ColumnInt, "007", "7", true},
		{engine.ColumnInt, "7.0", "7", true},
		{engine.ColumnInt, " 12 ", "12", true},
		{engine.ColumnInt, "-0", "0", true},
		{engine.ColumnInt, "0", "0", true},
		{engine.ColumnInt, "-15", "-15", true},
		{engine.ColumnInt, "7.5", "", false},
		{engine.ColumnInt, "abc", "", false},
		{engine.ColumnInt, "3000000000", "", false}, // beyond int32
		{engine.ColumnLong, "3000000000", "3000000000", true},
		{engine.ColumnReal, "1.5", "1.5", true},
		{engine.ColumnReal, "1e3", "1e3", true},
		{engine.ColumnReal, "one", "", false},
		{engine.ColumnBool, "True", "true", true},
		{engine.ColumnBool, "FALSE", "false", true},
		{engine.ColumnBool, "1", "true", true},
		{engine.ColumnBool, "0", "false", true},
		{engine.ColumnBool, "yes", "", false},
		{engine.ColumnDatetime, "2024-01-15T10:00:00.1234567Z", "2024-01-15T10:00:00.1234567Z", true},
		{engine.ColumnDatetime, "1/15/2024, 10:00:00.000 AM", "2024-01-15T10:00:00Z", true},
		{engine.ColumnDatetime, "2024-01-15 10:00:00", "2024-01-15T10:00:00Z", true},
		{engine.ColumnDatetime, "2024-01-15T12:00:00+02:00", "2024-01-15T10:00:00Z", true},
		{engine.ColumnDatetime, "yesterday", "", false},
		{engine.ColumnGuid, "4C8A1E2B-0D3F-4A5B-9C6D-7E8F9A0B1C2D", "4C8A1E2B-0D3F-4A5B-9C6D-7E8F9A0B1C2D", true},
		{engine.ColumnGuid, "4c8a1e2b0d3f4a5b9c6d7e8f9a0b1c2d", "", false},
		{engine.ColumnDynamic, `{"a":1}`, `{"a":1}`, true},
		{engine.ColumnString, " as is ", " as is ", true},
		{0, "untyped", "untyped", true},
	}
	for _, c := range cases {
		out, ok := convert(c.typ, c.in)
		if out != c.out || ok != c.ok {
			t.Errorf("convert(%s, %q) = %q, %v; want %q, %v", c.typ, c.in, out, ok, c.out, c.ok)
		}
	}
}

// testSchemas is a cut of the DnsEvents schema and a custom table.
func testSchemas() engine.Schemas {
	dns := &engine.TableSchema{Name: "DnsEvents", Columns: map[string]engine.ColumnType{
		"TimeGenerated": engine.ColumnDatetime, "Type": engine.ColumnString, "Name": engine.ColumnString,
		"SubType": engine.ColumnString, "EventId": engine.ColumnInt, "IPAddresses": engine.ColumnString,
	}}
	dns.Fold()
	cl := &engine.TableSchema{Name: "Duo_CL", Columns: map[string]engine.ColumnType{
		"TimeGenerated": engine.ColumnDatetime, "Type": engine.ColumnString, "ok_b": engine.ColumnBool,
	}}
	cl.Fold()
	return engine.Schemas{"DnsEvents": dns, "Duo_CL": cl}
}

func TestDecodeWithSchema(t *testing.T) {
	var rep Report
	var first []string
	d := Decoder{Schema: Schema{Schemas: testSchemas(), Report: &rep, OnFirst: func(is Issue) { first = append(first, is.Kind.String()) }}}
	lines := []string{
		// Type last: names are resolved once the table is known.
		`{"timegenerated":"2026-11-30T10:00:00Z","name":"evil.example.com","EventId":"x12","Foo":"bar","Type":"DnsEvents"}`,
		`{"TimeGenerated":"2026-11-30T10:00:01Z","Type":"DnsEvents","Name":"ok.example.org","EventId":260.0,"Foo":"baz"}`,
		`{"TimeGenerated":"2026-11-30T10:00:02Z","Type":"Other","X":"1"}`,
		`{"TimeGenerated":"2026-11-30T10:00:03Z","Type":"Duo_CL","ok_b":"True"}`,
	}
	var evs []engine.Event
	for i, l := range lines {
		var ev engine.Event
		ev.Reset("CommonSecurityLog")
		if err := d.Decode([]byte(l), &ev, nil, "rows.ndjson", int64(i+1)); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		evs = append(evs, ev)
	}
	check := func(i int, col, want string) {
		t.Helper()
		if got := evs[i].Value(col); got != want {
			t.Errorf("row %d %s = %q, want %q", i+1, col, got, want)
		}
	}
	if want := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC); !evs[0].TimeGenerated.Equal(want) {
		t.Errorf("row 1 TimeGenerated %v, want %v (timegenerated renamed)", evs[0].TimeGenerated, want)
	}
	check(0, "Name", "evil.example.com")
	check(0, "EventId", "") // "x12" is no int: left empty
	check(0, "Foo", "bar")
	check(1, "EventId", "260")
	check(2, "X", "1")
	check(3, "ok_b", "true")

	var got []string
	for _, is := range rep.Issues() {
		got = append(got, is.String())
	}
	want := []string{
		`rows.ndjson:1: DnsEvents.Foo: not a column of the table's schema; kept as text (2 rows)`,
		`rows.ndjson:1: DnsEvents.EventId: "x12" is not an int; column left empty (1 row)`,
		`rows.ndjson:1: DnsEvents.name: read as Name (column names are case-sensitive) (1 row)`,
		`rows.ndjson:1: DnsEvents.timegenerated: read as TimeGenerated (column names are case-sensitive) (1 row)`,
		`rows.ndjson:3: Other: no schema for this table; columns read as written (1 row)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("issues:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rep.Total() != 6 {
		t.Errorf("total %d, want 6", rep.Total())
	}
	if len(first) != 5 {
		t.Errorf("OnFirst called %d times (%v), want once per kind of finding: 5", len(first), first)
	}
}

func TestDecodeWithoutSchema(t *testing.T) {
	var d Decoder
	var ev engine.Event
	ev.Reset("CommonSecurityLog")
	if err := d.Decode([]byte(`{"name":"x","EventId":"x12","Type":"DnsEvents"}`), &ev, nil, "", 0); err != nil {
		t.Fatal(err)
	}
	if ev.Value("name") != "x" || ev.Value("EventId") != "x12" || ev.Table != "DnsEvents" {
		t.Errorf("untyped row changed: name=%q EventId=%q table=%q", ev.Value("name"), ev.Value("EventId"), ev.Table)
	}
}

func TestCSVWithSchema(t *testing.T) {
	in := "timegenerated [UTC],Type,name,EventId,Bad\n" +
		"\"11/30/2026, 10:00:00.000 AM\",DnsEvents,evil.example.com,+3,x\n" +
		"\"11/30/2026, 10:00:01.000 AM\",DnsEvents,ok.example.org,nope,y\n"
	var rep Report
	c := NewCSVReader(strings.NewReader(in), "DnsEvents")
	c.Schema = Schema{Schemas: testSchemas(), Report: &rep}
	c.Origin = "dns.csv"
	var evs []engine.Event
	for {
		var ev engine.Event
		if err := c.Next(&ev, nil); err != nil {
			break
		}
		evs = append(evs, ev)
	}
	if len(evs) != 2 {
		t.Fatalf("%d rows, want 2", len(evs))
	}
	if evs[0].Value("Name") != "evil.example.com" || evs[0].Value("EventId") != "3" || evs[1].Value("EventId") != "" {
		t.Errorf("rows: Name=%q EventId=%q, %q", evs[0].Value("Name"), evs[0].Value("EventId"), evs[1].Value("EventId"))
	}
	if !evs[0].TimeGenerated.Equal(time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("TimeGenerated %v", evs[0].TimeGenerated)
	}
	var got []string
	for _, is := range rep.Issues() {
		got = append(got, is.String())
	}
	want := []string{
		`dns.csv:2: DnsEvents.Bad: not a column of the table's schema; kept as text (2 rows)`,
		`dns.csv:2: DnsEvents.name: read as Name (column names are case-sensitive) (2 rows)`,
		`dns.csv:2: DnsEvents.timegenerated: read as TimeGenerated (column names are case-sensitive) (2 rows)`,
		`dns.csv:3: DnsEvents.EventId: "nope" is not an int; column left empty (1 row)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("issues:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// BenchmarkDecode decodes a DnsEvents row as Log Analytics exports it,
// untyped and typed by the schema.
func BenchmarkDecode(b *testing.B) {
	line := []byte(`{"TenantId":"4c8a1e2b-0d3f-4a5b-9c6d-7e8f9a0b1c2d","TimeGenerated":"2026-11-30T10:00:00.1234567Z","Computer":"dc01.contoso.com","EventId":256,"SubType":"LookupQuery","ClientIP":"10.0.0.5","Name":"evil.example.com","QueryType":"A","IPAddresses":"203.0.113.7, 203.0.113.8","Type":"DnsEvents"}`)
	for _, name := range []string{"untyped", "schema", "schema+alias"} {
		var d Decoder
		d.Alias = name == "schema+alias"
		if name != "untyped" {
			sch := testSchemas()
			for _, c := range []string{"TenantId", "Computer", "ClientIP", "QueryType"} {
				sch["DnsEvents"].Columns[c] = engine.ColumnString
			}
			sch["DnsEvents"].Fold()
			d.Schema = Schema{Schemas: sch, Report: &Report{}}
		}
		b.Run(name, func(b *testing.B) {
			var ev engine.Event
			b.ReportAllocs()
			for b.Loop() {
				ev.Reset("CommonSecurityLog")
				if err := d.Decode(line, &ev, nil, "", 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestDecodeAliasSchema: cached column names must not point into a line
// the caller reuses (the cache once kept the first line's "TimeGenerated",
// so later rows whose keys sat elsewhere in the buffer lost their time).
func TestDecodeAliasSchema(t *testing.T) {
	d := Decoder{Alias: true, Schema: Schema{Schemas: testSchemas(), Report: &Report{}}}
	lines := []string{
		`{"TimeGenerated":"2026-11-30T09:46:40Z","Type":"DnsEvents","name":"a.example"}`,
		`{"Type":"DnsEvents","name":"b.example","TimeGenerated":"2026-11-30T09:50:00Z"}`,
	}
	times := []time.Time{time.Date(2026, 11, 30, 9, 46, 40, 0, time.UTC), time.Date(2026, 11, 30, 9, 50, 0, 0, time.UTC)}
	buf := make([]byte, 0, 256) // one buffer, as a line reader reuses its own
	for i, l := range lines {
		buf = append(buf[:0], l...)
		var ev engine.Event
		ev.Reset("CommonSecurityLog")
		if err := d.Decode(buf, &ev, nil, "", int64(i+1)); err != nil {
			t.Fatal(err)
		}
		if name := []string{"a.example", "b.example"}[i]; !ev.TimeGenerated.Equal(times[i]) || ev.Value("Name") != name {
			t.Errorf("row %d: TimeGenerated %v Name %q, want %v %s", i+1, ev.TimeGenerated, ev.Value("Name"), times[i], name)
		}
	}
}

// TestDecodeTableCase: with schemas a lower-cased "type" key (or CSV
// header) still names the table, and a table name in another case is read
// as the schema's table; values of columns no rule reads are checked too.
func TestDecodeTableCase(t *testing.T) {
	var rep Report
	d := Decoder{Schema: Schema{Schemas: testSchemas(), Report: &rep}}
	need := engine.ColumnSet{"Name": {}}
	for i, c := range []struct{ line, table, name string }{
		{`{"type":"dnsevents","name":"evil.example.com","EventId":"abc"}`, "DnsEvents", "evil.example.com"},
		{`{"type":"Other","Type":"DnsEvents","Name":"b.example"}`, "DnsEvents", "b.example"}, // the exact key wins
	} {
		var ev engine.Event
		ev.Reset("CommonSecurityLog")
		if err := d.Decode([]byte(c.line), &ev, need, "t.ndjson", int64(i+1)); err != nil {
			t.Fatal(err)
		}
		if ev.Table != c.table || ev.Value("Name") != c.name || ev.Value("EventId") != "" {
			t.Errorf("line %d: table %q Name %q EventId %q", i+1, ev.Table, ev.Value("Name"), ev.Value("EventId"))
		}
	}
	var got []string
	for _, is := range rep.Issues() {
		got = append(got, is.String())
	}
	want := []string{
		`t.ndjson:1: DnsEvents.type: read as Type (column names are case-sensitive) (2 rows)`,
		`t.ndjson:1: DnsEvents.EventId: "abc" is not an int; column left empty (1 row)`,
		`t.ndjson:1: DnsEvents.name: read as Name (column names are case-sensitive) (1 row)`,
		`t.ndjson:1: dnsevents: read as table DnsEvents (table names are case-sensitive) (1 row)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("issues:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	rep = Report{}
	c := NewCSVReader(strings.NewReader("type,Name,EventId\ndnsevents,evil.example.com,x\n"), "CommonSecurityLog")
	c.Schema, c.Origin = Schema{Schemas: testSchemas(), Report: &rep}, "d.csv"
	var ev engine.Event
	if err := c.Next(&ev, need); err != nil {
		t.Fatal(err)
	}
	if ev.Table != "DnsEvents" || ev.Value("Name") != "evil.example.com" || rep.Total() != 3 {
		t.Errorf("CSV: table %q Name %q, %d findings %v", ev.Table, ev.Value("Name"), rep.Total(), rep.Issues())
	}
}
