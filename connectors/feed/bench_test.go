package feed

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkLoad measures Load over the testdata excerpts (all formats) and,
// when the snapshot is present, over the real ipsum list (120k addresses).
func BenchmarkLoad(b *testing.B) {
	b.Run("excerpts", func(b *testing.B) {
		paths, _ := filepath.Glob("testdata/*/*.txt")
		var data []byte
		for _, p := range paths {
			d, err := os.ReadFile(p)
			if err != nil {
				b.Fatal(err)
			}
			data = append(append(data, d...), '\n')
		}
		benchLoad(b, data)
	})
	b.Run("ipsum", func(b *testing.B) {
		data, err := os.ReadFile(filepath.Join(feedsDir, "ipsum", "ipsum.txt"))
		if err != nil {
			b.Skipf("real ipsum list not available: %v", err)
		}
		benchLoad(b, data)
	})
}

func benchLoad(b *testing.B, data []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	n := 0
	for b.Loop() {
		res, err := Load(bytes.NewReader(data), Options{SourceSystem: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		n += len(res.Indicators)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "indicators/s")
}
