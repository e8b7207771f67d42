package harness

import (
	"fmt"
	"math"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// plots writes throughput.png, memory.png and latency.png into dir.
func (r *Report) plots(dir string) error {
	if len(r.Scales) == 0 {
		return nil
	}
	n := r.Machine.CPUs
	series := func(f func(s *ScaleResult) float64) plotter.XYs {
		var xy plotter.XYs
		for _, s := range r.Scales {
			if v := f(s); v > 0 {
				xy = append(xy, plotter.XY{X: float64(s.Scale), Y: v})
			}
		}
		return xy
	}
	cefRate := func(format string, threads int) func(s *ScaleResult) float64 {
		return func(s *ScaleResult) float64 {
			t, _ := s.tableResult("CommonSecurityLog", format)
			if threads == 1 {
				return t.Timap1.EventsPerSec
			}
			return t.TimapN.EventsPerSec
		}
	}
	sqlRate := func(threads int) func(s *ScaleResult) float64 {
		return func(s *ScaleResult) float64 { t, _ := s.sqlTable("CommonSecurityLog", threads); return t.RowsPerSec }
	}
	floor := func(s *ScaleResult) float64 {
		t, _ := s.tableResult("CommonSecurityLog", "cef")
		return t.Floor1.EventsPerSec
	}

	p := logLogPlot("CommonSecurityLog throughput", "indicators", "events/s")
	lines := []any{
		"timap CEF, 1 core", series(cefRate("cef", 1)),
		fmt.Sprintf("timap CEF, %d cores", n), series(cefRate("cef", n)),
		"timap NDJSON, 1 core", series(cefRate("ndjson", 1)),
		"read+split floor (CEF, 1 core)", series(floor),
	}
	if len(r.Scales[0].SQL) > 0 {
		lines = append(lines, "DuckDB NDJSON, 1 thread", series(sqlRate(1)), fmt.Sprintf("DuckDB NDJSON, %d threads", n), series(sqlRate(n)))
	}
	if err := addLines(p, lines); err != nil {
		return err
	}
	if err := p.Save(18*vg.Centimeter, 12*vg.Centimeter, filepath.Join(dir, "throughput.png")); err != nil {
		return err
	}

	p = logLogPlot("Memory after loading the indicators", "indicators", "bytes")
	if err := addLines(p, []any{
		"Go heap of the store", series(func(s *ScaleResult) float64 { return float64(s.Memory.HeapBytes) }),
		"RSS after load", series(func(s *ScaleResult) float64 { return float64(s.Memory.RSSBytes) }),
		"peak RSS of the run", series(func(s *ScaleResult) float64 { return float64(s.Memory.HWMEndBytes) }),
	}); err != nil {
		return err
	}
	if err := p.Save(18*vg.Centimeter, 12*vg.Centimeter, filepath.Join(dir, "memory.png")); err != nil {
		return err
	}

	p = plot.New()
	p.Title.Text = "Latency from reading a row to its alert written (1 core, CEF)"
	p.X.Label.Text = "µs"
	p.Y.Label.Text = "share of alerts per bin (4 bins per octave)"
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	var lat []any
	for _, s := range r.Scales {
		if xy := histXY(s.Latency.Hist); len(xy) > 0 {
			lat = append(lat, s.Name+" indicators", xy)
		}
	}
	if len(lat) == 0 {
		return nil
	}
	if err := addLines(p, lat); err != nil {
		return err
	}
	return p.Save(18*vg.Centimeter, 12*vg.Centimeter, filepath.Join(dir, "latency.png"))
}

func logLogPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, x, y
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = true, true
	return p
}

// addLines adds name, XYs pairs, skipping empty series (a log scale cannot
// show them).
func addLines(p *plot.Plot, pairs []any) error {
	var keep []any
	for i := 0; i+1 < len(pairs); i += 2 {
		if xy, ok := pairs[i+1].(plotter.XYs); ok && len(xy) > 0 {
			keep = append(keep, pairs[i], xy)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	return plotutil.AddLinePoints(p, keep...)
}

// histXY turns a histogram into (bin centre in µs, share) points.
func histXY(h []HistBin) plotter.XYs {
	total := 0
	for _, b := range h {
		total += b.Count
	}
	var xy plotter.XYs
	for _, b := range h {
		if total > 0 {
			xy = append(xy, plotter.XY{X: math.Sqrt(b.LoNs*b.HiNs) / 1e3, Y: float64(b.Count) / float64(total)})
		}
	}
	return xy
}
