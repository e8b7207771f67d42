package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"timap/connectors/files"
	"timap/engine"
)

func printSummary(w io.Writer, irep *files.IndicatorReport, ures engine.UpsertResult, loadTime time.Duration,
	erep *eventReport, perRule map[string]int, ruleSet []*engine.Rule, x *engine.Executor) {
	fmt.Fprintf(w, "indicators: %d files (%d unreadable), %d indicators loaded in %s, %d distinct after newest-version-wins, %d revoked\n",
		irep.Files, irep.FileErrors, irep.Indicators, loadTime.Round(time.Millisecond),
		ures.Added+ures.Updated+ures.Revoked, ures.Revoked)
	if irep.Indicators == 0 {
		fmt.Fprintln(w, "  warning: no indicators loaded: nothing can match")
	}
	fmt.Fprintf(w, "  observables:")
	for t := engine.TypeIP; t <= engine.TypeFileHash; t++ {
		fmt.Fprintf(w, " %s=%d", t, irep.Observables[t])
	}
	fmt.Fprintln(w)
	if irep.Unsupported+irep.Partial > 0 {
		fmt.Fprintf(w, "  %d indicators have no value timap can index (they never match); %d are partially enforced (only their strongest value is matched; conditions such as file names, ports or time windows are not checked)\n",
			irep.Unsupported, irep.Partial)
	}
	if len(irep.Rejected) > 0 {
		// One line per reason with its count and first examples: a feed
		// with 40,000 path-only lines must not hide a single bad file.
		fmt.Fprintln(w, "  refused:")
		for _, reason := range slices.Sorted(maps.Keys(irep.Rejected)) {
			n := irep.Rejected[reason]
			fmt.Fprintf(w, "    %-20s %d\n", reason, n)
			shown := 0
			for _, p := range irep.Problems {
				if p.Reason == reason && shown < examplesPerReason {
					shown++
					fmt.Fprintf(w, "      %s\n", p.Message)
				}
			}
			if n > shown {
				fmt.Fprintf(w, "      … and %d more (timap indicators load prints them all)\n", n-shown)
			}
		}
	}
	rate := float64(erep.read) / max(erep.elapsed.Seconds(), 1e-9)
	fmt.Fprintf(w, "events: %d files (%d unreadable), %d rows read (%s), %d bad lines, %d matches, %.0f rows/s\n",
		erep.files, erep.fileErrors, erep.read, countList(erep.perTable), erep.bad, erep.matches, rate)
	for _, p := range erep.problems {
		fmt.Fprintf(w, "    %s\n", p)
	}
	if n := erep.bad + erep.fileErrors - len(erep.problems); n > 0 {
		fmt.Fprintf(w, "    … and %d more\n", n)
	}
	for _, t := range slices.Sorted(maps.Keys(erep.perTable)) {
		if len(x.Needs(t)) == 0 {
			fmt.Fprintf(w, "  warning: no rule reads table %s (%d rows)\n", t, erep.perTable[t])
		}
	}
	total := 0
	for _, n := range perRule {
		total += n
	}
	fmt.Fprintf(w, "alerts: %d\n", total)
	for _, r := range ruleSet {
		if n := perRule[r.ID]; n > 0 {
			fmt.Fprintf(w, "  %5d  %s  %s\n", n, r.ID, r.Name)
		}
	}
}

func countList(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}
