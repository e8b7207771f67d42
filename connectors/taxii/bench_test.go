package taxii

import (
	"context"
	"testing"
	"time"

	"timap/connectors/taxii/taxiitest"
)

// BenchmarkPull pulls 20,000 synthetic indicators (IPs, domains, URLs,
// hashes) in pages of 1,000 from a local TAXII 2.1 server: HTTP, JSON,
// STIX pattern compilation and normalisation together.
func BenchmarkPull(b *testing.B) {
	const n = 20000
	srv := taxiitest.NewServer(b, taxiitest.Options{Data: taxiitest.Synthetic(Version21, n, synthStart)})
	s := Source{Name: "bench", APIRoot: srv.APIRoot(taxiitest.SyntheticRoot), Collection: taxiitest.SyntheticCollection}
	c := NewClient(Options{PageSize: 1000})
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		res, err := c.Pull(context.Background(), s, time.Time{})
		if err != nil || len(res.Indicators) != n {
			b.Fatalf("%v: %d indicators", err, len(res.Indicators))
		}
	}
	b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "indicators/s")
}
