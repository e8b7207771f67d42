// Command gencef writes a reproducible CEF event stream for examples and
// benchmarks: real vendor shapes, benign values, and a set fraction of rows
// carrying values of the given indicators.
//
//	go run ./bench/gencef -indicators PATH... [-benign LIST.json] [-real DIR] -n 3000 -hits 0.01 -seed 1 > events.cef
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"timap/bench/workload"
	"timap/connectors/files"
	"timap/engine"
)

func main() {
	inds := flag.String("indicators", "", "comma-separated indicator files or directories whose values are the hits")
	benign := flag.String("benign", "", "MISP warninglist JSON of benign domains (default: synthetic names)")
	n := flag.Int("n", 3000, "number of lines")
	hits := flag.Float64("hits", 0.01, "fraction of rows carrying an indicator value")
	seed := flag.Uint64("seed", 1, "random seed")
	real := flag.String("real", "", "directory of real CEF corpora (../shared/data/logs/cef): rows are real vendor lines with fresh values instead of built-in shapes")
	start := flag.String("start", "2026-11-30T08:00:00Z", "rt of the first row (RFC 3339); rows are 250 ms apart")
	flag.Parse()
	t, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		fail(err)
	}
	var pools workload.Pools
	if *inds != "" {
		_, err := files.LoadIndicators(strings.Split(*inds, ","), "auto", t, func(b []*engine.Indicator) { pools.AddIndicators(b) })
		if err != nil {
			fail(err)
		}
	}
	if *benign != "" {
		if pools.BenignDomains, err = workload.LoadBenignDomains(*benign); err != nil {
			fail(err)
		}
	}
	pools.Sort()
	cfg := workload.Config{N: *n, HitRate: *hits, Seed: *seed, Start: t}
	var h int
	if *real != "" {
		lines, err := workload.LoadRealCEF(*real)
		if err != nil {
			fail(err)
		}
		fmt.Fprintf(os.Stderr, "gencef: %d real CEF lines as templates\n", len(lines))
		h, err = workload.GenerateFromReal(os.Stdout, lines, &pools, cfg)
	} else {
		h, err = workload.Generate(os.Stdout, &pools, cfg)
	}
	if err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "gencef: %d lines, %d carry an indicator value\n", *n, h)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gencef:", err)
	os.Exit(1)
}
