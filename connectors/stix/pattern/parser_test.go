package pattern

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, s string) *Pattern {
	t.Helper()
	p, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return p
}

func TestPrecedence(t *testing.T) {
	// Inside brackets AND binds tighter than OR.
	p := mustParse(t, "[a:b = 1 OR a:c = 2 AND a:d = 3]")
	or, ok := p.Root.(*Observation).Expr.(*ComparisonOp)
	if !ok || or.Op != Or {
		t.Fatalf("root comparison = %#v, want OR", p.Root.(*Observation).Expr)
	}
	if c := or.Left.(*Comparison); c.Path.String() != "a:b" {
		t.Errorf("left = %s, want a:b", c.Path)
	}
	if and, ok := or.Right.(*ComparisonOp); !ok || and.Op != And {
		t.Errorf("right = %v, want AND node", or.Right)
	}

	// Observation level: FOLLOWEDBY < OR < AND, all left-associative.
	p = mustParse(t, "[a:b = 1] OR [a:c = 2] AND [a:d = 3] FOLLOWEDBY [a:e = 4] FOLLOWEDBY [a:f = 5]")
	fb := p.Root.(*ObservationOp)
	if fb.Op != FollowedBy || fb.Right.String() != "[a:f = 5]" {
		t.Fatalf("root = %s %v, want FOLLOWEDBY with right [a:f = 5]", fb.Op, fb.Right)
	}
	inner := fb.Left.(*ObservationOp)
	if inner.Op != FollowedBy {
		t.Fatalf("left-assoc FOLLOWEDBY expected, got %v", inner.Op)
	}
	orNode := inner.Left.(*ObservationOp)
	if orNode.Op != Or || orNode.Right.(*ObservationOp).Op != And {
		t.Errorf("want OR(b, AND(c, d)), got %s", orNode)
	}

	// Parentheses change the tree and survive canonical printing.
	for in, want := range map[string]string{
		"[a:b=1] OR [a:c=2] AND [a:d=3]":                       "[a:b = 1] OR [a:c = 2] AND [a:d = 3]",
		"([a:b=1] OR [a:c=2]) AND [a:d=3]":                     "([a:b = 1] OR [a:c = 2]) AND [a:d = 3]",
		"[a:b=1] AND ([a:c=2] AND [a:d=3])":                    "[a:b = 1] AND ([a:c = 2] AND [a:d = 3])",
		"[(a:b=1 OR a:c=2) AND a:d=3]":                         "[(a:b = 1 OR a:c = 2) AND a:d = 3]",
		"((([a:b=1])))":                                        "[a:b = 1]",
		"[a:b=1] AND [a:c=2] WITHIN 5 SECONDS":                 "[a:b = 1] AND [a:c = 2] WITHIN 5 SECONDS",
		"([a:b=1] AND [a:c=2]) WITHIN 5.5 SECONDS":             "([a:b = 1] AND [a:c = 2]) WITHIN 5.5 SECONDS",
		"([a:b=1] REPEATS 2 TIMES) REPEATS 3 TIMES":            "([a:b = 1] REPEATS 2 TIMES) REPEATS 3 TIMES",
		"[a:b == +5 AND a:c <> -0.5 AND a:d = .25]":            "[a:b = 5 AND a:c != -0.5 AND a:d = 0.25]",
		"[a:b NOT IN(1,2.0) OR a:c NOT ISSUBSET '1.2.3.0/24']": "[a:b NOT IN (1, 2.0) OR a:c NOT ISSUBSET '1.2.3.0/24']",
	} {
		if got := mustParse(t, in).String(); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestObjectPaths(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	for in, want := range map[string]struct {
		path string
		keys []string
	}{
		"[file:hashes.'SHA-256' = '" + sha + "']":                 {"file:hashes.'SHA-256'", []string{"hashes", "SHA-256"}},
		"[file:hashes.MD5 = '" + strings.Repeat("a", 32) + "']":   {"file:hashes.MD5", []string{"hashes", "MD5"}},
		"[file:hashes.'MD5' = '" + strings.Repeat("a", 32) + "']": {"file:hashes.MD5", []string{"hashes", "MD5"}},
		"[x-foo:'has-hyphen'.'a.b'[0][*].c = 1]":                  {"x-foo:'has-hyphen'.'a.b'[0][*].c", []string{"has-hyphen", "a.b", "", "", "c"}},
		"[network-traffic:dst_ref.value = 'x']":                   {"network-traffic:dst_ref.value", []string{"dst_ref", "value"}},
		"[a:'AND'.'it\\'s'[-1] = 1]":                              {"a:'AND'.'it\\'s'[-1]", []string{"AND", "it's", ""}},
	} {
		p := mustParse(t, in)
		c := p.Root.(*Observation).Expr.(*Comparison)
		if got := c.Path.String(); got != want.path {
			t.Errorf("%q: path %q, want %q", in, got, want.path)
		}
		var keys []string
		for _, s := range c.Path.Steps {
			keys = append(keys, s.Key)
		}
		if strings.Join(keys, "|") != strings.Join(want.keys, "|") {
			t.Errorf("%q: keys %q, want %q", in, keys, want.keys)
		}
	}
	steps := mustParse(t, "[a:b[3][*] = 1]").Root.(*Observation).Expr.(*Comparison).Path.Steps
	if !steps[1].Index || steps[1].N != 3 || steps[1].Star || !steps[2].Star {
		t.Errorf("index steps = %+v", steps)
	}
}

func TestLiterals(t *testing.T) {
	lit := func(s string) Literal {
		t.Helper()
		return mustParse(t, "[a:b = "+s+"]").Root.(*Observation).Expr.(*Comparison).Value
	}
	if l := lit(`'it\'s a \\ test'`); l.Kind != KindString || l.Str != `it's a \ test` || l.String() != `'it\'s a \\ test'` {
		t.Errorf("escaped string: %+v %s", l, l)
	}
	if l := lit(`''`); l.Kind != KindString || l.Str != "" {
		t.Errorf("empty string: %+v", l)
	}
	if l := lit("-42"); l.Kind != KindInt || l.Int != -42 {
		t.Errorf("int: %+v", l)
	}
	if l := lit("7.0"); l.Kind != KindFloat || l.Float != 7 || l.String() != "7.0" {
		t.Errorf("float: %+v %s", l, l)
	}
	if l := lit("true"); l.Kind != KindBool || !l.Bool {
		t.Errorf("bool: %+v", l)
	}
	if l := lit("b'YWxpY2U='"); l.Kind != KindBinary || string(l.Bytes) != "alice" || l.String() != "b'YWxpY2U='" {
		t.Errorf("binary: %+v", l)
	}
	if l := lit("h'ABcd'"); l.Kind != KindHex || string(l.Bytes) != "\xab\xcd" || l.String() != "h'abcd'" {
		t.Errorf("hex: %+v %s", l, l)
	}
	if l := lit("h''"); l.Kind != KindHex || len(l.Bytes) != 0 {
		t.Errorf("empty hex: %+v", l)
	}
	l := lit("t'2016-06-01T01:30:00.123456789Z'")
	want := time.Date(2016, 6, 1, 1, 30, 0, 123456789, time.UTC)
	if l.Kind != KindTimestamp || !l.Time.Equal(want) || l.String() != "t'2016-06-01T01:30:00.123456789Z'" {
		t.Errorf("timestamp: %+v %s", l, l)
	}
	set := mustParse(t, "[a:b IN ('x', 'y')]").Root.(*Observation).Expr.(*Comparison).Value
	if set.Kind != KindList || len(set.List) != 2 || set.List[1].Str != "y" {
		t.Errorf("set: %+v", set)
	}
	// Comments and Unicode whitespace are skipped like the grammar's WS.
	p := mustParse(t, "/* c */[a:b\u00a0=\u30001] // trailing")
	if p.String() != "[a:b = 1]" {
		t.Errorf("comments/whitespace: %s", p)
	}
}

func TestSyntaxErrors(t *testing.T) {
	sha1 := strings.Repeat("a", 39)
	for _, tc := range []struct {
		in, version string
		offset      int
		expected    string
		found       string
	}{
		{"[a:b = 1 OR a:c = 2", Version21, 19, "']'", "end of input"},
		{"file:size = 1280", Version21, 0, "'[' or '('", "'file'"},
		{"[file:size = ]", Version21, 13, "literal", "']'"},
		{"[file.size = 1280]", Version21, 5, "':' after the object type", "'.'"},
		{"[a:b = 1] WITHIN 5 HOURS", Version21, 19, "'SECONDS'", "'HOURS'"},
		{"[a:b = 1] WITHIN -5 SECONDS", Version21, 17, "positive integer or float", "'-5'"},
		{`[a:b = 'x\q']`, Version21, 9, `escape \' or \\`, `'\q'`},
		{"[a:b = t'2024-13-01T00:00:00Z']", Version21, 7, "timestamp t'YYYY-MM-DDTHH:MM:SS[.s+]Z'", "t'2024-13-01T00:00:00Z'"},
		{"[a:needs-quotes = 1]", Version21, 3, "property name (quote names containing '-')", "'needs-quotes'"},
		{"[file:hashes.'SHA-1' = '" + sha1 + "']", Version21, 23, "a valid SHA-1 hash", "'" + sha1 + "'"},
		{"[a:b = 1] REPEATS 2 TIMES REPEATS 3 TIMES", Version21, 26, "at most one REPEATS qualifier directly on an observation (STIX 2.1)", "'REPEATS'"},
		{"[a:b = 1] within 2 seconds", Version21, 10, "end of input", "'within'"},
		{"[a:b < true]", Version21, 7, "orderable literal (number, string, binary or timestamp)", "'true'"},
		{"[a:b = 1] START '2016-01-01T00:00:00Z' STOP '2016-01-02T00:00:00Z'", Version21, 16, "timestamp literal t'…'", "'2016-01-01T00:00:00Z'"},
		{"[EXISTS a:b]", Version20, 8, "':' after the object type", "'a'"},
		{"[a:b = 'open", Version21, 7, "closing quote of string starting here", "end of input"},
		{"[a:b = 1] /* open", Version21, 10, "'*/' closing the comment", "'/*'"},
		{"[a:b = 1]\nAND\n[a:c ! 2]", Version21, 19, "comparison operator", "'!'"},
	} {
		_, err := ParseVersion(tc.in, tc.version)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: err = %v, want *SyntaxError", tc.in, err)
			continue
		}
		if se.Offset != tc.offset || se.Expected != tc.expected || se.Found != tc.found {
			t.Errorf("%q: got offset %d expected %q found %q, want %d %q %q",
				tc.in, se.Offset, se.Expected, se.Found, tc.offset, tc.expected, tc.found)
		}
	}
	_, err := Parse("[a:b = 1 OR a:c = 2")
	if got, want := err.Error(), "pattern:1:20: expected ']', found end of input"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	_, err = Parse("[a:b = 1]\nAND\n[a:c ! 2]")
	if got, want := err.Error(), "pattern:3:6: expected comparison operator, found '!'"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if _, err := ParseVersion("[a:b = 1]", "2.2"); err == nil {
		t.Error("unknown version accepted")
	}
}

func TestVersionDifferences(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok20 bool
		ok21 bool
	}{
		{"[EXISTS a:b]", false, true},
		{"[a:EXISTS = 1]", true, false},
		{"[a:b = 1] START '2016-01-01T00:00:00Z' STOP '2016-01-02T00:00:00Z'", true, false},
		{"[a:b = 1] START t'2016-01-01T00:00:00Z' STOP t'2016-01-02T00:00:00Z'", true, true},
		{"[a:b = 1] WITHIN 1 SECONDS WITHIN 2 SECONDS", true, false},
		{"([a:b = 1] WITHIN 1 SECONDS) WITHIN 2 SECONDS", true, true},
		{"[a:b[*] = 1]", true, true},
		{"[a:b = b'']", false, false},
		{"[a:b = 01]", false, false},
		{"[a:b = 99999999999999999999]", false, false},
	} {
		_, err20 := ParseVersion(tc.in, Version20)
		_, err21 := ParseVersion(tc.in, Version21)
		if (err20 == nil) != tc.ok20 || (err21 == nil) != tc.ok21 {
			t.Errorf("%q: 2.0 err %v (want ok=%v), 2.1 err %v (want ok=%v)", tc.in, err20, tc.ok20, err21, tc.ok21)
		}
	}
}
