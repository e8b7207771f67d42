package harness

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"timap/rules"
)

// markdown renders the report as README.md of the results folder.
func (r *Report) markdown() string {
	var b strings.Builder
	m := r.Machine
	n := m.CPUs
	b.WriteString("# timap benchmark results\n\n")
	fmt.Fprintf(&b, "Made by `%s` on %s (%.0f s). Written by the harness (`bench/harness`); see `docs/benchmarks.md` for what each phase measures.\n\n",
		r.Command, r.Started.Format(time.RFC3339), r.Seconds)
	fmt.Fprintf(&b, "**Machine:** %d × %s, %s memory, %s/%s, %s, Linux %s.\n\n", n, m.Model, size(float64(m.MemBytes)), m.OS, m.Arch, m.GoVersion, m.Kernel)
	c := r.Config
	mails := ""
	if len(r.Scales) > 0 {
		for _, ef := range r.Scales[0].Workload.Events {
			if n, ok := ef.Partners["EmailEvents"]; ok {
				mails = fmt.Sprintf(" with the %d EmailEvents rows of their mails in the same file", n)
			}
		}
	}
	fmt.Fprintf(&b, "**Workload:** seed %d; %d CommonSecurityLog rows (the same rows as CEF and as NDJSON), %d DnsEvents and %d EmailUrlInfo rows%s (NDJSON); %.1f%% of rows carry an indicator value; clock %s, expiry grace %s, window %s; %d indicator updates in batches of %d.",
		c.Seed, c.Events, max(c.Events/2, 1), max(c.Events/2, 1), mails, 100*c.HitRate, c.Now.Format(time.RFC3339), c.Grace, c.Window, c.Updates, c.UpdateBatch)
	if len(r.Scales) > 0 {
		fmt.Fprintf(&b, " Material: %s.", r.Scales[0].Workload.Source)
	}
	b.WriteString("\n\n")
	switch {
	case r.SQLNote != "":
		fmt.Fprintf(&b, "**Alert sets:** not compared — %s\n\n", r.SQLNote)
	case r.Agree:
		b.WriteString("**Alert sets:** timap's and the DuckDB baseline's alerts (rule, indicator, value, window, count, first and last time) are equal on every table at every scale, with 1 and with all threads.\n\n")
	default:
		b.WriteString("**Alert sets: DIFFERENT** — see the agreement table.\n\n")
	}
	b.WriteString("**Rules** (both engines): ")
	var names []string
	for _, ru := range r.Rules {
		names = append(names, fmt.Sprintf("%s %s (%s)", short(ru.ID), ru.Table, ru.From))
	}
	b.WriteString(strings.Join(names, "; ") + ".")
	if len(r.Unmeasured) > 0 {
		names = names[:0]
		for _, ru := range r.Unmeasured {
			names = append(names, ru.Name)
		}
		b.WriteString(" Built-in rules on these tables left out of both, as the SQL baseline has no SQL for them: " + strings.Join(names, ", ") + ".")
	}
	b.WriteString("\n\n## Throughput\n\n")
	b.WriteString(r.headline())
	b.WriteString("\n![throughput against indicator count](throughput.png)\n\n")
	r.tablesSection(&b)
	r.latencySection(&b)
	r.memorySection(&b)
	r.updateSection(&b)
	r.stageSection(&b)
	r.agreementSection(&b)
	return b.String()
}

func (r *Report) tablesSection(b *strings.Builder) {
	n := r.Machine.CPUs
	fmt.Fprintf(b, "## Every table\n\nevents/s, fastest of %d runs of each pass; \"of floor\" is timap's rate as a fraction of reading and splitting the same file; DuckDB reads the NDJSON files (ingest + join). Load average (1, 5, 15 min) before and after each scale's passes:", r.Config.Repeat)
	for _, s := range r.Scales {
		fmt.Fprintf(b, " %s %s → %s;", s.Name, s.LoadAvgBefore, s.LoadAvgAfter)
	}
	b.WriteString(" a load above the core count means other processes shared the machine.\n\n")
	t := newTable(b, "indicators", "file", "rows", "alerts", "timap 1 core", fmt.Sprintf("timap %d cores", n), "floor 1 core", fmt.Sprintf("floor %d cores", n),
		"of floor (1 / all)", "DuckDB 1 / all threads", "timap ÷ DuckDB (1 / all)", "allocs/event", "B allocated/event")
	for _, s := range r.Scales {
		for _, tr := range s.Tables {
			q1, ok1 := s.sqlTable(tr.Table, 1)
			qn, _ := s.sqlTable(tr.Table, n)
			sql, rat := "–", "–"
			if ok1 && tr.Format == "ndjson" {
				sql = rate(q1.RowsPerSec) + " / " + rate(qn.RowsPerSec)
				rat = ratio(tr.Timap1.EventsPerSec, q1.RowsPerSec) + " / " + ratio(tr.TimapN.EventsPerSec, qn.RowsPerSec)
			}
			t.row(s.Name, tr.File, fmt.Sprint(tr.Rows), fmt.Sprint(tr.Alerts), rate(tr.Timap1.EventsPerSec), rate(tr.TimapN.EventsPerSec),
				rate(tr.Floor1.EventsPerSec)+" ("+size(tr.Floor1.BytesPerSec)+"/s)", rate(tr.FloorN.EventsPerSec),
				fmt.Sprintf("%.0f%% / %.0f%%", 100*tr.OfFloor1, 100*tr.OfFloorN), sql, rat,
				fmt.Sprintf("%.2f", tr.Timap1.AllocsPerEvent), fmt.Sprintf("%.0f", tr.Timap1.AllocBytesPerEvent))
		}
	}
	b.WriteString("\n")
}

func (r *Report) latencySection(b *strings.Builder) {
	b.WriteString("## Latency\n\nStreaming pass over the CEF file on one core: each alert is written and flushed at its first row. \"Row to alert\" runs from the moment a row has been read to its alert being written; \"row processed\" samples one row in 16, alert or not.\n\n")
	t := newTable(b, "indicators", "alerts timed", "row to alert p50", "p99", "p99.9", "rows sampled", "row processed p50", "p99", "p99.9")
	for _, s := range r.Scales {
		l := s.Latency
		t.row(s.Name, fmt.Sprint(l.Alerts), us(l.P50Us), us(l.P99Us), us(l.P999Us), fmt.Sprint(l.Rows), us(l.RowP50Us), us(l.RowP99Us), us(l.RowP999Us))
	}
	b.WriteString("\n![latency distribution](latency.png)\n\n")
}

func (r *Report) memorySection(b *strings.Builder) {
	b.WriteString("## Memory and indicator load\n\nHeap is the Go heap grown by the loaded store after a GC, per live indicator; RSS is VmRSS after the load and VmHWM (peak) of the process measuring that scale")
	if r.Config.Isolated {
		b.WriteString(" (one process per scale)")
	}
	b.WriteString(". Load rates are indicators/s from files to normalised indicators; \"total\" includes indexing and publishing the snapshot.\n\n")
	t := newTable(b, "indicators", "live", "types", "heap/indicator", "heap", "RSS after load", "peak RSS", "flat feeds/s", "STIX/s", "index", "total/s", "DuckDB indicator ingest")
	for _, s := range r.Scales {
		var types []string
		for _, ty := range engineTypes {
			if c := s.Workload.PerType[ty.String()]; c > 0 {
				types = append(types, fmt.Sprintf("%s %d", ty, c))
			}
		}
		ing := "–"
		if len(s.SQL) > 0 {
			ing = fmt.Sprintf("%.2f s", s.SQL[0].IndicatorSeconds)
		}
		l, mem := s.Load, s.Memory
		t.row(s.Name, fmt.Sprint(s.Workload.Live), strings.Join(types, ", "), fmt.Sprintf("%.0f B", mem.BytesPerIndicator), size(float64(mem.HeapBytes)),
			size(float64(mem.RSSBytes)), size(float64(mem.HWMEndBytes)), rate(l.FlatPerSec), rate(l.STIXPerSec),
			fmt.Sprintf("%.2f s", l.IndexSeconds), rate(l.TotalPerSec), ing)
	}
	b.WriteString("\n![memory against indicator count](memory.png)\n\n")
}

func (r *Report) updateSection(b *strings.Builder) {
	b.WriteString("## Live update\n\nIndicator versions (new indicators, newer versions, revocations) applied with `Store.Upsert` in batches while every core keeps matching the CEF file.\n\n")
	t := newTable(b, "indicators", "updates", "batches", "time to apply", "per indicator", "batch p50 / p99 / max", "matching before", "matching during", "during ÷ before")
	for _, s := range r.Scales {
		u := s.Update
		t.row(s.Name, fmt.Sprint(u.Indicators), fmt.Sprint(u.Batches), fmt.Sprintf("%.0f ms", u.Seconds*1e3), us(u.PerIndicatorUs),
			fmt.Sprintf("%.2f / %.2f / %.2f ms", u.BatchP50Ms, u.BatchP99Ms, u.BatchMaxMs), rate(u.BaselineEventsPerSec), rate(u.DuringEventsPerSec),
			ratio(u.DuringEventsPerSec, u.BaselineEventsPerSec))
	}
	b.WriteString("\n")
}

func (r *Report) stageSection(b *strings.Builder) {
	b.WriteString("## Cost per event by stage\n\nSingle core; each stage is the difference of two passes' time per event (read+split; +decode; +match; +aggregate and write alerts).\n\n")
	t := newTable(b, "indicators", "file", "read+split", "decode", "match", "aggregate+write", "slowest")
	for _, s := range r.Scales {
		for _, tr := range s.Tables {
			st := tr.Stages
			t.row(s.Name, tr.File, ns(st.ReadSplitNs), ns(st.DecodeNs), ns(st.MatchNs), ns(st.AlertNs), fmt.Sprintf("%s (%s)", st.Slowest, ns(st.SlowestNs)))
		}
	}
	b.WriteString("\n")
}

func ns(v float64) string { return fmt.Sprintf("%.0f ns", v) }

func (r *Report) agreementSection(b *strings.Builder) {
	b.WriteString("## Alert agreement\n\ntimap (single core; CEF for CommonSecurityLog, which equals its NDJSON run) against the DuckDB baseline. Every alert is compared by SystemAlertId (rule, indicator, value, window) with its count and first and last time.\n\n")
	t := newTable(b, "indicators", "table", "timap alerts", "SQL alerts", "SQL threads", "equal", "alerts per rule")
	for _, s := range r.Scales {
		for _, a := range s.Agreement {
			eq := "yes"
			if !a.Equal {
				eq = "**no**"
			}
			var per []string
			for _, tr := range s.Tables {
				if tr.Table == a.Table && (tr.Format == "cef" || tr.Table != "CommonSecurityLog") {
					for _, id := range slices.Sorted(mapKeys(tr.PerRule)) {
						per = append(per, fmt.Sprintf("%s %d", short(id), tr.PerRule[id]))
					}
				}
			}
			t.row(s.Name, a.Table, fmt.Sprint(a.TimapAlerts), fmt.Sprint(a.SQLAlerts), fmt.Sprint(a.SQLThreads), eq, strings.Join(per, ", "))
		}
	}
	for _, s := range r.Scales {
		for _, a := range s.Agreement {
			if !a.Equal {
				fmt.Fprintf(b, "\n%s %s (%d threads): %s\n", s.Name, a.Table, a.SQLThreads, "```\n"+a.Diff+"\n```")
			}
		}
	}
	b.WriteString("\n")
}

// shortNames maps the id of a built-in rule to its catalogue number, the
// start of its file name (sentinel/R27-….yaml → R27).
var shortNames = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	rs, _ := rules.Builtin()
	for _, r := range rs {
		if n, _, ok := strings.Cut(path.Base(r.SourceFile), "-"); ok {
			m[r.ID] = n
		}
	}
	return m
})

// short names a rule in the report: R27 for a built-in rule, B01 for
// bench-B01-….
func short(id string) string {
	if n, ok := shortNames()[id]; ok {
		return n
	}
	if rest, ok := strings.CutPrefix(id, "bench-"); ok {
		return rest[:3]
	}
	return id
}
