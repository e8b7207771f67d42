package kafka

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"timap/connectors/files"
	"timap/connectors/pipeline"
	"timap/engine"
)

// TestIndicatorRoundTrip encodes every example indicator (STIX bundles
// and flat feeds) and decodes it back: the result must equal the
// original, and encoding it again must give the same bytes.
func TestIndicatorRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var inds []*engine.Indicator
	if _, err := files.LoadIndicators([]string{"../../examples/indicators", "../../cmd/timap/testdata/indicators.json", "../stix/testdata"}, "auto", now,
		func(b []*engine.Indicator) { inds = append(inds, b...) }); err != nil {
		t.Fatal(err)
	}
	if len(inds) < 1000 {
		t.Fatalf("only %d indicators loaded", len(inds))
	}
	seen := map[string]bool{}
	refs := 0
	for _, ind := range inds {
		b, err := EncodeIndicator(ind)
		if err != nil {
			t.Fatalf("%s: %v", ind.IndicatorId, err)
		}
		back, err := DecodeIndicator(b)
		if err != nil {
			t.Fatalf("%s: decode: %v\n%s", ind.IndicatorId, err, b)
		}
		if !pipeline.SameIndicator(ind, back) || !back.Modified.Equal(ind.Modified) || !back.TimeGenerated.Equal(ind.TimeGenerated) {
			t.Fatalf("%s: round trip differs:\n%+v\n%+v", ind.IndicatorId, ind, back)
		}
		for i, o := range back.Observables {
			if o != ind.Observables[i] {
				t.Fatalf("%s: observable %d: %+v, want %+v", ind.IndicatorId, i, o, ind.Observables[i])
			}
		}
		if len(ind.ExternalReferences) > 0 {
			refs++
		}
		again, _ := EncodeIndicator(back)
		if !bytes.Equal(b, again) {
			t.Fatalf("%s: encoding not stable:\n%s\n%s", ind.IndicatorId, b, again)
		}
		for _, o := range ind.Observables {
			seen[o.Type.String()] = true
		}
		if ind.ConfidenceScore < 0 && bytes.Contains(b, []byte("ConfidenceScore")) {
			t.Errorf("%s: absent confidence written: %s", ind.IndicatorId, b)
		}
	}
	t.Logf("%d indicators round-tripped, %d with external references", len(inds), refs)
	for _, typ := range []string{"ip", "domain", "url", "email", "filehash"} {
		if !seen[typ] {
			t.Errorf("no %s observable in the round trip", typ)
		}
	}
}

// TestIndicatorEncodingIsStable pins the wire format.
func TestIndicatorEncodingIsStable(t *testing.T) {
	obs, err := engine.NewObservable(engine.TypeIP, "NetworkIP", "203.0.113.0/24", "")
	if err != nil {
		t.Fatal(err)
	}
	h, _ := engine.NewObservable(engine.TypeFileHash, "FileHashValue", "44D88612FEA8A8F36DE82E1278ABB02F", "")
	ind := &engine.Indicator{
		IndicatorId: "indicator--1", SourceSystem: "feed", ConfidenceScore: 80, Active: true,
		ExpirationDateTime: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		Modified:           time.Date(2026, 11, 30, 8, 0, 0, 500, time.UTC),
		Tags:               []string{"c2"},
		ExternalReferences: []string{"mitre-attack T1071 https://attack.mitre.org/techniques/T1071"},
		Observables:        []engine.Observable{obs, h},
	}
	b, err := EncodeIndicator(ind)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"SchemaVersion":1,"IndicatorId":"indicator--1","SourceSystem":"feed","ConfidenceScore":80,"Active":true,` +
		`"ExpirationDateTime":"2026-12-01T00:00:00Z","Tags":["c2"],` +
		`"ExternalReferences":["mitre-attack T1071 https://attack.mitre.org/techniques/T1071"],"Modified":"2026-11-30T08:00:00.0000005Z",` +
		`"Observables":[{"Type":"ip","Value":"203.0.113.0/24","Column":"NetworkCidrBlock"},` +
		`{"Type":"filehash","Value":"44d88612fea8a8f36de82e1278abb02f","Column":"FileHashValue","HashType":"MD5","Raw":"44D88612FEA8A8F36DE82E1278ABB02F"}]}`
	if string(b) != want {
		t.Errorf("encoding\n got %s\nwant %s", b, want)
	}
}

// TestDecodeHandWritten reads what an operator would type for kcat, and
// refuses what must not be applied.
func TestDecodeHandWritten(t *testing.T) {
	ind, err := DecodeIndicator([]byte(`{"IndicatorId":"manual-1","Modified":"2026-11-30T09:00:00+01:00",
		"Observables":[{"Type":"domain","Value":"EVIL.Example."},{"Type":"ip","Value":"::ffff:198.51.100.7"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !ind.Active || ind.ConfidenceScore != -1 || !ind.Modified.Equal(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)) ||
		ind.Observables[0].Value != "evil.example" || ind.Observables[0].Column != "DomainName" ||
		ind.Observables[1].Value != "198.51.100.7" || ind.Observables[1].Column != "NetworkIP" {
		t.Errorf("decoded %+v", ind)
	}
	// RefusedIPColumns (compat mode's T6) survive the topic.
	refused := &engine.Indicator{IndicatorId: "r1", Active: true, Modified: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), RefusedIPColumns: []string{"NetworkIP"}}
	if b, err := EncodeIndicator(refused); err != nil {
		t.Fatal(err)
	} else if back, err := DecodeIndicator(b); err != nil || !slices.Equal(back.RefusedIPColumns, []string{"NetworkIP"}) {
		t.Errorf("RefusedIPColumns: %v %+v (%s)", err, back, b)
	}
	for _, bad := range []struct{ json, why string }{
		{`{"IndicatorId":"x","Modified":"2026-11-30T09:00:00Z","Observables":[{"Type":"ip","Value":"10.1.2.3"}]}`, "non-routable"},
		{`{"IndicatorId":"x","Observables":[]}`, "Modified"},
		{`{"Modified":"2026-11-30T09:00:00Z"}`, "IndicatorId"},
		{`{"SchemaVersion":2,"IndicatorId":"x","Modified":"2026-11-30T09:00:00Z"}`, "SchemaVersion"},
		{`{"IndicatorId":"x","Modified":"yesterday"}`, "Modified"},
		{`{"IndicatorId":"x","Modified":"2026-11-30T09:00:00Z","Observables":[{"Type":"mutex","Value":"m"}]}`, "unknown observable type"},
		{`not json`, "invalid"},
	} {
		if _, err := DecodeIndicator([]byte(bad.json)); err == nil || !strings.Contains(err.Error(), bad.why) {
			t.Errorf("%s: error %v, want one mentioning %q", bad.json, err, bad.why)
		}
	}
}
