package cef

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"timap/engine"
)

// fuzzSeeds returns every fixture line available: the copied Graylog,
// netty and jc fixtures, plus the shared-data ones when present.
func fuzzSeeds(f *testing.F) []string {
	seeds := []string{
		"",
		"CEF:",
		"CEF:0|",
		`CEF:0|V\|x|P\\|1|2|N|3|a=\=\\\n\r\| b= c=d\`,
		"<189>1 2021-06-18T10:55:50.000003Z host app - - - CEF:0|V|P|1|2|N|3|rt=1617770662000",
		"<13>Feb 29 23:59:60.123456789 h CEF:1|V|P|1|2|N|3|rt=Feb 29 2024 23:59:60.5 GMT+23:59",
		"Dec 03 2017 16:31:28.861 IST 10.17.4.208 CEF: 0 |V|P|1|2|N|3|\n x=1\n",
	}
	files, _ := filepath.Glob("testdata/graylog-plugin-cef/*.json")
	for _, file := range files {
		var fx struct{ TestString string }
		readJSONC(f, file, &fx)
		seeds = append(seeds, fx.TestString)
	}
	files, _ = filepath.Glob("testdata/netty-codec-syslog/*.json")
	for _, file := range files {
		var fx struct{ Input string }
		readJSONC(f, file, &fx)
		seeds = append(seeds, fx.Input)
	}
	if fh, err := os.Open("testdata/jc/cef.out"); err == nil {
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			seeds = append(seeds, sc.Text())
		}
		fh.Close()
	}
	shared := os.Getenv("TIMAP_SHARED_DATA")
	if shared == "" {
		shared = "/work/shared/data"
	}
	if b, err := os.ReadFile(filepath.Join(shared, "logs/cef/elastic-beats/cef.log")); err == nil {
		seeds = append(seeds, strings.Split(string(b), "\n")...)
	}
	if b, err := os.ReadFile(filepath.Join(shared, "logs/cef/sekoia-intake-formats-cef.json")); err == nil {
		var doc struct{ Cases []sekoiaCase }
		if json.Unmarshal(b, &doc) == nil {
			for _, c := range doc.Cases {
				seeds = append(seeds, c.Input.Message)
			}
		}
	}
	return seeds
}

// FuzzParse checks that Parse and Decode never panic, that errors are
// *ParseError with an offset inside the line, that keys are well formed,
// and that CopyLine changes nothing but ownership.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	now := time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, line string) {
		p := Parser{Now: now}
		var rec Record
		err := p.Parse([]byte(line), &rec)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *ParseError", err, err)
			}
			if pe.Offset < 0 || pe.Offset > len(line) {
				t.Fatalf("offset %d outside line of %d bytes", pe.Offset, len(line))
			}
			return
		}
		for _, kv := range rec.Extensions {
			if kv.Key == "" || !isKeyStart(kv.Key[0]) {
				t.Fatalf("bad key %q", kv.Key)
			}
		}
		pc := Parser{Now: now, CopyLine: true}
		var rec2 Record
		if err := pc.Parse([]byte(line), &rec2); err != nil || !reflect.DeepEqual(rec, rec2) {
			t.Fatalf("CopyLine result differs: %v\n%+v\n%+v", err, rec, rec2)
		}
		var ev engine.Event
		ev.Reset(Table)
		if err := p.Decode([]byte(line), &ev, nil); err != nil {
			t.Fatalf("Decode failed after Parse succeeded: %v", err)
		}
		if ev.TimeGenerated.IsZero() || ev.TimeGenerated.Location() != time.UTC {
			t.Fatalf("TimeGenerated %v", ev.TimeGenerated)
		}
	})
}
