package harness

import (
	"fmt"
	"math"
	"slices"
)

// LatencyResult is the streaming pass (single core, EmitFirst, every alert
// flushed to its file as it is written).
type LatencyResult struct {
	File string
	// Alerts is the number of first emissions timed: from reading the row
	// that caused an alert to the alert being written and flushed.
	// P50Us/P99Us/P999Us are their percentiles in microseconds.
	Alerts               int
	P50Us, P99Us, P999Us float64
	// Rows is the number of rows sampled (one in latencyEvery) for the
	// time from reading a row to its processing being done, alert or not;
	// RowP50Us… are their percentiles.
	Rows                          int
	RowP50Us, RowP99Us, RowP999Us float64
	// Hist and RowHist are log-spaced histograms of both (for the plot).
	Hist, RowHist []HistBin
	Run           RunResult
}

// HistBin counts samples in [LoNs, HiNs).
type HistBin struct {
	LoNs, HiNs float64
	Count      int
}

// latency runs the streaming pass over in. Its final alert set (last
// emission per id) must equal the batch pass's.
func (env *matchEnv) latency(in EventFile, batch alertSet) (LatencyResult, error) {
	r, set, lat, latAll, err := env.run(in, passLatency, 1)
	if err != nil {
		return LatencyResult{}, err
	}
	if d := diff("batch", batch, "streaming", set, 10); d != "" {
		return LatencyResult{}, fmt.Errorf("bench: %s: the streaming (EmitFirst) alerts differ from the batch ones: %s", in.Path, d)
	}
	res := LatencyResult{File: in.Path, Alerts: len(lat), Rows: len(latAll), Run: r}
	res.P50Us, res.P99Us, res.P999Us = percentiles(lat)
	res.RowP50Us, res.RowP99Us, res.RowP999Us = percentiles(latAll)
	res.Hist, res.RowHist = histogram(lat), histogram(latAll)
	return res, nil
}

// percentiles returns the 50th, 99th and 99.9th percentiles of ns, in
// microseconds (nearest rank).
func percentiles(ns []int64) (p50, p99, p999 float64) {
	if len(ns) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(ns)
	slices.Sort(s)
	at := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(s)))) - 1
		return float64(s[max(0, min(i, len(s)-1))]) / 1e3
	}
	return at(0.50), at(0.99), at(0.999)
}

// histogram bins ns into bins four to an octave.
func histogram(ns []int64) []HistBin {
	if len(ns) == 0 {
		return nil
	}
	counts := map[int]int{}
	lo, hi := math.MaxInt, math.MinInt
	for _, v := range ns {
		k := int(math.Floor(4 * math.Log2(float64(max(v, 1)))))
		counts[k]++
		lo, hi = min(lo, k), max(hi, k)
	}
	var out []HistBin
	for k := lo; k <= hi; k++ {
		out = append(out, HistBin{math.Exp2(float64(k) / 4), math.Exp2(float64(k+1) / 4), counts[k]})
	}
	return out
}
