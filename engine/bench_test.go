package engine

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gaissmai/bart"
	"github.com/yl2chen/cidranger"
)

// benchPrefixes returns IP indicators for benchmarks: the real ipsum and
// Spamhaus DROP feeds when ../shared/data is beside the checkout, else a
// deterministic synthetic set of the same shape (mostly /32s, some ranges).
func benchPrefixes(b *testing.B) []netip.Prefix {
	var ps []netip.Prefix
	for _, f := range []string{"../../shared/data/feeds/ipsum/ipsum.txt", "../../shared/data/feeds/spamhaus/drop.txt",
		"../../shared/data/feeds/maltrail/mass_scanner_cidr.txt"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			field, _, _ := strings.Cut(strings.TrimSpace(sc.Text()), "\t")
			field, _, _ = strings.Cut(field, " ")
			if p, err := ParsePrefix(field); err == nil && refuseRange(p) == "" {
				ps = append(ps, p)
			}
		}
		fh.Close()
	}
	if len(ps) > 0 {
		b.Logf("%d real prefixes", len(ps))
		return ps
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 120000; i++ {
		a := netip.AddrFrom4([4]byte{byte(1 + r.IntN(222)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
		bits := 32
		if i%60 == 0 {
			bits = 16 + r.IntN(9)
		}
		ps = append(ps, netip.PrefixFrom(a, bits).Masked())
	}
	b.Logf("%d synthetic prefixes (../shared/data absent)", len(ps))
	return ps
}

func benchAddrs(ps []netip.Prefix) []netip.Addr {
	r := rand.New(rand.NewPCG(3, 4))
	addrs := make([]netip.Addr, 4096)
	for i := range addrs {
		if i%100 == 0 { // 1% hits
			addrs[i] = ps[r.IntN(len(ps))].Addr()
			continue
		}
		addrs[i] = netip.AddrFrom4([4]byte{byte(1 + r.IntN(222)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
	}
	return addrs
}

// BenchmarkIPIndex compares the two CIDR structures the design names for
// "every indicator range containing this address": bart with inherited
// postings (one longest-prefix lookup) against cidranger's
// ContainingNetworks. The faster one backs indexSet.ip.
func BenchmarkIPIndex(b *testing.B) {
	ps := benchPrefixes(b)
	addrs := benchAddrs(ps)
	b.Run("bart", func(b *testing.B) {
		start := time.Now()
		x := buildIndexes(prefixIndicators(ps))
		build := time.Since(start)
		var dst []Posting
		hits := 0
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			dst = x.lookupIP(dst[:0], addrs[i%len(addrs)], nil)
			hits += len(dst)
		}
		b.ReportMetric(float64(build.Milliseconds()), "build-ms")
	})
	b.Run("cidranger", func(b *testing.B) {
		start := time.Now()
		rg := cidranger.NewPCTrieRanger()
		for _, p := range ps {
			_, n, _ := net.ParseCIDR(p.String())
			rg.Insert(cidranger.NewBasicRangerEntry(*n))
		}
		build := time.Since(start)
		ips := make([]net.IP, len(addrs))
		for i, a := range addrs {
			ips[i] = net.IP(a.AsSlice())
		}
		hits := 0
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			es, _ := rg.ContainingNetworks(ips[i%len(ips)])
			hits += len(es)
		}
		b.ReportMetric(float64(build.Milliseconds()), "build-ms")
	})
	b.Run("bart-supernets", func(b *testing.B) {
		// bart without inheritance, walking Supernets: what a plain table
		// costs when every containing range is wanted.
		t := new(bart.Table[int])
		for i, p := range ps {
			t.Insert(p, i)
		}
		hits := 0
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			a := addrs[i%len(addrs)]
			for range t.Supernets(netip.PrefixFrom(a, a.BitLen())) {
				hits++
			}
		}
		_ = hits
	})
}

func prefixIndicators(ps []netip.Prefix) []*Indicator {
	inds := make([]*Indicator, len(ps))
	for i, p := range ps {
		inds[i] = &Indicator{IndicatorId: fmt.Sprint(i), Active: true, Observables: []Observable{{Type: TypeIP, Prefix: p, Value: p.String(), Column: "NetworkIP"}}}
	}
	return inds
}

// BenchmarkMatchRow measures the executor on a CommonSecurityLog-like row
// that matches nothing (the common case) against 120k IP indicators plus
// domains: rows/s and allocations per row.
func BenchmarkMatchRow(b *testing.B) {
	ps := benchPrefixes(b)
	s := NewStore(StoreOptions{})
	inds := prefixIndicators(ps)
	for i := 0; i < 50000; i++ {
		o, _ := NewObservable(TypeDomain, "DomainName", fmt.Sprintf("bad%d.example.net", i), "")
		inds = append(inds, &Indicator{IndicatorId: fmt.Sprint("d", i), Active: true, Observables: []Observable{o}})
	}
	s.Upsert(inds...)
	s.Rebuild()
	r := &Rule{ID: "r", Name: "r", Severity: "Low", Table: "T", Candidates: []Candidate{
		{Column: "SourceIP", Type: TypeIP}, {Column: "DestinationIP", Type: TypeIP},
		{Column: "RequestURL", Type: TypeDomain, Extract: "url_host"},
	}}
	x, err := NewExecutor(s, []*Rule{r}, ExecutorOptions{})
	if err != nil {
		b.Fatal(err)
	}
	m := x.NewMatcher()
	addrs := benchAddrs(ps)
	evs := make([]*Event, 256)
	for i := range evs {
		evs[i] = row("T", t0, "SourceIP", "10.0.0.5", "DestinationIP", addrs[i].String(),
			"RequestURL", fmt.Sprintf("https://www.site%d.example.org/path?q=%d", i, i))
	}
	emit := func(*Match) {}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Match(evs[i%len(evs)], t0, emit)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
