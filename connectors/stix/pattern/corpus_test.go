package pattern

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusCase is one validator case from testdata/pattern-cases-v2x.json.
type corpusCase struct {
	Pattern string `json:"pattern"`
	Group   string `json:"group"`
}

type validatorCorpus struct {
	Valid     []corpusCase                 `json:"valid"`
	Invalid   []corpusCase                 `json:"invalid"`
	Inspector map[string][]json.RawMessage `json:"inspector"`
}

func readJSON(t testing.TB, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func readLines(t testing.TB, name string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// validCorpus returns every pattern the corpus says must parse, by version.
func validCorpus(t testing.TB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, v := range []struct{ version, cases, spec string }{
		{Version20, "pattern-cases-v20.json", "v20-spec_examples.txt"},
		{Version21, "pattern-cases-v21.json", "v21-spec_examples.txt"},
	} {
		var c validatorCorpus
		readJSON(t, v.cases, &c)
		for _, vc := range c.Valid {
			out[v.version] = append(out[v.version], vc.Pattern)
		}
		for _, raws := range c.Inspector {
			for _, raw := range raws {
				var ic struct {
					Pattern string `json:"pattern"`
				}
				if err := json.Unmarshal(raw, &ic); err != nil {
					t.Fatal(err)
				}
				out[v.version] = append(out[v.version], ic.Pattern)
			}
		}
		out[v.version] = append(out[v.version], readLines(t, v.spec)...)
	}
	var eq struct {
		Groups map[string]struct {
			Pairs [][]string `json:"pairs"`
		} `json:"groups"`
	}
	readJSON(t, "pattern-equivalence-v21.json", &eq)
	for _, g := range eq.Groups {
		for _, pair := range g.Pairs {
			out[Version21] = append(out[Version21], pair...)
		}
	}
	return out
}

// TestCorpusValidInvalid checks the OASIS validator corpus: every valid
// pattern (validator PASS cases, inspector cases, spec examples and the
// python-stix2 equivalence pairs) parses, every FAIL case is rejected, and
// every parsed pattern round-trips through String().
func TestCorpusValidInvalid(t *testing.T) {
	valid := validCorpus(t)
	for _, version := range []string{Version20, Version21} {
		ok := 0
		for _, s := range valid[version] {
			p, err := ParseVersion(s, version)
			if err != nil {
				t.Errorf("%s valid pattern rejected: %q: %v", version, s, err)
				continue
			}
			ok++
			checkRoundTrip(t, p)
		}
		t.Logf("STIX %s: parsed %d/%d valid patterns", version, ok, len(valid[version]))

		var c validatorCorpus
		readJSON(t, "pattern-cases-v"+strings.ReplaceAll(version, ".", "")+".json", &c)
		rejected := 0
		for _, ic := range c.Invalid {
			p, err := ParseVersion(ic.Pattern, version)
			if err == nil {
				t.Errorf("%s invalid pattern accepted: %q -> %s", version, ic.Pattern, p)
				continue
			}
			if _, ok := err.(*SyntaxError); !ok {
				t.Errorf("%s: error for %q is %T, want *SyntaxError", version, ic.Pattern, err)
			}
			rejected++
		}
		t.Logf("STIX %s: rejected %d/%d invalid patterns", version, rejected, len(c.Invalid))
	}
}

// checkRoundTrip asserts that String() reparses to the same canonical text.
func checkRoundTrip(t testing.TB, p *Pattern) {
	t.Helper()
	s := p.String()
	q, err := ParseVersion(s, p.Version)
	if err != nil {
		t.Errorf("canonical text does not reparse: %q: %v", s, err)
		return
	}
	if s2 := q.String(); s2 != s {
		t.Errorf("round trip changed text:\n  %q\n  %q", s, s2)
	}
}
