package tiexport

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"timap/connectors/stix"
	"timap/engine"
)

func obs(t *testing.T, typ engine.ObservableType, column, value string) engine.Observable {
	t.Helper()
	o, err := engine.NewObservable(typ, column, value, "")
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestWriteNDJSON(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	full := &engine.Indicator{
		IndicatorId: "indicator--1", ExternalIndicatorId: "ext-1", SourceSystem: "Feed", IndicatorProvider: "ACME",
		ThreatType: "malicious-activity", Description: "two IPs & a hash", ConfidenceScore: 85, Active: true,
		ExpirationDateTime: time.Date(2026, 6, 1, 0, 0, 0, 0, time.FixedZone("CEST", 7200)), TrafficLightProtocolLevel: "amber",
		Tags: []string{"c2"}, TimeGenerated: now, PartiallyEnforced: true, Pattern: "[ipv4-addr:value = '45.1.2.3'] OR …",
		Observables: []engine.Observable{
			obs(t, engine.TypeIP, "NetworkIP", "45.1.2.3"),
			obs(t, engine.TypeIP, "NetworkIP", "45.1.2.4"),
			obs(t, engine.TypeIP, "NetworkIP", "45.1.2.3"), // repeated: written once
			obs(t, engine.TypeIP, "NetworkIP", "45.9.0.0/16"),
			obs(t, engine.TypeURL, "Url", "http://evil.example/a?b=1&c=2"),
			obs(t, engine.TypeFileHash, "FileHashValue", "44d88612fea8a8f36de82e1278abb02f"),
			obs(t, engine.TypeFileHash, "FileHashValue", strings.Repeat("ab", 32)),
		},
	}
	bare := &engine.Indicator{IndicatorId: "id-2", SourceSystem: "Feed", ConfidenceScore: -1, TimeGenerated: now,
		Observables: []engine.Observable{obs(t, engine.TypeDomain, "DomainName", "Evil.Example")}}
	var buf bytes.Buffer
	if err := WriteNDJSON(&buf, []*engine.Indicator{full, bare}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	want := []string{
		`{"IndicatorId":"indicator--1","ExternalIndicatorId":"ext-1","SourceSystem":"Feed","IndicatorProvider":"ACME",` +
			`"ThreatType":"malicious-activity","Description":"two IPs & a hash","ConfidenceScore":85,"Active":true,` +
			`"ExpirationDateTime":"2026-05-31T22:00:00Z","TrafficLightProtocolLevel":"amber","Tags":["c2"],` +
			`"TimeGenerated":"2026-05-01T12:00:00Z","NetworkIP":["45.1.2.3","45.1.2.4"],"NetworkCidrBlock":"45.9.0.0/16",` +
			`"Url":"http://evil.example/a?b=1&c=2","FileHashValue":["44d88612fea8a8f36de82e1278abb02f","` + strings.Repeat("ab", 32) + `"],` +
			`"FileHashType":["MD5","SHA256"],"PartiallyEnforced":true,"Pattern":"[ipv4-addr:value = '45.1.2.3'] OR …"}`,
		`{"IndicatorId":"id-2","ExternalIndicatorId":"","SourceSystem":"Feed","ThreatType":"","Description":"",` +
			`"ConfidenceScore":null,"Active":false,"ExpirationDateTime":null,"TrafficLightProtocolLevel":"","Tags":[],` +
			`"TimeGenerated":"2026-05-01T12:00:00Z","DomainName":"evil.example"}`,
	}
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d\n got %s\nwant %s", i, lines[i], want[i])
		}
	}
}

// TestRealSTIX exports an OASIS example bundle: every row is valid JSON
// with the id and the observable column of its pattern.
func TestRealSTIX(t *testing.T) {
	res, err := stix.LoadFile("../stix/testdata/apt1.json", stix.Options{SourceSystem: "apt1", Now: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteNDJSON(&buf, res.Indicators); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&buf)
	n := 0
	for dec.More() {
		var row map[string]any
		if err := dec.Decode(&row); err != nil {
			t.Fatal(err)
		}
		if row["IndicatorId"] != res.Indicators[n].IndicatorId || row["SourceSystem"] != "apt1" {
			t.Errorf("row %d: %v", n, row)
		}
		n++
	}
	if n != len(res.Indicators) || n == 0 {
		t.Errorf("%d rows for %d indicators", n, len(res.Indicators))
	}
}
