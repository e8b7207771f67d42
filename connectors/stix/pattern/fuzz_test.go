package pattern

import (
	"errors"
	"testing"
	"time"
)

// FuzzParse checks that no input panics, errors are *SyntaxError with an
// in-range offset, accepted patterns round-trip through String(), and
// Atoms and MatchObservations cope with whatever parses.
func FuzzParse(f *testing.F) {
	for _, patterns := range validCorpus(f) {
		for _, s := range patterns {
			f.Add(s)
		}
	}
	for _, name := range []string{"pattern-cases-v20.json", "pattern-cases-v21.json"} {
		var c validatorCorpus
		readJSON(f, name, &c)
		for _, ic := range c.Invalid {
			f.Add(ic.Pattern)
		}
	}
	for _, s := range []string{
		"", "[", "]", "(", "[a:b = 1", "[a:b = '\\", "[a:b = '\xff']", "t'", "b''", "h'0'",
		"[a:b = 1] /*", "[a:b = -0.0]", "[a:b = 1.]", "[a:b[-1] = 1]", "[a:'' = 1]",
		"[a:b = 1] REPEATS 99999999999 TIMES", "[a:b = 1] WITHIN 99999999999999999999.5 SECONDS",
		"[EXISTS a:b]", "((((((((((((([a:b = 1])))))))))))))",
		"[a:b = 1] START t'2016-02-30T00:00:00Z' STOP t'2016-01-01T00:00:60Z'",
	} {
		f.Add(s)
	}
	obs := sampleObserved()
	f.Fuzz(func(t *testing.T, s string) {
		for _, version := range []string{Version20, Version21} {
			p, err := ParseVersion(s, version)
			if err != nil {
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("%q: error %T %v is not *SyntaxError", s, err, err)
				}
				if se.Offset < 0 || se.Offset > len(s) {
					t.Fatalf("%q: offset %d out of range", s, se.Offset)
				}
				_ = se.Error()
				continue
			}
			text := p.String()
			q, err := ParseVersion(text, version)
			if err != nil {
				t.Fatalf("%q: canonical %q does not reparse: %v", s, text, err)
			}
			if q.String() != text {
				t.Fatalf("%q: canonical text unstable: %q vs %q", s, text, q.String())
			}
			atoms, cov := p.Atoms()
			if cov.Full && len(atoms) == 0 {
				t.Fatalf("%q: Full coverage without atoms", s)
			}
			start := time.Now()
			_, _ = p.MatchObservations(obs)
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("%q: match took %v", s, d)
			}
		}
	})
}
