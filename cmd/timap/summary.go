package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"timap/connectors/files"
	"timap/connectors/tabular"
	"timap/engine"
)

func printSummary(w io.Writer, irep *files.IndicatorReport, st engine.Stats, loadTime time.Duration,
	erep *eventReport, perRule map[string]int, ruleSet []*engine.Rule, x *engine.Executor, examples int) {
	fmt.Fprintf(w, "indicators: %d files (%d unreadable), %d indicators loaded in %s, %d distinct ids (newest version wins), %d revoked\n",
		irep.Files, irep.FileErrors, irep.Indicators, loadTime.Round(time.Millisecond), st.Indicators, st.Indicators-st.Live)
	for _, src := range irep.Sources {
		fmt.Fprintf(w, "  %s\n", clean(src))
	}
	if irep.SourceErrors > 0 {
		fmt.Fprintf(w, "  %d remote sources failed (see taxii-error below)\n", irep.SourceErrors)
	}
	if irep.Indicators == 0 {
		fmt.Fprintln(w, "  warning: no indicators loaded: nothing can match")
	}
	printObservables(w, irep.Observables)
	if irep.Unsupported+irep.Partial > 0 {
		fmt.Fprintf(w, "  %d indicators have no value timap can index (they never match); %d are partially enforced (only their strongest value is matched; conditions such as file names, ports or time windows are not checked)\n",
			irep.Unsupported, irep.Partial)
	}
	printRefused(w, irep.Rejected, irep.Problems, examples)
	rate := float64(erep.read) / max(erep.elapsed.Seconds(), 1e-9)
	fmt.Fprintf(w, "events: %d files (%d unreadable), %d rows read (%s), %d bad lines, %d matches, %.0f rows/s\n",
		erep.files, erep.fileErrors, erep.read, countList(erep.perTable), erep.bad, erep.matches, rate)
	if erep.outOfRange > 0 {
		fmt.Fprintf(w, "  %d rows outside the time range skipped\n", erep.outOfRange)
	}
	for _, p := range erep.problems {
		fmt.Fprintf(w, "    %s\n", clean(p))
	}
	if n := erep.bad + erep.fileErrors - len(erep.problems); n > 0 {
		fmt.Fprintf(w, "    … and %d more\n", n)
	}
	printColumnIssues(w, &erep.columns, examples)
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

// printColumnIssues prints what the table schemas found in NDJSON and CSV
// rows (rows are kept): the most frequent findings first, up to examples
// of them (all when examples < 0).
func printColumnIssues(w io.Writer, rep *tabular.Report, examples int) {
	issues := rep.Issues()
	if len(issues) == 0 {
		return
	}
	fmt.Fprintf(w, "  schema: %d findings in exported rows, rows kept (unknown tables or columns, renamed columns, values of the wrong type):\n", rep.Total())
	shown := int64(0)
	for i, is := range issues {
		if examples >= 0 && i >= 10 {
			break
		}
		fmt.Fprintf(w, "    %s\n", clean(is.String()))
		shown += is.Count
	}
	if n := rep.Total() - shown; n > 0 {
		fmt.Fprintf(w, "    … and %d more (--verbose lists every kind)\n", n)
	}
	// Most columns unknown: most likely rows of another table, read as
	// --table because they name none.
	unknown := map[string]int{}
	for _, is := range issues {
		if is.Kind == tabular.UnknownColumn {
			unknown[is.Table]++
		}
	}
	for _, t := range slices.Sorted(maps.Keys(unknown)) {
		if unknown[t] >= 3 && 2*unknown[t] >= rep.Columns(t) {
			fmt.Fprintf(w, "  hint: %d of the %d columns are not in %s's schema: if these rows are of another table, give it with --table or a Type column\n", unknown[t], rep.Columns(t), t)
		}
	}
}

// printObservables prints the admitted observables per type.
func printObservables(w io.Writer, perType map[engine.ObservableType]int) {
	fmt.Fprint(w, "  observables:")
	for t := engine.TypeIP; t <= engine.LastType; t++ {
		fmt.Fprintf(w, " %s=%d", t, perType[t])
	}
	fmt.Fprintln(w)
}

// printRefused prints one line per refusal reason with its count and up to
// examples messages (all of them when examples < 0): a feed with 40,000
// path-only lines must not hide a single bad file.
func printRefused(w io.Writer, perReason map[string]int, problems []files.Problem, examples int) {
	if len(perReason) == 0 {
		return
	}
	fmt.Fprintln(w, "  refused:")
	for _, reason := range slices.Sorted(maps.Keys(perReason)) {
		n := perReason[reason]
		fmt.Fprintf(w, "    %-20s %d\n", reason, n)
		shown := 0
		for _, p := range problems {
			if p.Reason == reason && (examples < 0 || shown < examples) {
				shown++
				fmt.Fprintf(w, "      %s\n", clean(p.Message))
			}
		}
		if n > shown {
			fmt.Fprintf(w, "      … and %d more (--verbose lists them all)\n", n-shown)
		}
	}
}

// maxShownMessage bounds one problem line.
const maxShownMessage = 400

// clean makes a message safe for a terminal: control characters and
// invalid UTF-8 from hostile input (feed lines, STIX ids, file names) are
// escaped, and long messages are cut.
func clean(msg string) string { return cleanMax(msg, maxShownMessage) }

// cleanMax is clean with its own length limit (rule-file errors are read
// whole: their hint comes last).
func cleanMax(msg string, limit int) string {
	var b strings.Builder
	for i, r := range msg {
		if b.Len() > limit {
			fmt.Fprintf(&b, "… (%d bytes)", len(msg))
			break
		}
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(msg[i:], "\uFFFD"):
			fmt.Fprintf(&b, "\\x%02x", msg[i])
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func countList(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}
