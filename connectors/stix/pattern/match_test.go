package pattern

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// sampleObserved is a small traffic/email/file scenario for matcher tests.
func sampleObserved() []Observed {
	return []Observed{
		{Time: t0, NumberObserved: 1, Objects: map[string]map[string]any{
			"0": {"type": "ipv4-addr", "value": "203.0.113.7"},
			"1": {"type": "ipv6-addr", "value": "2001:db8::42"},
			"2": {"type": "network-traffic", "src_ref": "1", "dst_ref": "0", "dst_port": json.Number("443"),
				"protocols": []any{"ipv4", "tcp"}},
		}},
		{Time: t0.Add(10 * time.Second), NumberObserved: 2, Objects: map[string]map[string]any{
			"a": {"type": "email-addr", "value": "evil@example.com"},
			"b": {"type": "email-message", "from_ref": "a", "to_refs": []any{"a", "missing"},
				"subject": "Invoice 42", "body_hex": "48656c6c6f"},
			"c": {"type": "file", "name": "x.exe", "hashes": map[string]any{"MD5": "d41d8cd98f00b204e9800998ecf8427e"},
				"size": 1024.0},
		}},
	}
}

func TestMatchObservations(t *testing.T) {
	obs := sampleObserved()
	for _, tc := range []struct {
		pattern string
		want    bool
	}{
		{"[ipv4-addr:value = '203.0.113.7']", true},
		{"[ipv4-addr:value ISSUBSET '203.0.113.0/24']", true},
		{"[ipv6-addr:value ISSUBSET '2001:db8::/32']", true},
		{"[ipv6-addr:value ISSUBSET '2001:db9::/32']", false},
		{"[network-traffic:dst_ref.value = '203.0.113.7' AND network-traffic:dst_port = 443]", true},
		{"[network-traffic:dst_ref.value = '203.0.113.7' AND network-traffic:dst_port = 80]", false},
		{"[network-traffic:protocols[*] = 'tcp']", true},
		{"[network-traffic:protocols[0] = 'tcp']", false},
		{"[network-traffic:protocols[1] = 'tcp']", true},
		{"[email-message:to_refs[*].value LIKE '%@example.___']", true},
		{"[email-message:from_ref.value MATCHES '^evil@']", true},
		{"[email-message:body_hex = 'Hello']", true},
		{"[email-message:subject NOT LIKE 'Invoice%']", false},
		{"[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e' AND file:size >= 1000]", true},
		{"[file:size IN (1024, 2048)]", true},
		// Comparisons of one observation must hold on the same root object.
		{"[file:name = 'x.exe' AND file:size = 1]", false},
		{"[ipv4-addr:value = '203.0.113.7'] FOLLOWEDBY [file:name = 'x.exe']", true},
		{"[file:name = 'x.exe'] FOLLOWEDBY [ipv4-addr:value = '203.0.113.7']", false},
		{"[ipv4-addr:value = '203.0.113.7'] AND [file:name = 'x.exe'] WITHIN 5 SECONDS", true},
		{"([ipv4-addr:value = '203.0.113.7'] AND [file:name = 'x.exe']) WITHIN 5 SECONDS", false},
		{"([ipv4-addr:value = '203.0.113.7'] AND [file:name = 'x.exe']) WITHIN 10 SECONDS", true},
		// number_observed 2 counts as two observations.
		{"[file:name = 'x.exe'] REPEATS 2 TIMES", true},
		{"[file:name = 'x.exe'] REPEATS 3 TIMES", false},
		{"[file:name = 'x.exe'] START t'2024-01-01T00:00:10Z' STOP t'2024-01-01T00:00:11Z'", true},
		{"[file:name = 'x.exe'] START t'2024-01-01T00:00:00Z' STOP t'2024-01-01T00:00:10Z'", false},
	} {
		got, err := mustParse(t, tc.pattern).MatchObservations(obs)
		if err != nil || got != tc.want {
			t.Errorf("%q: got %v, %v; want %v", tc.pattern, got, err, tc.want)
		}
	}
}

func TestMatchErrors(t *testing.T) {
	obs := sampleObserved()
	for _, tc := range []struct {
		pattern     string
		unsupported bool
	}{
		{"[email-message:subject MATCHES '(?=Invoice)']", true}, // lookahead: Python-only
		{"[ipv4-addr:value = '1.2.3.4'] WITHIN 0 SECONDS", false},
		{"[ipv4-addr:value = '1.2.3.4'] REPEATS 0 TIMES", false},
		{"[ipv4-addr:value IN ('a', 1)]", false},
		{"[ipv4-addr:value ISSUBSET '10.0.0.1']", false}, // container needs a prefix
		{"[email-message:subject = t'2024-01-01T00:00:00Z']", false},
		{"[x:y = t'2023-02-29T00:00:00Z']", false}, // not a calendar date
	} {
		_, err := mustParse(t, tc.pattern).MatchObservations(obs)
		if err == nil || errors.Is(err, ErrUnsupported) != tc.unsupported {
			t.Errorf("%q: err = %v, want unsupported=%v", tc.pattern, err, tc.unsupported)
		}
	}
	// Malformed observations.
	bad := []Observed{{Time: t0, NumberObserved: -1}}
	if _, err := mustParse(t, "[a:b = 1]").MatchObservations(bad); err == nil {
		t.Error("negative number_observed accepted")
	}
	badRef := []Observed{{Time: t0, Objects: map[string]map[string]any{"0": {"type": "a", "b_ref": 5.0}}}}
	if _, err := mustParse(t, "[a:b_ref.c = 1]").MatchObservations(badRef); err == nil {
		t.Error("non-string reference accepted")
	}
}

// TestMatchBlowUp: a search too large to finish is ErrUnsupported, not a
// wrong "false".
func TestMatchBlowUp(t *testing.T) {
	var obs []Observed
	for i := range 60 {
		obs = append(obs, Observed{Time: t0.Add(time.Duration(i) * time.Second), Objects: map[string]map[string]any{
			"0": {"type": "x", "n": float64(i)},
		}})
	}
	// No binding exists, and proving it means trying C(60,30) sets.
	p := mustParse(t, "([x:n >= 0] REPEATS 30 TIMES) FOLLOWEDBY [x:n = 0]")
	if _, err := p.MatchObservations(obs); !errors.Is(err, ErrUnsupported) {
		t.Errorf("err = %v, want ErrUnsupported", err)
	}
	// Lazy search stops at the first binding; WITHIN prunes REPEATS.
	for pattern, want := range map[string]bool{
		"[x:n >= 0] REPEATS 30 TIMES":                 true,
		"[x:n >= 0] REPEATS 3 TIMES WITHIN 2 SECONDS": true,
		"[x:n >= 0] REPEATS 4 TIMES WITHIN 2 SECONDS": false,
		"([x:n >= 0] REPEATS 30 TIMES) AND [x:n < 0]": false,
	} {
		ok, err := mustParse(t, pattern).MatchObservations(obs)
		if err != nil || ok != want {
			t.Errorf("%q: %v, %v; want %v", pattern, ok, err, want)
		}
	}
}

func ExamplePattern_Atoms() {
	p, err := Parse("[network-traffic:dst_ref.value = '198.51.100.9' AND network-traffic:dst_port = 443] OR [domain-name:value = 'evil.example']")
	if err != nil {
		panic(err)
	}
	atoms, cov := p.Atoms()
	for _, a := range atoms {
		fmt.Println(a.Group, a.Path, a.Op, a.Values, a.Context)
	}
	fmt.Println("full:", cov.Full)
	// Output:
	// 0 network-traffic:dst_ref.value = [198.51.100.9] map[dst_port:443]
	// 1 domain-name:value = [evil.example] map[]
	// full: true
}

func ExampleParse() {
	_, err := Parse("[ipv4-addr:value = '1.2.3.4' OR]")
	fmt.Println(err)
	p, _ := Parse("[file:hashes.'SHA-256'=='" + fmt.Sprintf("%064d", 0) + "'] REPEATS 2 TIMES")
	fmt.Println(p.Root.(*Observation).Qualifiers[0].Times, p.Root.(*Observation).Expr.(*Comparison).Path)
	// Output:
	// pattern:1:32: expected object path, found ']'
	// 2 file:hashes.'SHA-256'
}
