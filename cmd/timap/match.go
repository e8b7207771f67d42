package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"timap/connectors/files"
	"timap/connectors/tabular"
	"timap/engine"
	"timap/rules"
)

// maxShownProblems bounds the bad event lines printed one per line; the
// rest are counted.
const maxShownProblems = 20

// examplesPerReason is how many refused values are shown per reason.
const examplesPerReason = 3

// matchFlags are the parsed flags of `timap match`.
type matchFlags struct {
	indicators, events, ruleFiles listFlag
	table, format, taxiiSources   string
	now                           time.Time
	nowSet                        bool // --now given: the clock stands still
	window, grace                 time.Duration
	verbose                       bool
	compat                        string
	// from and to bound the rows' TimeGenerated (hunts); zero: no bound.
	from, to time.Time
}

// inRange reports whether a row's time is within --from/--to.
func (f *matchFlags) inRange(t time.Time) bool {
	return (f.from.IsZero() || !t.Before(f.from)) && (f.to.IsZero() || t.Before(f.to))
}

// clock returns the time expiry is judged at: --now, or the wall clock (a
// stream from stdin runs for as long as it runs).
func (f *matchFlags) clock() time.Time {
	if f.nowSet {
		return f.now
	}
	return time.Now().UTC()
}

func parseMatchFlags(args []string, stdout, stderr io.Writer) (*matchFlags, int) {
	fs := flag.NewFlagSet("timap match", flag.ContinueOnError)
	fs.SetOutput(helpOutput(args, stdout, stderr))
	f := &matchFlags{}
	fs.Var(&f.indicators, "indicators", "indicator files or directories: STIX 2.x JSON (*.json) or flat feeds; repeatable")
	fs.Var(&f.events, "events", "event files (CEF lines, NDJSON rows, *.csv exports, gzip), - for stdin; repeatable")
	fs.Var(&f.ruleFiles, "rules", "extra rule files or directories (YAML) added to the built-in rules")
	fs.StringVar(&f.table, "table", "", "table of NDJSON rows without a Type key and of CSV files (default CommonSecurityLog)")
	fs.StringVar(&f.taxiiSources, "taxii-sources", "", "YAML file of TAXII 2.0/2.1 sources (see timap indicators pull taxii --sources) pulled once, per their lookback, before matching")
	fs.StringVar(&f.format, "format", "auto", "indicator file format: auto (STIX for *.json, else flat feed), stix or feed")
	fromFlag := fs.String("from", "", "only rows with TimeGenerated at or after this time (RFC 3339)")
	toFlag := fs.String("to", "", "only rows with TimeGenerated before this time (RFC 3339)")
	nowFlag := fs.String("now", "", "the current time, RFC 3339 (default: the clock); fixes expiry decisions so runs are reproducible")
	fs.StringVar(&f.compat, "compat", "", `"sentinel" reproduces the Sentinel KQL rules' results, quirks included (docs/sentinel-differences.md); default timap's semantics`)
	fs.BoolVar(&f.verbose, "verbose", false, "list every refused indicator value and bad event line, not only the first few")
	fs.DurationVar(&f.window, "window", time.Hour, "suppression window: one alert per rule, indicator and value per window of event time")
	fs.DurationVar(&f.grace, "expiry-grace", time.Hour, "how long after an indicator's expiry a late event stamped before the expiry still matches")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: timap match --indicators PATH... --events PATH... [flags]\n\nflags:")
		fs.PrintDefaults()
	}
	err := fs.Parse(expandLists(args, map[string]bool{"indicators": true, "events": true, "rules": true}))
	if errors.Is(err, flag.ErrHelp) {
		return nil, 0
	}
	usage := func(format string, a ...any) (*matchFlags, int) {
		fmt.Fprintf(stderr, "timap match: "+format+"\n", a...)
		return nil, 2
	}
	switch {
	case err != nil:
		return nil, 2
	case fs.NArg() > 0:
		return usage("unexpected argument %q", fs.Arg(0))
	case (len(f.indicators) == 0 && f.taxiiSources == "") || len(f.events) == 0:
		return usage("--indicators (or --taxii-sources) and --events are required (timap match -h for help)")
	case !slices.Contains(files.Formats, f.format):
		return usage("--format %q: want auto, stix or feed", f.format)
	case f.window <= 0:
		return usage("--window must be positive, got %v", f.window)
	case f.grace < 0:
		return usage("--expiry-grace must not be negative, got %v", f.grace)
	case f.compat != "" && f.compat != "sentinel":
		return usage("--compat %q: the only compatibility mode is sentinel", f.compat)
	}
	f.now = time.Now().UTC()
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339Nano, *nowFlag)
		if err != nil {
			return usage("--now: %v", err)
		}
		f.now, f.nowSet = t.UTC(), true
	}
	for _, b := range []struct {
		flag string
		v    *string
		t    *time.Time
	}{{"from", fromFlag, &f.from}, {"to", toFlag, &f.to}} {
		if *b.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, *b.v)
		if err != nil {
			return usage("--%s: %v", b.flag, err)
		}
		*b.t = t.UTC()
	}
	return f, -1
}

func runMatch(args []string, stdout, stderr io.Writer) int {
	f, code := parseMatchFlags(args, stdout, stderr)
	if f == nil {
		return code
	}
	ruleSet, err := rules.Builtin()
	if err == nil && len(f.ruleFiles) > 0 {
		extra, lerr := rules.Load(f.ruleFiles...)
		var replaced []rules.Override
		var derr error
		ruleSet, replaced, derr = rules.WithOverrides(ruleSet, extra)
		err = errors.Join(lerr, derr)
		for _, o := range replaced {
			fmt.Fprintf(stderr, "rules: %s replaces built-in rule %s\n", clean(o.Rule.SourceFile), clean(numbered(o.Builtin, o.Builtin.Name)))
		}
	}
	if err != nil {
		for _, e := range unjoin(err) {
			fmt.Fprintf(stderr, "timap match: rules: %s\n", cleanMax(e.Error(), maxRuleError))
		}
		return 1
	}
	return matchWith(f, ruleSet, stdout, stderr)
}

// matchWith runs a match (or a hunt) of ruleSet with the parsed flags.
func matchWith(f *matchFlags, ruleSet []*engine.Rule, stdout, stderr io.Writer) int {

	// Compat mode keeps older indicator versions: Sentinel filters every
	// TI row of the last 14 days before keeping the latest (spec §0.3 item 3).
	store := engine.NewStore(engine.StoreOptions{KeepVersions: f.compat == "sentinel"})
	var loaded []*engine.Indicator
	start := time.Now()
	irep, err := files.LoadIndicators(f.indicators, f.format, f.now, func(b []*engine.Indicator) { loaded = append(loaded, b...) })
	if err != nil {
		fmt.Fprintf(stderr, "timap match: indicators: %v\n", err)
		return 1
	}
	if f.taxiiSources != "" {
		pullTAXII(f.taxiiSources, f.now, irep, func(b []*engine.Indicator) { loaded = append(loaded, b...) })
	}
	store.Upsert(loaded...)
	loaded = nil
	loadTime := time.Since(start)

	xopts := engine.ExecutorOptions{Grace: f.grace}
	if f.compat == "sentinel" {
		xopts = engine.ExecutorOptions{Compat: true} // Sentinel has no lateness grace
	}
	x, err := engine.NewExecutor(store, ruleSet, xopts)
	if err != nil {
		fmt.Fprintf(stderr, "timap match: %v\n", err)
		return 1
	}
	r := newMatchRun(x, f, stdout)
	if r.schemas, err = rules.Schemas(ruleSet); err != nil {
		fmt.Fprintf(stderr, "timap match: %v\n", err)
		return 1
	}
	examples := examplesPerReason
	if f.verbose {
		examples = -1
		r.maxProblems = -1
	}
	st := store.Stats()
	summary := func() { printSummary(stderr, irep, st, loadTime, &r.rep, r.perRule, ruleSet, x, examples) }

	// SIGINT/SIGTERM: write the alerts found so far and the summary, then
	// exit, even while a read from stdin blocks.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		sig, ok := <-sigs
		if !ok {
			return
		}
		r.mu.Lock()
		if r.done {
			return // the run finished as the signal came: it prints the summary
		}
		r.finish()
		summary()
		fmt.Fprintf(stderr, "timap match: stopped by %v\n", sig)
		exit(1)
	}()

	r.matchAll(f.events)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = true
	r.finish()
	summary()
	switch {
	case r.err != nil:
		fmt.Fprintf(stderr, "timap match: %v\n", r.err)
		return 1
	case r.rep.fileErrors > 0 || irep.NamedUnreadable > 0:
		return 1
	}
	return 0
}

// helpOutput is where a flag set writes: stdout when help was asked for
// (it is the answer), stderr for usage errors.
func helpOutput(args []string, stdout, stderr io.Writer) io.Writer {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			return stdout
		}
		if a == "--" {
			break
		}
	}
	return stderr
}

// exit ends the process; a variable so that tests never reach it.
var exit = os.Exit

// matchRun is one `timap match` over event files. mu guards everything
// below it: the reading loop holds it per row, a signal handler to finish.
type matchRun struct {
	x       *engine.Executor
	flags   *matchFlags
	schemas engine.Schemas // type NDJSON and CSV rows

	mu      sync.Mutex
	agg     *engine.Aggregator
	out     *bufio.Writer
	enc     *json.Encoder
	stream  bool // reading stdin: emit and flush alerts as they happen
	perRule map[string]int
	rep     eventReport
	err     error // first output error
	done    bool  // the normal end has the summary to print

	maxProblems int // bad lines listed; < 0 all
}

func newMatchRun(x *engine.Executor, f *matchFlags, stdout io.Writer) *matchRun {
	r := &matchRun{x: x, flags: f, perRule: map[string]int{}, rep: eventReport{perTable: map[string]int{}}, maxProblems: maxShownProblems}
	r.out = bufio.NewWriterSize(stdout, 64<<10)
	r.enc = json.NewEncoder(r.out)
	r.stream = slices.Contains(f.events, "-")
	// A stream closes windows as event time passes (joined matches may come
	// a join window late); a batch run only at the end, so rows in any
	// order count into their window and each alert is written once.
	lateness := x.JoinWindow()
	if !r.stream {
		lateness = batchLateness
	}
	opts := engine.AggregatorOptions{Window: f.window, Lateness: lateness, EmitFirst: r.stream, Clock: f.clock, MaxFuture: 24 * time.Hour,
		SentinelDedup: f.compat == "sentinel"}
	r.agg = engine.NewAggregator(opts, func(a *engine.Alert) error {
		if !r.stream || a.EventCount == 1 {
			r.perRule[a.RuleId]++ // a stream re-emits an alert with its final count
		}
		if err := r.enc.Encode(a); err != nil {
			return err
		}
		if r.stream {
			return r.out.Flush()
		}
		return nil
	})
	return r
}

// batchLateness keeps every window of a batch run open until the end.
const batchLateness = 100 * 365 * 24 * time.Hour

// eventReport summarises the events side of a match run.
type eventReport struct {
	files, fileErrors, read, bad, matches int
	outOfRange                            int // rows outside --from/--to
	perTable                              map[string]int
	problems                              []string
	columns                               tabular.Report // schema findings in NDJSON/CSV rows
	elapsed                               time.Duration
}

func (r *matchRun) problem(msg string) {
	if r.maxProblems < 0 || len(r.rep.problems) < r.maxProblems {
		r.rep.problems = append(r.rep.problems, msg)
	}
}

// matchAll reads every events path in turn; a path that cannot be opened
// or read is reported and the others are still processed.
func (r *matchRun) matchAll(paths []string) {
	start := time.Now()
	m := r.x.NewMatcher()
	var ev engine.Event
	emit := func(mt *engine.Match) {
		r.rep.matches++
		if err := r.agg.Add(mt); err != nil && r.err == nil {
			r.err = err
		}
	}
	needAny := r.x.NeedsAny()
	for _, path := range files.Walk(paths) {
		rd, err := files.OpenEvents(path, r.flags.table, r.flags.now)
		r.mu.Lock()
		r.rep.files++
		if err != nil {
			r.rep.fileErrors++
			r.problem(err.Error())
			r.mu.Unlock()
			continue
		}
		r.mu.Unlock()
		rd.SetNeedAny(needAny)
		rd.SetSchema(tabular.Schema{Schemas: r.schemas, Report: &r.rep.columns})
		for {
			err := rd.Next(&ev, r.x.Needs)
			r.mu.Lock()
			var le *files.LineError
			switch {
			case err == io.EOF:
			case errors.As(err, &le):
				r.rep.bad++
				r.problem(le.Error())
			case err != nil:
				r.rep.fileErrors++
				r.problem(err.Error())
			case !r.flags.inRange(ev.TimeGenerated):
				r.rep.outOfRange++
			default:
				r.rep.read++
				r.rep.perTable[ev.Table]++
				m.Match(&ev, r.flags.clock(), emit)
			}
			stop := r.err != nil
			r.rep.elapsed = time.Since(start)
			r.mu.Unlock()
			if stop || (err != nil && le == nil) {
				break
			}
		}
		rd.Close()
	}
}

// finish emits the open alerts and flushes the output. Call with mu held.
func (r *matchRun) finish() {
	if err := r.agg.Flush(); err != nil && r.err == nil {
		r.err = err
	}
	if err := r.out.Flush(); err != nil && r.err == nil {
		r.err = err
	}
}
