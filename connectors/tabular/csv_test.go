package tabular

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"timap/engine"
)

// TestSolarigateCSV reads the CommonSecurityLog row exported from Log
// Analytics in Azure-Sentinel's training lab (testdata/PROVENANCE.md).
func TestSolarigateCSV(t *testing.T) {
	f, err := os.Open("testdata/solarigate_CEFevent.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := NewCSVReader(f, "Unknown")
	var ev engine.Event
	if err := r.Next(&ev, nil); err != nil {
		t.Fatal(err)
	}
	if ev.Table != "CommonSecurityLog" {
		t.Errorf("Table = %q, want CommonSecurityLog (from the Type column)", ev.Table)
	}
	if r.Line() != 2 {
		t.Errorf("Line = %d, want 2", r.Line())
	}
	for col, want := range map[string]string{
		"SourceIP":             "17.81.146.1",
		"DestinationIP":        "15.230.137.45",
		"DeviceVendor":         "Vectra Networks",
		"DeviceProduct":        "X Series",
		"DestinationPort":      "443",
		"DeviceAddress":        "192.168.52.37",
		"DestinationHostName":  "07605jn8l36uranbtvef0b12eu1.appsync-api.us-east-1.avsvmcloud.com",
		"AdditionalExtensions": "cat=COMMAND & CONTROL;start=1617770662000;end=1617772463000",
		"DeviceCustomString4":  `https://x29-1-37.sc.tvec/detections/54?detail_id\=322`,
		"RequestURL":           "", // empty in the export: not set
		"Type":                 "", // goes to ev.Table
		"StartTime":            "", // "StartTime [UTC]", empty
	} {
		got, ok := ev.Get(col)
		if want == "" && ok {
			t.Errorf("%s = %q, want unset", col, got)
		} else if got != want {
			t.Errorf("%s = %q, want %q", col, got, want)
		}
	}
	if !contains(r.Columns(), "StartTime") {
		t.Errorf("header %q lacks StartTime (from \"StartTime [UTC]\")", r.Columns())
	}
	if err := r.Next(&ev, nil); err != io.EOF {
		t.Errorf("second Next = %v, want io.EOF", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestCSVNeedTypeAndTime(t *testing.T) {
	in := "\ufeffTimeGenerated [UTC],Type,SourceIP,Computer,Msg\n" +
		"2021-04-07T04:44:22.1234567Z,,10.0.0.1,host1,\"multi\nline, quoted\"\n" +
		"\"4/7/2021, 4:44:22.000 AM\",DnsEvents,10.0.0.2,host2,x\n"
	r := NewCSVReader(strings.NewReader(in), "CommonSecurityLog")
	need := engine.ColumnSet{"SourceIP": {}, "Msg": {}}
	var ev engine.Event
	if err := r.Next(&ev, need); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2021, 4, 7, 4, 44, 22, 123456700, time.UTC); !ev.TimeGenerated.Equal(want) || ev.Table != "CommonSecurityLog" {
		t.Errorf("row 1: %v %q", ev.TimeGenerated, ev.Table)
	}
	if len(ev.Fields()) != 2 || ev.Value("Msg") != "multi\nline, quoted" || ev.Value("Computer") != "" {
		t.Errorf("row 1 fields %+v", ev.Fields())
	}
	if err := r.Next(&ev, need); err != nil {
		t.Fatal(err)
	}
	if r.Line() != 4 {
		t.Errorf("Line = %d, want 4 (row 1 spans lines 2-3)", r.Line())
	}
	if want := time.Date(2021, 4, 7, 4, 44, 22, 0, time.UTC); !ev.TimeGenerated.Equal(want) || ev.Table != "DnsEvents" || ev.Value("SourceIP") != "10.0.0.2" {
		t.Errorf("row 2: %v %q %+v", ev.TimeGenerated, ev.Table, ev.Fields())
	}
}

func TestCSVErrors(t *testing.T) {
	tests := []struct {
		in   string
		line int
		msg  string
	}{
		{"a,b\n1,2\n3\n", 3, "bad CSV"},
		{"TimeGenerated,a\n2021-04-07T04:44:22Z,1\nyesterday,2\n", 3, "bad TimeGenerated"},
		{"a,b\n\"1,2\n", 2, "bad CSV"},
	}
	for _, tt := range tests {
		r := NewCSVReader(strings.NewReader(tt.in), "T")
		var ev engine.Event
		var err error
		for err == nil {
			err = r.Next(&ev, nil)
		}
		var te *Error
		if !errors.As(err, &te) || te.Line != tt.line || te.Msg != tt.msg {
			t.Errorf("%q: err = %v, want line %d %q", tt.in, err, tt.line, tt.msg)
		}
	}
	r := NewCSVReader(strings.NewReader(""), "T")
	if err := r.Next(new(engine.Event), nil); err != io.EOF {
		t.Errorf("empty input: %v, want io.EOF", err)
	}
}
