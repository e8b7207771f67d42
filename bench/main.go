// Command bench is timap's benchmark harness (issue 6). It builds
// workloads from the real data in ../shared/data (cached under
// bench/cache), measures timap's matching throughput, allocation, latency,
// indicator load rate, memory and live updates at several indicator
// counts, runs the DuckDB SQL baseline and the I/O floor on the same
// files, fails when timap's and the SQL baseline's alert sets differ, and
// writes bench/results (bench.json, README.md, PNG plots).
//
//	go run ./bench                  # full run: 10k, 100k, 1M, 10M indicators
//	go run ./bench -short           # under a minute
//	go run ./bench -scales 10k,1M -events 200000 -out /tmp/report
//
// docs/benchmarks.md explains every phase and the SQL of each rule.
package main

import (
	"os"

	"timap/bench/harness"
)

func main() {
	os.Exit(harness.Main(os.Args[1:], os.Stdout, os.Stderr))
}
