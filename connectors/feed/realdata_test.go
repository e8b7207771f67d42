package feed

import (
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"timap/engine"
)

// feedsDir holds the research snapshot of real feeds (not in the repository).
const feedsDir = "/work/shared/data/feeds"

// TestRealFeeds loads every flat list of the snapshot and logs its counts.
// Rejections are expected (private addresses, maltrail paths); a file that
// yields no indicator at all means the format was misread.
func TestRealFeeds(t *testing.T) {
	if _, err := os.Stat(feedsDir); err != nil {
		t.Skipf("real feeds not available (%v); the testdata excerpts cover the formats", err)
	}
	var paths []string
	err := filepath.WalkDir(feedsDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		rel, _ := filepath.Rel(feedsDir, p)
		if strings.HasSuffix(p, ".json") {
			// spamhaus/asn_drop.json is JSON lines of AS numbers, not a flat
			// list of observables.
			t.Logf("%-52s skipped: JSON, not a flat list", rel)
			continue
		}
		res, err := LoadFile(p, Options{})
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		t.Logf("%-52s lines %6d  comments %5d  blank %5d  dup %5d  indicators %6d %s  rejected %5d %s",
			rel, res.Lines, res.Comments, res.Blank, res.Duplicates, len(res.Indicators), perType(res.PerType),
			len(res.Rejected), perReason(res.PerReason))
		if len(res.Indicators) == 0 {
			t.Errorf("%s: no indicators; first rejections: %v", rel, res.Rejected[:min(3, len(res.Rejected))])
		}
		if got := res.Comments + res.Blank + len(res.Indicators) + res.Duplicates + len(res.Rejected); got != res.Lines {
			t.Errorf("%s: line accounting %d != %d", rel, got, res.Lines)
		}
		if rel == filepath.Join("spamhaus", "drop.txt") {
			o := res.Indicators[0].Observables[0]
			if o.Prefix != netip.MustParsePrefix("1.10.16.0/20") || o.Column != "NetworkCidrBlock" {
				t.Errorf("spamhaus first entry %+v", o)
			}
		}
	}
}

func perType(m map[engine.ObservableType]int) string {
	var parts []string
	for t, n := range m {
		parts = append(parts, fmt.Sprintf("%s:%d", t, n))
	}
	sort.Strings(parts)
	return "[" + strings.Join(parts, " ") + "]"
}

func perReason(m map[string]int) string {
	var parts []string
	for r, n := range m {
		parts = append(parts, fmt.Sprintf("%s:%d", r, n))
	}
	sort.Strings(parts)
	return "[" + strings.Join(parts, " ") + "]"
}
