package pattern

import "testing"

// BenchmarkParse parses the whole valid corpus (both versions) per
// iteration and reports throughput in patterns per second.
func BenchmarkParse(b *testing.B) {
	type item struct{ s, version string }
	var items []item
	for version, patterns := range validCorpus(b) {
		for _, s := range patterns {
			items = append(items, item{s, version})
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, it := range items {
			if _, err := ParseVersion(it.s, it.version); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(items))*float64(b.N)/b.Elapsed().Seconds(), "patterns/s")
}

// BenchmarkAtoms measures Atoms over the valid STIX 2.1 corpus.
func BenchmarkAtoms(b *testing.B) {
	var ps []*Pattern
	for _, s := range validCorpus(b)[Version21] {
		p, err := Parse(s)
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, p)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, p := range ps {
			p.Atoms()
		}
	}
	b.ReportMetric(float64(len(ps))*float64(b.N)/b.Elapsed().Seconds(), "patterns/s")
}
