package rules_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"timap/engine"
	"timap/rules"
)

// BenchmarkCatalogueCompile measures loading and compiling all 53 rule
// files into one executor (what `timap match` and `timap run` do at start).
func BenchmarkCatalogueCompile(b *testing.B) {
	store := engine.NewStore(engine.StoreOptions{})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		rs, err := rules.Builtin()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := engine.NewExecutor(store, rs, engine.ExecutorOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMixedTables runs the whole catalogue over a mixed-table stream:
// the rows of every catalogue test case (30 tables), against the cases'
// indicators plus 100,000 background IP and domain indicators. Reports
// rows/s.
func BenchmarkMixedTables(b *testing.B) {
	store := engine.NewStore(engine.StoreOptions{})
	var inds []*engine.Indicator
	var rows []*engine.Event
	for n, c := range catalogueCases() {
		for _, s := range c.tis {
			ind := s.build(b)
			ind.IndicatorId = fmt.Sprintf("%d-%s", n, ind.IndicatorId)
			inds = append(inds, ind)
		}
		rows = append(rows, c.rows...)
	}
	for i := 0; i < 50000; i++ {
		a := netip.AddrFrom4([4]byte{45, byte(i >> 16), byte(i >> 8), byte(i)})
		ip, _ := engine.NewObservable(engine.TypeIP, "NetworkIP", a.String(), "")
		dom, _ := engine.NewObservable(engine.TypeDomain, "DomainName", fmt.Sprintf("bad%d.example.net", i), "")
		inds = append(inds, &engine.Indicator{IndicatorId: fmt.Sprint("bg", i), Active: true, Observables: []engine.Observable{ip, dom}})
	}
	store.Upsert(inds...)
	x, err := engine.NewExecutor(store, builtin(b), engine.ExecutorOptions{})
	if err != nil {
		b.Fatal(err)
	}
	m := x.NewMatcher()
	now := time.Now()
	emit := func(*engine.Match) {}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Match(rows[i%len(rows)], now, emit)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(len(rows)), "distinct-rows")
}
