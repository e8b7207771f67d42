package cef

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	"timap/engine"
)

// benchLines returns 20 varied real lines from the copied fixtures: F5 ASM,
// OSSEC, ArcSight Logger, Unix connector, Fortinet, Trend Micro, Imperva,
// Kaspersky, log2timeline; with and without syslog headers (RFC 3164 and
// 5424), escapes, and spaces in values.
func benchLines(tb testing.TB) []string {
	var lines []string
	for _, f := range []string{
		"arcsight-f5-asm-certified-cef-onfiguration-guide_page10_example1.json",
		"arcsight-f5-asm-certified-cef-onfiguration-guide_page7_example2.json",
		"cef_with_syslog_header_2.json",
		"cef_with_unescaped_msg.json",
		"cef_without_msg.json",
		"ext_custom_labels_with_full_names.json",
		"ext_standard_integer.json",
		"issue_19_comment_330900410.json",
		"issue_23_comment_343792271.json",
		"issue_7_comment_331396550.json",
		"ossec_example1_rootshell_be.json",
		"sans_log2timeline_page58.json",
		"spaced_values.json",
		"v24_escaped_multi_line.json",
	} {
		var fx struct{ TestString string }
		readJSONC(tb, "testdata/graylog-plugin-cef/"+f, &fx)
		lines = append(lines, fx.TestString)
	}
	f, err := os.Open("testdata/jc/cef.out")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		switch n { // Fortinet, Trend Micro (hash), Incapsula, Kaspersky, RFC 5424, Aruba
		case 1, 4, 11, 15, 17, 19:
			lines = append(lines, sc.Text())
		}
	}
	if len(lines) != 20 {
		tb.Fatalf("%d bench lines, want 20", len(lines))
	}
	return lines
}

// tiColumns is what the TI-map rules read from CommonSecurityLog.
var tiColumns = engine.ColumnSet{
	"SourceIP": {}, "DestinationIP": {}, "DeviceAddress": {}, "RequestURL": {}, "FileHash": {},
	"DestinationHostName": {}, "SourceHostName": {}, "DestinationUserID": {}, "SourceUserID": {},
	"DeviceVendor": {}, "DeviceProduct": {}, "DeviceAction": {}, "Activity": {}, "Message": {},
}

// hasEscape reports whether line holds an escape Parse must resolve, which
// costs an allocation.
func hasEscape(line string) bool {
	for _, e := range []string{`\\`, `\=`, `\n`, `\r`, `\|`} {
		if strings.Contains(line, e) {
			return true
		}
	}
	return false
}

func BenchmarkDecode(b *testing.B) {
	all := benchLines(b)
	var plain []string
	for _, l := range all {
		if !hasEscape(l) {
			plain = append(plain, l)
		}
	}
	run := func(name string, lines []string, need engine.ColumnSet) {
		b.Run(name, func(b *testing.B) {
			bufs := make([][]byte, len(lines))
			size := 0
			for i, l := range lines {
				bufs[i] = []byte(l)
				size += len(l)
			}
			p := Parser{Now: time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)}
			var ev engine.Event
			b.SetBytes(int64(size / len(lines)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ev.Reset(Table)
				if err := p.Decode(bufs[i%len(bufs)], &ev, need); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	run("ti-columns/no-escape", plain, tiColumns)
	run("ti-columns/all", all, tiColumns)
	run("all-columns/all", all, nil)
}

// TestDecodeNoAllocs pins the zero-allocation property the benchmark
// measures: no escapes, AdditionalExtensions not needed.
func TestDecodeNoAllocs(t *testing.T) {
	var lines [][]byte
	for _, l := range benchLines(t) {
		if !hasEscape(l) {
			lines = append(lines, []byte(l))
		}
	}
	if len(lines) < 15 {
		t.Fatalf("only %d lines without escapes", len(lines))
	}
	p := Parser{Now: time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)}
	var ev engine.Event
	for _, l := range lines { // warm up storage
		ev.Reset(Table)
		_ = p.Decode(l, &ev, tiColumns)
	}
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		ev.Reset(Table)
		if err := p.Decode(lines[i%len(lines)], &ev, tiColumns); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("Decode allocates %.1f times per line, want 0", allocs)
	}
}
