package tabular

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"timap/engine"
)

func TestDecodeJSON(t *testing.T) {
	line := []byte(`{"TimeGenerated":"2021-04-07T04:44:22.1234567Z","Type":"CommonSecurityLog",` +
		`"SourceIP":"10.1.2.3","DestinationPort":443,"Ratio":-1.5e3,"Flag":true,"Off":false,"Gone":null,` +
		`"Empty":"","Esc":"a\"b\\c\/d\n\u00e9\ud83d\ude00","Nested":{ "a" : [1, 2, {"b":null}] },"Arr":[ ],` +
		`"StartTime [UTC]":"2021-04-07T04:44:22Z"}`)
	var ev engine.Event
	ev.Reset("Unknown")
	if err := DecodeJSON(line, &ev, nil); err != nil {
		t.Fatal(err)
	}
	if ev.Table != "CommonSecurityLog" {
		t.Errorf("Table = %q", ev.Table)
	}
	if want := time.Date(2021, 4, 7, 4, 44, 22, 123456700, time.UTC); !ev.TimeGenerated.Equal(want) {
		t.Errorf("TimeGenerated = %v", ev.TimeGenerated)
	}
	want := []engine.Field{
		{Column: "SourceIP", Value: "10.1.2.3"},
		{Column: "DestinationPort", Value: "443"},
		{Column: "Ratio", Value: "-1.5e3"},
		{Column: "Flag", Value: "true"},
		{Column: "Off", Value: "false"},
		{Column: "Esc", Value: "a\"b\\c/d\né😀"},
		{Column: "Nested", Value: `{"a":[1,2,{"b":null}]}`},
		{Column: "Arr", Value: `[]`},
		{Column: "StartTime", Value: "2021-04-07T04:44:22Z"},
	}
	got := ev.Fields()
	if len(got) != len(want) {
		t.Fatalf("fields %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d = %q, want %q", i, got[i], want[i])
		}
	}
	// Values are copies: reusing the line buffer does not change them.
	copy(line, bytes.Repeat([]byte("x"), len(line)))
	if ev.Value("SourceIP") != "10.1.2.3" {
		t.Errorf("value aliases the line buffer")
	}
}

func TestDecodeJSONNeed(t *testing.T) {
	var ev engine.Event
	ev.Reset("DnsEvents")
	if err := DecodeJSON([]byte(` {"Name":"evil.example","ClientIP":"10.0.0.1","QueryType":1} `), &ev, engine.ColumnSet{"Name": {}}); err != nil {
		t.Fatal(err)
	}
	if f := ev.Fields(); len(f) != 1 || ev.Value("Name") != "evil.example" || ev.Table != "DnsEvents" {
		t.Errorf("fields %+v table %q", f, ev.Table)
	}
}

func TestDecodeJSONErrors(t *testing.T) {
	tests := []struct {
		in     string
		offset int
		msg    string
	}{
		{``, 0, "want a JSON object"},
		{`[1]`, 0, "want a JSON object"},
		{`{"a":1,}`, 7, "want a string key"},
		{`{"a" 1}`, 5, "want ':'"},
		{`{"a":01}`, 6, "want ',' or '}'"},
		{`{"a":tru}`, 5, "want a value"},
		{`{"a":"x} `, 9, "bad string"},
		{`{"a":"\x"}`, 8, "bad string"},
		{`{"a":1} x`, 8, "text after the object"},
		{`{"a":[1,`, 8, "unterminated object or array"},
		{`{"a":[1,}`, 5, "bad nested value"},
		{`{"a":[1,]}`, 5, "bad nested value"},
		{`{"TimeGenerated":"yesterday"}`, 17, "bad TimeGenerated"},
		{`{"":1}`, 1, "empty column name"},
	}
	for _, tt := range tests {
		var ev engine.Event
		err := DecodeJSON([]byte(tt.in), &ev, nil)
		var te *Error
		if !errors.As(err, &te) || te.Offset != tt.offset || te.Msg != tt.msg {
			t.Errorf("%q: err = %v, want offset %d %q", tt.in, err, tt.offset, tt.msg)
		}
	}
}

// FuzzDecodeJSON compares DecodeJSON with encoding/json: it must accept
// exactly the valid JSON objects (bar TimeGenerated and column-name
// checks) and produce the same text for every value.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":"b"}`, `{"a":1.5e-3,"b":[true,{"c":null}],"d":"\u00e9\ud800"}`,
		`{"TimeGenerated":"2021-04-07T04:44:22Z","Type":"X"}`, `{"a":"b",}`, ` [ ] `, `{"a":-0}`,
	} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile("testdata/solarigate_CEFevent.csv"); err == nil {
		f.Add(b)
	}
	alias := Decoder{Alias: true}
	f.Fuzz(func(t *testing.T, line []byte) {
		var ev engine.Event
		err := DecodeJSON(line, &ev, nil)
		// Aliasing the line changes where values live, never what they are.
		var aev engine.Event
		aerr := alias.Decode(line, &aev, nil, "", 0)
		if (err == nil) != (aerr == nil) || !slices.Equal(ev.Fields(), aev.Fields()) || ev.Table != aev.Table {
			t.Fatalf("%q: Alias decodes differently: %v %v / %v %v", line, ev.Fields(), err, aev.Fields(), aerr)
		}
		var raw map[string]json.RawMessage
		stdErr := json.Unmarshal(line, &raw)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) || te.Offset < 0 || te.Offset > len(line) {
				t.Fatalf("error %v is not an *Error within the line", err)
			}
			if stdErr == nil && raw != nil && te.Msg != "bad TimeGenerated" && te.Msg != "empty column name" {
				t.Fatalf("rejected valid JSON %q: %v", line, err)
			}
			return
		}
		if stdErr != nil || raw == nil {
			t.Fatalf("accepted invalid JSON object %q (encoding/json: %v)", line, stdErr)
		}
		if !utf8.Valid(line) {
			return // encoding/json replaces invalid UTF-8; we keep the bytes
		}
		names := map[string]int{} // raw keys per column name
		for k := range raw {
			names[columnName(k)]++
		}
		for k, v := range raw {
			if columnName(k) != k || k == "Type" || k == "TimeGenerated" || names[k] > 1 {
				continue // renamed, special, or two keys for one column (" a" and "a")
			}
			var want string
			switch v[0] {
			case '"':
				_ = json.Unmarshal(v, &want)
			case '{', '[':
				var b bytes.Buffer
				_ = json.Compact(&b, v)
				want = b.String()
			case 'n':
				want = ""
			default:
				want = string(v)
			}
			if got := ev.Value(k); got != want && !strings.ContainsRune(want, utf8.RuneError) {
				t.Fatalf("%q: %s = %q, encoding/json %q", line, k, got, want)
			}
		}
	})
}

// TestDecodeAlias: with Alias, values point into the line and the
// decoder's arena; they are right until the line is reused, and table
// names are interned so they outlive it.
func TestDecodeAlias(t *testing.T) {
	d := Decoder{Alias: true}
	line := []byte(`{"Type":"DnsEvents","Name":"a\u00e9b.example","Plain":"x","N":12,"Dyn":{"k": [1, 2]}}`)
	var ev engine.Event
	ev.Reset("CommonSecurityLog")
	if err := d.Decode(line, &ev, nil, "", 0); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Name": "aéb.example", "Plain": "x", "N": "12", "Dyn": `{"k":[1,2]}`}
	for col, v := range want {
		if got := ev.Value(col); got != v {
			t.Errorf("%s = %q, want %q", col, got, v)
		}
	}
	table := ev.Table
	c := ev.Clone()
	copy(line, bytes.Repeat([]byte{'#'}, len(line))) // the caller reuses its buffer
	if table != "DnsEvents" {
		t.Errorf("table %q after the line was reused: not interned", table)
	}
	if c.Value("Plain") != "x" || c.Value("Name") != "aéb.example" {
		t.Errorf("clone changed with the line: %q %q", c.Value("Plain"), c.Value("Name"))
	}
	// The arena is reused by the next line.
	var ev2 engine.Event
	if err := d.Decode([]byte(`{"Name":"\u0041"}`), &ev2, nil, "", 0); err != nil || ev2.Value("Name") != "A" {
		t.Errorf("second line: %q, %v", ev2.Value("Name"), err)
	}
}
