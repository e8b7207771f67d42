package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFirstLineAt checks the bisection that finds where a section's join
// margin starts: the first line at or after a time, before a limit.
func TestFirstLineAt(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	var b []byte
	var starts []int64
	for i := 0; i < 50; i++ {
		starts = append(starts, int64(len(b)))
		// Lines of different lengths; times 1 min apart, two lines per minute
		// from line 20 on, so equal times occur.
		m := i
		if i >= 20 {
			m = 20 + (i-20)/2
		}
		b = fmt.Appendf(b, `{"TimeGenerated":"%s","Type":"EmailEvents","Pad":"%*s"}`+"\n", t0.Add(time.Duration(m)*time.Minute).Format(time.RFC3339Nano), i%7, "")
	}
	path := filepath.Join(t.TempDir(), "f.ndjson")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, c := range []struct {
		limit   int   // line index of the limit
		minutes int   // t = t0 + minutes (−1: before every line)
		want    int64 // line index of the answer
	}{
		{40, -1, 0}, {40, 0, 0}, {40, 5, 5}, {40, 21, 22}, {40, 25, 30}, {40, 29, 38}, {40, 30, 40}, {40, 100, 40}, {1, 0, 0}, {1, 3, 1},
	} {
		got, err := firstLineAt(f, starts[c.limit], t0.Add(time.Duration(c.minutes)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if got != starts[c.want] {
			t.Errorf("limit line %d, t0%+dm: offset %d, want %d (line %d)", c.limit, c.minutes, got, starts[c.want], c.want)
		}
	}
}
