package cef

import (
	"encoding/csv"
	"os"
	"testing"
	"time"

	"timap/engine"
)

var testNow = time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)

func decode(t *testing.T, line string, need engine.ColumnSet) *engine.Event {
	t.Helper()
	p := Parser{Now: testNow}
	ev := new(engine.Event)
	ev.Reset(Table)
	if err := p.Decode([]byte(line), ev, need); err != nil {
		t.Fatalf("Decode(%q): %v", line, err)
	}
	return ev
}

func wantColumns(t *testing.T, ev *engine.Event, want map[string]string) {
	t.Helper()
	for col, v := range want {
		got, ok := ev.Get(col)
		if v == "" {
			if ok {
				t.Errorf("%s = %q, want unset", col, got)
			}
			continue
		}
		if got != v {
			t.Errorf("%s = %q, want %q", col, got, v)
		}
	}
}

func TestDecodePinned(t *testing.T) {
	ev := decode(t, `<134>1 2021-04-07T04:40:00Z fw01 CEF - - - CEF:0|Ven\|dor|Prod|1.2|42|Bad \\ thing|8|src=10.1.2.3 dst=203.0.113.9 fileHash=44D88612FEA8A8F36DE82E1278ABB02F msg=a \= b\nc rt=1617770662000 duid=alice@example.com request=http://evil.example/x?a=1 custom=kept start=1617770662000`, nil)
	wantColumns(t, ev, map[string]string{
		"DeviceVendor":         "Ven|dor",
		"DeviceProduct":        "Prod",
		"DeviceVersion":        "1.2",
		"DeviceEventClassID":   "42",
		"Activity":             `Bad \ thing`,
		"LogSeverity":          "8",
		"SourceIP":             "10.1.2.3",
		"DestinationIP":        "203.0.113.9",
		"FileHash":             "44D88612FEA8A8F36DE82E1278ABB02F", // as-is: normalised elsewhere
		"Message":              "a = b\nc",
		"ReceiptTime":          "1617770662000",
		"DestinationUserID":    "alice@example.com",
		"RequestURL":           "http://evil.example/x?a=1",
		"Computer":             "fw01",
		"CollectorHostName":    "fw01",
		"SourceSystem":         "OpsManager",
		"AdditionalExtensions": "custom=kept;start=1617770662000",
		"StartTime":            "",
	})
	if want := time.Date(2021, 4, 7, 4, 44, 22, 0, time.UTC); !ev.TimeGenerated.Equal(want) {
		t.Errorf("TimeGenerated = %v, want %v (from rt)", ev.TimeGenerated, want)
	}
	if ev.Table != Table || ev.Origin != "" {
		t.Errorf("Table %q Origin %q", ev.Table, ev.Origin)
	}
}

func TestDecodeFullNames(t *testing.T) {
	ev := decode(t, "CEF:0|V|P|1|2|N|3|sourceAddress=1.1.1.1 destinationAddress=2.2.2.2 requestUrl=http://x/ sourceUserName=bob destinationPort=443 deviceExternalID=fw-1 transportProtocol=TCP bytesIn=10", nil)
	wantColumns(t, ev, map[string]string{
		"SourceIP": "1.1.1.1", "DestinationIP": "2.2.2.2", "RequestURL": "http://x/",
		"SourceUserName": "bob", "DestinationPort": "443", "DeviceExternalID": "fw-1",
		"Protocol": "TCP", "ReceivedBytes": "10", "AdditionalExtensions": "",
	})
}

func TestDecodeLegacyInt32Columns(t *testing.T) {
	ev := decode(t, "CEF:0|V|P|1|2|N|3|externalId=123 cn1=-5 cn2=3000000000 cn2Label=big cn3=x", nil)
	wantColumns(t, ev, map[string]string{
		"ExtID": "123", "ExternalID": "123",
		"FieldDeviceCustomNumber1": "-5", "DeviceCustomNumber1": "-5",
		"FieldDeviceCustomNumber2": "3000000000", "DeviceCustomNumber2": "", // overflows Int32
		"DeviceCustomNumber2Label": "big",
		"FieldDeviceCustomNumber3": "x", "DeviceCustomNumber3": "",
	})
}

func TestDecodeNeed(t *testing.T) {
	need := engine.ColumnSet{"SourceIP": {}, "RequestURL": {}}
	ev := decode(t, "<13>Jan  2 03:04:05 h CEF:0|V|P|1|2|N|3|src=1.1.1.1 dst=2.2.2.2 foo=bar", need)
	if f := ev.Fields(); len(f) != 1 || f[0] != (engine.Field{Column: "SourceIP", Value: "1.1.1.1"}) {
		t.Fatalf("fields = %+v", f)
	}
	// Without rt, TimeGenerated is the syslog time.
	if want := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC); !ev.TimeGenerated.Equal(want) {
		t.Errorf("TimeGenerated = %v, want %v", ev.TimeGenerated, want)
	}
	// Without rt and syslog time, TimeGenerated is Now.
	ev = decode(t, "CEF:0|V|P|1|2|N|3|rt=garbage", need)
	if !ev.TimeGenerated.Equal(testNow) {
		t.Errorf("TimeGenerated = %v, want Now", ev.TimeGenerated)
	}
}

func TestDecodeAdditionalExtensions(t *testing.T) {
	// Sentinel's format (solarigate_CEFevent.csv): key=value pairs in line
	// order joined by ';'; mapped keys and empty values are left out.
	need := engine.ColumnSet{"AdditionalExtensions": {}}
	ev := decode(t, "CEF:0|V|P|1|2|N|3|cat=COMMAND & CONTROL src=1.2.3.4 start=1617770662000 empty= end=1617772463000", need)
	// cat has had its own column since 2023.
	wantColumns(t, ev, map[string]string{"AdditionalExtensions": "start=1617770662000;end=1617772463000"})
	if len(ev.Fields()) != 1 {
		t.Fatalf("fields = %+v", ev.Fields())
	}
}

func TestDecodeError(t *testing.T) {
	var p Parser
	var ev engine.Event
	ev.Reset(Table)
	if err := p.Decode([]byte("not cef"), &ev, nil); err == nil {
		t.Fatal("want error")
	}
}

// TestMappingColumnsExist checks every column Decode can set against the
// CommonSecurityLog schema (testdata/CommonSecurityLog_Schema.csv, from
// Azure/Azure-Sentinel).
func TestMappingColumnsExist(t *testing.T) {
	f, err := os.Open("testdata/CommonSecurityLog_Schema.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	schema := map[string]bool{}
	for _, r := range rows[1:] {
		schema[r[0]] = true
	}
	cols := []string{"DeviceVendor", "DeviceProduct", "DeviceVersion", "DeviceEventClassID", "Activity",
		"LogSeverity", "Computer", "CollectorHostName", "SourceSystem", "AdditionalExtensions", "TimeGenerated"}
	for _, c := range columnOf {
		cols = append(cols, c)
	}
	for _, c := range int32Column {
		cols = append(cols, c)
	}
	for _, c := range cols {
		if !schema[c] {
			t.Errorf("column %q is not in the CommonSecurityLog schema", c)
		}
	}
	for k := range int32Column {
		if _, ok := columnOf[k]; !ok {
			t.Errorf("int32Column key %q missing from columnOf", k)
		}
	}
}

func TestFitsInt32(t *testing.T) {
	for v, want := range map[string]bool{"0": true, "2147483647": true, "2147483648": false, "-2147483648": true,
		"-2147483649": false, "": false, "-": false, "1x": false, "99999999999": false, "+7": true} {
		if fitsInt32(v) != want {
			t.Errorf("fitsInt32(%q) != %v", v, want)
		}
	}
}
