package pattern

import (
	"fmt"
	"strings"
	"testing"
)

// TestLargeObservations pins two regressions found by a trial user: an
// observation with more than 64 OR'd hashes lost all its atoms, and an
// AND chain of 50,000 comparisons took seconds (quadratic term copying).
func TestLargeObservations(t *testing.T) {
	hashes := func(n int, op string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf("file:hashes.MD5 = '%032x'", i)
		}
		return "[" + strings.Join(parts, op) + "]"
	}
	for _, tt := range []struct {
		pattern string
		atoms   int
	}{
		{hashes(65, " OR "), 65},
		{hashes(5000, " OR "), 5000},
		{hashes(50000, " AND "), 50000},
	} {
		p, err := Parse(tt.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if atoms, _ := p.Atoms(); len(atoms) != tt.atoms {
			t.Errorf("%d bytes: %d atoms, want %d", len(tt.pattern), len(atoms), tt.atoms)
		}
	}
}
