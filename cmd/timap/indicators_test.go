package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"timap/connectors/taxii/taxiitest"
)

// rows decodes NDJSON output.
func rows(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	var rs []map[string]any
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var r map[string]any
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("%v in\n%s", err, out)
		}
		rs = append(rs, r)
	}
	return rs
}

// runInd runs "timap indicators ARGS" and checks the exit code.
func runInd(t *testing.T, wantCode int, args ...string) ([]map[string]any, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := runIndicators(args, &stdout, &stderr); code != wantCode {
		t.Fatalf("indicators %q: exit %d, want %d\n%s", args, code, wantCode, stderr.String())
	}
	return rows(t, stdout.Bytes()), stderr.String()
}

func byID(rs []map[string]any) map[string]map[string]any {
	m := map[string]map[string]any{}
	for _, r := range rs {
		m[r["IndicatorId"].(string)] = r
	}
	return m
}

func TestIndicatorsLoad(t *testing.T) {
	feed := filepath.Join(t.TempDir(), "c2.txt")
	if err := os.WriteFile(feed, []byte("# C2 list\n45.77.1.2\nnot an address!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Flags after and between the paths.
	rs, summary := runInd(t, 0, "load", "testdata/indicators.json", "--now", "2026-11-30T10:10:00Z", feed)
	ids := byID(rs)
	r1 := ids["indicator--a0000000-0000-4000-8000-000000000001"]
	if r1 == nil || r1["NetworkIP"] != "203.0.113.9" || r1["ConfidenceScore"] != 80.0 || r1["SourceSystem"] != "indicators" ||
		r1["TimeGenerated"] != "2026-11-30T10:10:00Z" || r1["Active"] != true {
		t.Errorf("row 1: %v", r1)
	}
	r4 := ids["indicator--a0000000-0000-4000-8000-000000000004"]
	if r4["NetworkIP"] != "198.51.100.1" || r4["DomainName"] != "evil.example" || r4["ConfidenceScore"] != nil {
		t.Errorf("row 4: %v", r4)
	}
	if r6 := ids["indicator--a0000000-0000-4000-8000-000000000006"]; r6["ExpirationDateTime"] != "2026-11-30T10:00:00Z" {
		t.Errorf("row 6: %v", r6)
	}
	if r8 := ids["indicator--a0000000-0000-4000-8000-000000000008"]; r8["EmailSenderAddress"] != "phish@evil.example" {
		t.Errorf("row 8: %v", r8)
	}
	feedRows := 0
	for _, r := range rs {
		if r["SourceSystem"] == "c2" {
			feedRows++
			if r["NetworkIP"] != "45.77.1.2" {
				t.Errorf("feed row %v", r)
			}
		}
	}
	for _, want := range []string{"indicators: 2 files (0 unreadable)", "observables: ip=", "refused:", "non-routable", "c2.txt:3"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	if feedRows != 1 {
		t.Errorf("%d feed rows", feedRows)
	}
	runInd(t, 2, "load")
	runInd(t, 2, "load", "x.json", "--format", "xml")
	runInd(t, 1, "load", "testdata/no-such-file.json")
}

func medallionServer(t *testing.T, version string, opts taxiitest.Options) *taxiitest.Server {
	name := "../../connectors/taxii/testdata/medallion-default_data.json"
	if version == "2.0" {
		name = "../../connectors/taxii/testdata/medallion-default_data-taxii20.json"
	}
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	opts.Version, opts.Data = version, data
	return taxiitest.NewServer(t, opts)
}

const highValue = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"

func TestIndicatorsPullTAXII21(t *testing.T) {
	srv := medallionServer(t, "2.1", taxiitest.Options{Username: "alice", Password: "pw"})
	state := filepath.Join(t.TempDir(), "state.json")
	args := []string{"pull", "taxii", "--api-root", srv.APIRoot("trustgroup1"), "--collection", highValue,
		"--user", "alice", "--password", "pw", "--state", state, "--name", "Medallion", "--now", "2026-05-01T12:00:00Z"}
	rs, summary := runInd(t, 0, args...)
	ids := byID(rs)
	url := ids["indicator--6770298f-0fd8-471a-ab8c-1c658a46574e"]
	hash := ids["indicator--cd981c25-8042-4166-8945-51178443bdac"]
	if len(rs) != 2 || url["Url"] != "http://x4z9arb.cn/4712" || url["SourceSystem"] != "Medallion" || url["ThreatType"] != "url-watchlist" ||
		hash["FileHashValue"] != "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c" || hash["FileHashType"] != "SHA256" ||
		hash["Pattern"] != "[file:hashes.'SHA-256' = 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c']" ||
		hash["TimeGenerated"] != "2026-05-01T12:00:00Z" {
		t.Errorf("rows %v", rs)
	}
	for _, want := range []string{`taxii "Medallion"`, "everything", "1 requests, 1 pages, 2 objects (indicator=2), 2 indicators",
		"checkpoint: 2017-12-31T13:49:53.935Z (header)", "observables: ip=0 domain=0 url=1 email=0 filehash=1"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	// The state keeps the checkpoint: the second pull brings nothing.
	rs, summary = runInd(t, 0, args...)
	if len(rs) != 0 || !strings.Contains(summary, "added after 2017-12-31T13:49:53.935Z") || !strings.Contains(summary, "0 indicators") {
		t.Errorf("second pull: %v\n%s", rs, summary)
	}
	// --added-after overrides the state.
	rs, _ = runInd(t, 0, append(args, "--added-after", "2016-11-02T00:00:00Z")...)
	if len(rs) != 1 || rs[0]["IndicatorId"] != "indicator--6770298f-0fd8-471a-ab8c-1c658a46574e" {
		t.Errorf("added-after pull: %v", rs)
	}
}

func TestIndicatorsPullTAXII20(t *testing.T) {
	srv := medallionServer(t, "2.0", taxiitest.Options{Token: "tok"})
	t.Setenv("TAXII_TOKEN", "tok")
	rs, summary := runInd(t, 0, "pull", "taxii", "--version", "2.0", "--api-root", srv.APIRoot("trustgroup1"),
		"--collection", "52892447-4d7e-4f70-b94d-d7f22742ff63")
	if len(rs) != 1 || rs[0]["IndicatorId"] != "indicator--d81f86b9-975b-bc0b-775e-810c5ad45a4f" || rs[0]["Url"] != "http://x4z9arb.cn/4712" ||
		rs[0]["SourceSystem"] != "127.0.0.1 52892447-4d7e-4f70-b94d-d7f22742ff63" {
		t.Errorf("rows %v", rs)
	}
	if !strings.Contains(summary, "TAXII 2.0") || !strings.Contains(summary, "checkpoint: 2016-12-27T13:49:53Z (header)") {
		t.Errorf("summary:\n%s", summary)
	}
}

func TestIndicatorsPullSources(t *testing.T) {
	srv := medallionServer(t, "2.1", taxiitest.Options{APIKeyHeader: "X-Api-Key", APIKey: "k1"})
	t.Setenv("TIMAP_TEST_KEY", "k1")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sources.yaml")
	yaml := "sources:\n" +
		"  - friendlyName: High value\n    taxiiServer: " + srv.APIRoot("trustgroup1") + "\n    collectionId: " + highValue + "\n" +
		"    api_key_header: X-Api-Key\n    api_key: ${TIMAP_TEST_KEY}\n" +
		"  - name: Secret\n    api_root: " + srv.APIRoot("trustgroup1") + "\n    collection: 64993447-4d7e-4f70-b94d-d7f33742ee63\n" +
		"    api_key_header: X-Api-Key\n    api_key: ${TIMAP_TEST_KEY}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	// One source is readable, the other is not: its rows are printed, the
	// failure is named and the exit code says so.
	rs, summary := runInd(t, 1, "pull", "taxii", "--sources", cfg, "--state", filepath.Join(dir, "state.json"))
	if len(rs) != 2 || rs[0]["SourceSystem"] != "High value" {
		t.Errorf("rows %v", rs)
	}
	for _, want := range []string{`taxii "High value"`, "collection 64993447-4d7e-4f70-b94d-d7f33742ee63", "HTTP 403 Forbidden"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	os.WriteFile(cfg, []byte("- api_root: http://h/r\n  collection: c\n  secret: x\n"), 0o600)
	_, errs := runInd(t, 2, "pull", "taxii", "--sources", cfg)
	if !strings.Contains(errs, "sources.yaml:3: unknown key \"secret\"") {
		t.Errorf("bad sources file: %s", errs)
	}
}

func TestIndicatorsUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"pull", "misp"},
		{"pull", "taxii", "--api-root", "http://h/r/"},
		{"pull", "taxii", "--api-root", "http://h/r/", "--collection", "c", "--now", "yesterday"},
		{"pull", "taxii", "--api-root", "http://h/r/", "--collection", "c", "--added-after", "soon"},
		{"pull", "taxii", "--api-root", "http://h/r/", "--collection", "c", "--user", "u", "--token", "t"},
		{"pull", "taxii", "--sources", "x.yaml", "--api-root", "http://h/r/"},
		{"pull", "taxii", "--api-root", "http://h/r/", "--collection", "c", "extra"},
	} {
		var stdout, stderr bytes.Buffer
		if code := runIndicators(args, &stdout, &stderr); code != 2 || stderr.Len() == 0 {
			t.Errorf("%q: exit %d, stderr %q", args, code, stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := runIndicators([]string{"help"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "timap indicators pull taxii") {
		t.Errorf("help: %d %s", code, stdout.String())
	}
	for _, args := range [][]string{{"load", "--help"}, {"pull", "taxii", "-h"}} {
		stdout.Reset()
		if code := runIndicators(args, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "-now") {
			t.Errorf("%q: exit %d, stdout %q", args, code, stdout.String())
		}
	}
}
