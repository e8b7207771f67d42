package taxii

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestValidateDefaults(t *testing.T) {
	s := Source{APIRoot: "https://taxii.example:8443/api1", Collection: "c1"}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	want := Source{Name: "taxii.example c1", APIRoot: "https://taxii.example:8443/api1/", Collection: "c1", Version: "2.1",
		Lookback: "all", Poll: "hour", SpecVersions: "2.0,2.1"}
	if s != want {
		t.Errorf("got %+v\nwant %+v", s, want)
	}
	if s.Interval() != time.Hour || !s.LookbackStart(fixedNow).IsZero() || s.Key() != "https://taxii.example:8443/api1/ c1" {
		t.Errorf("interval %s lookback %s key %q", s.Interval(), s.LookbackStart(fixedNow), s.Key())
	}
	// Sentinel's spellings.
	s = Source{Name: "x", APIRoot: "http://h/r/", Collection: "c", Poll: "OnceAMinute", Lookback: "At most one week old", Version: "2.0"}
	if err := s.Validate(); err != nil || s.Poll != "minute" || s.Lookback != "1w" || s.Interval() != time.Minute ||
		!s.LookbackStart(fixedNow).Equal(fixedNow.AddDate(0, 0, -7)) {
		t.Errorf("%+v %v", s, err)
	}
}

func TestValidateErrors(t *testing.T) {
	s := Source{Name: "bad", APIRoot: "ftp://h/", Collection: "a/b", Version: "3", Password: "p", Token: "t",
		APIKey: "k", ClientCert: "c.pem", Lookback: "forever", Poll: "weekly"}
	mustContain(t, s.Validate(), `taxii source "bad"`, "api_root", "collection \"a/b\"", "version \"3\"", "password without username",
		"api_key_header and api_key", "client_cert and client_key", "lookback \"forever\"", "poll \"weekly\"")
	s = Source{APIRoot: "https://h/", Collection: "c", Username: "u", Token: "t", APIKeyHeader: "Bad Header", APIKey: "k"}
	mustContain(t, s.Validate(), "both use the Authorization header", `api_key_header "Bad Header"`)
	s = Source{}
	mustContain(t, s.Validate(), "api_root is required", "collection is required")
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadSources(t *testing.T) {
	t.Setenv("TAXII_PASSWORD", "pa$$word")
	t.Setenv("TAXII_KEY", "k-1")
	path := writeFile(t, "sources.yaml", `
sources:
  - name: Anomali Limo
    api_root: https://limo.anomali.com/api/v1/taxii2/feeds/
    collection: "107"
    username: guest
    password: ${TAXII_PASSWORD}
    lookback: 1w
    poll: day
  # Sentinel's data connector property names.
  - friendlyName: Partner
    taxiiServer: https://partner.example/api2
    collectionId: 91a7b528-80eb-42ed-a74d-c6fbd5a26116
    version: 2.0
    api_key_header: X-Api-Key
    api_key: key=${TAXII_KEY}
    pollingFrequency: OnceAnHour
    taxiiLookbackPeriod: All available
`)
	srcs, err := LoadSources(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 2 {
		t.Fatalf("%d sources", len(srcs))
	}
	a, b := srcs[0], srcs[1]
	if a.Name != "Anomali Limo" || a.Collection != "107" || a.Password != "pa$$word" || a.Lookback != "1w" || a.Poll != "day" || a.Version != "2.1" {
		t.Errorf("first %+v", a)
	}
	if b.Name != "Partner" || b.APIRoot != "https://partner.example/api2/" || b.Version != "2.0" || b.APIKey != "key=k-1" || b.Lookback != "all" || b.Poll != "hour" {
		t.Errorf("second %+v", b)
	}
	// A bare list works too.
	if srcs, err := ParseSources([]byte("- {api_root: 'http://h/r', collection: c}\n"), "inline"); err != nil || len(srcs) != 1 || srcs[0].Name != "h c" {
		t.Errorf("bare list: %v %v", srcs, err)
	}
}

func TestLoadSourcesErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "sources:\n  - api_root: http://h/r\n    collection: c\n    pasword: x\n", []string{":4: unknown key \"pasword\"", "known: api_key"}},
		{"missing env", "- api_root: http://h/r\n  collection: c\n  token: ${TIMAP_TEST_UNSET_VAR}\n", []string{":3: token: environment variable TIMAP_TEST_UNSET_VAR is not set"}},
		{"repeated key", "- api_root: http://h/r\n  collection: c\n  collectionId: d\n", []string{":3: key \"collectionId\" sets Collection again (first set at line 2)"}},
		{"not a string", "- api_root: http://h/r\n  collection: [a, b]\n", []string{":2: collection: want a string"}},
		{"invalid source", "- api_root: http://h/r\n  collection: c\n  poll: weekly\n", []string{":1: taxii source", "poll \"weekly\""}},
		{"same name", "- {name: a, api_root: http://h/r, collection: c}\n- {name: a, api_root: http://h/r, collection: d}\n", []string{":2: source name \"a\" already used at line 1"}},
		{"top level", "feeds: []\n", []string{":1: want a list of sources"}},
		{"syntax", "- api_root: [\n", []string{"sources.yaml: line"}},
		{"empty", "sources: []\n", []string{"no sources"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadSources(writeFile(t, "sources.yaml", tc.yaml))
			mustContain(t, err, append(tc.want, "sources.yaml")...)
		})
	}
}
