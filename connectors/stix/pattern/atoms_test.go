package pattern

import (
	"reflect"
	"strings"
	"testing"
)

func TestAtoms(t *testing.T) {
	sha := strings.Repeat("aa", 32)
	md5 := strings.Repeat("bb", 16)
	for _, tc := range []struct {
		name    string
		pattern string
		atoms   []Atom
		cov     Coverage
	}{
		{
			name:    "observation OR gives distinct groups",
			pattern: "[ipv4-addr:value = '198.51.100.1'] OR [domain-name:value = 'evil.example']",
			atoms: []Atom{
				{Group: 0, Path: "ipv4-addr:value", Op: "=", Values: []string{"198.51.100.1"}},
				{Group: 1, Path: "domain-name:value", Op: "=", Values: []string{"evil.example"}},
			},
			cov: Coverage{Full: true},
		},
		{
			name:    "quoted and bare hash keys",
			pattern: "[file:hashes.'SHA-256' = '" + sha + "' OR file:hashes.MD5 = '" + md5 + "']",
			atoms: []Atom{
				{Group: 0, Path: "file:hashes.'SHA-256'", Op: "=", Values: []string{sha}},
				{Group: 1, Path: "file:hashes.MD5", Op: "=", Values: []string{md5}},
			},
			cov: Coverage{Full: true},
		},
		{
			name:    "CIDR subset",
			pattern: "[ipv4-addr:value ISSUBSET '203.0.113.0/24']",
			atoms:   []Atom{{Group: 0, Path: "ipv4-addr:value", Op: "ISSUBSET", Values: []string{"203.0.113.0/24"}}},
			cov:     Coverage{Full: true},
		},
		{
			name:    "port becomes context",
			pattern: "[network-traffic:dst_ref.value = '1.2.3.4' AND network-traffic:dst_port = 443]",
			atoms: []Atom{{Group: 0, Path: "network-traffic:dst_ref.value", Op: "=", Values: []string{"1.2.3.4"},
				Context: map[string]string{"dst_port": "443"}}},
			cov: Coverage{Full: true},
		},
		{
			name:    "non-indexable conjunct makes the group partial",
			pattern: "[file:size = 1024 AND file:hashes.MD5 = '" + md5 + "']",
			atoms:   []Atom{{Group: 0, Path: "file:hashes.MD5", Op: "=", Values: []string{md5}, Partial: true}},
			cov:     Coverage{Partial: []string{"file:size = 1024"}},
		},
		{
			// file:name is indexable (FileName, for the hunting queries):
			// the name and the hash form one AND group.
			name:    "file name and hash",
			pattern: "[file:name = 'x' AND file:hashes.MD5 = '" + md5 + "']",
			atoms: []Atom{{Group: 0, Path: "file:name", Op: "=", Values: []string{"x"}},
				{Group: 0, Path: "file:hashes.MD5", Op: "=", Values: []string{md5}}},
			cov: Coverage{Full: true},
		},
		{
			name:    "nothing indexable",
			pattern: "[user-agent:string = 'x']",
			cov:     Coverage{Unsupported: []string{"[user-agent:string = 'x']"}},
		},
		{
			name:    "inequality never widens",
			pattern: "[ipv4-addr:value != '1.2.3.4']",
			cov:     Coverage{Unsupported: []string{"[ipv4-addr:value != '1.2.3.4']"}},
		},
		{
			name:    "temporal AND keeps atoms with reasons",
			pattern: "([ipv4-addr:value = '1.1.1.1'] AND [domain-name:value = 'a.b']) WITHIN 300 SECONDS",
			atoms: []Atom{
				{Group: 0, Path: "ipv4-addr:value", Op: "=", Values: []string{"1.1.1.1"}, Partial: true},
				{Group: 1, Path: "domain-name:value", Op: "=", Values: []string{"a.b"}, Partial: true},
			},
			cov: Coverage{Partial: []string{
				"observation AND: each atom group covers one observation, the pattern needs all of them",
				"WITHIN 300 SECONDS: qualifier not enforced per event",
			}},
		},
		{
			name:    "unsupported OR branch is reported, indexable side kept",
			pattern: "[ipv4-addr:value = '1.2.3.4'] OR [user-agent:string = 'x']",
			atoms:   []Atom{{Group: 0, Path: "ipv4-addr:value", Op: "=", Values: []string{"1.2.3.4"}}},
			cov:     Coverage{Unsupported: []string{"[user-agent:string = 'x']"}},
		},
		{
			name:    "AND of indexable comparisons shares a group; IN keeps all values",
			pattern: "[email-message:from_ref.value IN ('a@x', 'b@x') AND email-message:sender_ref.value = 'c@x' OR url:value = 'http://u/']",
			atoms: []Atom{
				{Group: 0, Path: "email-message:from_ref.value", Op: "IN", Values: []string{"a@x", "b@x"}},
				{Group: 0, Path: "email-message:sender_ref.value", Op: "=", Values: []string{"c@x"}},
				{Group: 1, Path: "url:value", Op: "=", Values: []string{"http://u/"}},
			},
			cov: Coverage{Full: true},
		},
		{
			name:    "OR inside AND expands to groups",
			pattern: "[(ipv6-addr:value = '2001:db8::1' OR ipv6-addr:value ISSUBSET '2001:db8::/32') AND ipv6-addr:x = 1]",
			atoms: []Atom{
				{Group: 0, Path: "ipv6-addr:value", Op: "=", Values: []string{"2001:db8::1"}, Partial: true},
				{Group: 1, Path: "ipv6-addr:value", Op: "ISSUBSET", Values: []string{"2001:db8::/32"}, Partial: true},
			},
			cov: Coverage{Partial: []string{"ipv6-addr:x = 1"}},
		},
		{
			name:    "negated, LIKE and MATCHES in an OR are dropped, not widened",
			pattern: "[domain-name:value NOT = 'a' OR domain-name:value LIKE '%.x' OR domain-name:value MATCHES 'y' OR domain-name:value = 'z']",
			atoms:   []Atom{{Group: 0, Path: "domain-name:value", Op: "=", Values: []string{"z"}}},
			cov: Coverage{Unsupported: []string{
				"domain-name:value NOT = 'a'", "domain-name:value LIKE '%.x'", "domain-name:value MATCHES 'y'",
			}},
		},
		{
			name:    "observation AND with an unindexable side stays partial",
			pattern: "[domain-name:value = 'a'] FOLLOWEDBY [process:name = 'b'] REPEATS 2 TIMES",
			atoms:   []Atom{{Group: 0, Path: "domain-name:value", Op: "=", Values: []string{"a"}, Partial: true}},
			cov: Coverage{Partial: []string{
				"[process:name = 'b'] REPEATS 2 TIMES",
				"observation FOLLOWEDBY: each atom group covers one observation, order and co-occurrence are not enforced",
			}},
		},
		{
			name:    "reference type and port context",
			pattern: "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32' AND network-traffic:src_port = 53]",
			atoms: []Atom{{Group: 0, Path: "network-traffic:dst_ref.value", Op: "=", Values: []string{"203.0.113.33/32"},
				Context: map[string]string{"dst_ref.type": "ipv4-addr", "src_port": "53"}}},
			cov: Coverage{Full: true},
		},
		{
			name:    "ISSUBSET needs a CIDR on an IP path",
			pattern: "[domain-name:value ISSUBSET '10.0.0.0/8' OR ipv4-addr:value ISSUBSET 'nope']",
			cov:     Coverage{Unsupported: []string{"[domain-name:value ISSUBSET '10.0.0.0/8' OR ipv4-addr:value ISSUBSET 'nope']"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			atoms, cov := mustParse(t, tc.pattern).Atoms()
			if !reflect.DeepEqual(atoms, tc.atoms) {
				t.Errorf("atoms:\n got %+v\nwant %+v", atoms, tc.atoms)
			}
			if !reflect.DeepEqual(cov, tc.cov) {
				t.Errorf("coverage:\n got %+v\nwant %+v", cov, tc.cov)
			}
		})
	}
}

// TestAtomsCorpus checks invariants over every valid corpus pattern:
// Full implies no partial atoms, and atoms only use indexable operators.
func TestAtomsCorpus(t *testing.T) {
	full, partial, none := 0, 0, 0
	for version, patterns := range validCorpus(t) {
		for _, s := range patterns {
			p, err := ParseVersion(s, version)
			if err != nil {
				t.Fatal(err)
			}
			atoms, cov := p.Atoms()
			for _, a := range atoms {
				if a.Op != "=" && a.Op != "IN" && a.Op != "ISSUBSET" {
					t.Errorf("%q: atom op %q", s, a.Op)
				}
				if cov.Full && a.Partial {
					t.Errorf("%q: Full coverage with a partial atom", s)
				}
			}
			switch {
			case len(atoms) == 0:
				none++
			case cov.Full:
				full++
			default:
				partial++
			}
		}
	}
	t.Logf("corpus atoms: full %d, partial/unsupported %d, no atoms %d", full, partial, none)
}
