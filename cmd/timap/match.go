package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"timap/connectors/files"
	"timap/engine"
	"timap/rules"
)

// maxShownProblems bounds the problems printed one per line; the rest are
// counted by reason.
const maxShownProblems = 20

// examplesPerReason is how many refused values are shown per reason.
const examplesPerReason = 3

func runMatch(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("timap match", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var indicators, events, ruleFiles listFlag
	fs.Var(&indicators, "indicators", "indicator files or directories: STIX 2.x JSON (*.json) or flat feeds; repeatable")
	fs.Var(&events, "events", "event files (CEF lines, NDJSON rows, *.csv exports, *.gz), - for stdin; repeatable")
	fs.Var(&ruleFiles, "rules", "extra rule files or directories (YAML) added to the built-in rules")
	table := fs.String("table", "", "table of NDJSON rows without a Type key and of CSV files (default CommonSecurityLog)")
	format := fs.String("format", "auto", "indicator file format: auto (STIX for *.json, else flat feed), stix or feed")
	nowFlag := fs.String("now", "", "the current time, RFC 3339 (default: the clock); fixes expiry decisions so runs are reproducible")
	window := fs.Duration("window", time.Hour, "suppression window: one alert per rule, indicator and value per window of event time")
	grace := fs.Duration("expiry-grace", time.Hour, "how long after an indicator's expiry a late event stamped before the expiry still matches")
	if err := fs.Parse(expandLists(args, map[string]bool{"indicators": true, "events": true, "rules": true})); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "timap match: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if len(indicators) == 0 || len(events) == 0 {
		fmt.Fprintln(stderr, "timap match: --indicators and --events are required")
		fs.Usage()
		return 2
	}
	now := time.Now().UTC()
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339Nano, *nowFlag)
		if err != nil {
			fmt.Fprintf(stderr, "timap match: --now: %v\n", err)
			return 2
		}
		now = t.UTC()
	}

	ruleSet, err := rules.Builtin()
	if err == nil && len(ruleFiles) > 0 {
		var extra []*engine.Rule
		extra, err = rules.Load(ruleFiles...)
		ruleSet = append(ruleSet, extra...)
	}
	if err != nil {
		fmt.Fprintf(stderr, "timap match: rules: %v\n", err)
		return 1
	}

	store := engine.NewStore(engine.StoreOptions{})
	var loaded []*engine.Indicator
	start := time.Now()
	irep, err := files.LoadIndicators(indicators, *format, now, func(b []*engine.Indicator) { loaded = append(loaded, b...) })
	if err != nil {
		fmt.Fprintf(stderr, "timap match: indicators: %v\n", err)
		return 1
	}
	ures := store.Upsert(loaded...)
	store.Rebuild()
	loadTime := time.Since(start)

	x, err := engine.NewExecutor(store, ruleSet, engine.ExecutorOptions{Grace: *grace})
	if err != nil {
		fmt.Fprintf(stderr, "timap match: %v\n", err)
		return 1
	}
	out := bufio.NewWriterSize(stdout, 64<<10)
	enc := json.NewEncoder(out)
	perRule := map[string]int{}
	agg := engine.NewAggregator(engine.AggregatorOptions{Window: *window}, func(a *engine.Alert) error {
		perRule[a.RuleId]++
		return enc.Encode(a)
	})
	erep, err := matchFiles(events, *table, now, x, agg)
	if err == nil {
		err = agg.Flush()
	}
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	printSummary(stderr, irep, ures, loadTime, erep, perRule, ruleSet)
	if err != nil {
		fmt.Fprintf(stderr, "timap match: %v\n", err)
		return 1
	}
	return 0
}

// eventReport summarises the events side of a match run.
type eventReport struct {
	files, read, bad, matches int
	perTable                  map[string]int
	problems                  []string
	elapsed                   time.Duration
}

func matchFiles(paths []string, table string, now time.Time, x *engine.Executor, agg *engine.Aggregator) (*eventReport, error) {
	rep := &eventReport{perTable: map[string]int{}}
	start := time.Now()
	defer func() { rep.elapsed = time.Since(start) }()
	m := x.NewMatcher()
	var ev engine.Event
	var aggErr error
	emit := func(mt *engine.Match) {
		rep.matches++
		if err := agg.Add(mt); err != nil && aggErr == nil {
			aggErr = err
		}
	}
	for _, path := range paths {
		r, err := files.OpenEvents(path, table, now)
		if err != nil {
			return rep, err
		}
		rep.files++
		for {
			err := r.Next(&ev, x.Needs)
			if err == io.EOF {
				break
			}
			var le *files.LineError
			if errors.As(err, &le) {
				rep.bad++
				if len(rep.problems) < maxShownProblems {
					rep.problems = append(rep.problems, le.Error())
				}
				continue
			}
			if err != nil {
				r.Close()
				return rep, err
			}
			rep.read++
			rep.perTable[ev.Table]++
			m.Match(&ev, now, emit)
			if aggErr != nil {
				r.Close()
				return rep, aggErr
			}
		}
		r.Close()
	}
	return rep, nil
}

func printSummary(w io.Writer, irep *files.IndicatorReport, ures engine.UpsertResult, loadTime time.Duration,
	erep *eventReport, perRule map[string]int, ruleSet []*engine.Rule) {
	fmt.Fprintf(w, "indicators: %d files (%d unreadable), %d indicators loaded in %s (%d unsupported, %d partially enforced), %d distinct after newest-version-wins, %d revoked\n",
		irep.Files, irep.FileErrors, irep.Indicators, loadTime.Round(time.Millisecond), irep.Unsupported, irep.Partial,
		ures.Added+ures.Updated+ures.Revoked, ures.Revoked)
	fmt.Fprintf(w, "  observables:")
	for t := engine.TypeIP; t <= engine.TypeFileHash; t++ {
		fmt.Fprintf(w, " %s=%d", t, irep.Observables[t])
	}
	fmt.Fprintln(w)
	if len(irep.Rejected) > 0 {
		// One line per reason with its count and first examples: a feed
		// with 40,000 path-only lines must not hide a single bad file.
		fmt.Fprintln(w, "  rejected:")
		shown := map[string]int{}
		for _, reason := range slices.Sorted(maps.Keys(irep.Rejected)) {
			fmt.Fprintf(w, "    %-20s %d\n", reason, irep.Rejected[reason])
			for _, p := range irep.Problems {
				if p.Reason == reason && shown[reason] < examplesPerReason {
					shown[reason]++
					fmt.Fprintf(w, "      %s\n", p.Message)
				}
			}
		}
	}
	if erep != nil {
		rate := float64(erep.read) / max(erep.elapsed.Seconds(), 1e-9)
		fmt.Fprintf(w, "events: %d files, %d rows read (%s), %d bad lines, %d matches, %.0f rows/s\n",
			erep.files, erep.read, countList(erep.perTable), erep.bad, erep.matches, rate)
		for _, p := range erep.problems {
			fmt.Fprintf(w, "    %s\n", p)
		}
		if n := erep.bad - len(erep.problems); n > 0 {
			fmt.Fprintf(w, "    … and %d more\n", n)
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
