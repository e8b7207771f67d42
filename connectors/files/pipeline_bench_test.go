package files

import (
	"bufio"
	"os"
	"testing"

	"timap/connectors/cef"
	"timap/engine"
	"timap/rules"
)

// BenchmarkPipeline measures the per-row path of `timap match`: CEF decode
// of only the columns the rules need, then matching against the example
// indicators with the six CommonSecurityLog rules (3% of rows carry an
// indicator value). Reports rows/s and allocations per row.
func BenchmarkPipeline(b *testing.B) {
	store := engine.NewStore(engine.StoreOptions{})
	if _, err := LoadIndicators([]string{"../../examples/indicators"}, "auto", now, func(in []*engine.Indicator) { store.Upsert(in...) }); err != nil {
		b.Fatal(err)
	}
	rs, err := rules.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	x, err := engine.NewExecutor(store, rs, engine.ExecutorOptions{})
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Open("../../examples/events/firewall.cef")
	if err != nil {
		b.Fatal(err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(f)
	bytes := 0
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
		bytes += len(sc.Bytes()) + 1
	}
	f.Close()
	var p cef.Parser
	p.Now = now
	m := x.NewMatcher()
	need := x.Needs(cef.Table)
	var ev engine.Event
	matches := 0
	emit := func(*engine.Match) { matches++ }
	b.SetBytes(int64(bytes / len(lines)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev.Reset(cef.Table)
		if err := p.Decode(lines[i%len(lines)], &ev, need); err != nil {
			b.Fatal(err)
		}
		m.Match(&ev, now, emit)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
