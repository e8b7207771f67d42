package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"timap/connectors/files"
	"timap/connectors/taxii"
	"timap/connectors/tiexport"
	"timap/engine"
)

const indicatorsUsage = `usage:
  timap indicators load PATH... [--format auto|stix|feed] [--now RFC3339]
  timap indicators pull taxii --api-root URL --collection ID [--version 2.0|2.1]
        [--user U --password P | --token T] [--api-key-header H --api-key K]
        [--cert FILE --key FILE] [--ca FILE] [--added-after RFC3339] [--lookback all|1d|1w|1m]
        [--state FILE] [--name FRIENDLY] [--timeout DURATION] [--now RFC3339]
  timap indicators pull taxii --sources FILE [--state FILE] [--timeout DURATION] [--now RFC3339]

Both print the normalised indicators as NDJSON with ThreatIntelligenceIndicator
column names on stdout and a summary on stderr. --password and --token default
to $TAXII_PASSWORD and $TAXII_TOKEN, so secrets stay off the command line.`

// indShownPerReason is how many problems are printed per reason.
const indShownPerReason = 3

// runIndicators is "timap indicators": load or pull indicators and print
// them as ThreatIntelligenceIndicator rows.
func runIndicators(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, indicatorsUsage)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stdout, indicatorsUsage)
		return 0
	}
	switch args[0] {
	case "load":
		return runIndicatorsLoad(args[1:], stdout, stderr)
	case "pull":
		if len(args) < 2 || args[1] != "taxii" {
			fmt.Fprintln(stderr, "timap indicators pull: the only source kind is taxii\n"+indicatorsUsage)
			return 2
		}
		return runIndicatorsPull(args[2:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "timap indicators: unknown subcommand %q\n%s\n", args[0], indicatorsUsage)
	return 2
}

// parseInterleaved parses flags that may come before, between or after
// the positional arguments ("load a.json --format stix b.txt").
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// parseNow reads --now; "" is the clock.
func parseNow(v string) (time.Time, error) {
	if v == "" {
		return time.Now().UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t.UTC(), err
}

func runIndicatorsLoad(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("timap indicators load", flag.ContinueOnError)
	fs.SetOutput(helpOutput(args, stdout, stderr))
	format := fs.String("format", "auto", "indicator file format: auto (STIX for *.json, else flat feed), stix or feed")
	nowFlag := fs.String("now", "", "ingest time (TimeGenerated), RFC 3339; default the clock")
	verbose := fs.Bool("verbose", false, "list every refused value, not only the first few per reason")
	paths, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "timap indicators load: no PATH given\n"+indicatorsUsage)
		return 2
	}
	if !slices.Contains(files.Formats, *format) {
		fmt.Fprintf(stderr, "timap indicators load: --format %q: want %s\n", *format, strings.Join(files.Formats, ", "))
		return 2
	}
	now, err := parseNow(*nowFlag)
	if err != nil {
		fmt.Fprintf(stderr, "timap indicators load: --now: %v\n", err)
		return 2
	}
	var loaded []*engine.Indicator
	rep, err := files.LoadIndicators(paths, *format, now, func(b []*engine.Indicator) { loaded = append(loaded, b...) })
	if err != nil {
		fmt.Fprintf(stderr, "timap indicators load: %v\n", err)
		return 1
	}
	if err := tiexport.WriteNDJSON(stdout, newestVersions(loaded)); err != nil {
		fmt.Fprintf(stderr, "timap indicators load: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "indicators: %d files (%d unreadable), %d indicators (%d unsupported, %d partially enforced)\n",
		rep.Files, rep.FileErrors, rep.Indicators, rep.Unsupported, rep.Partial)
	printObservables(stderr, rep.Observables)
	examples := indShownPerReason
	if *verbose {
		examples = -1
	}
	printRefused(stderr, rep.Rejected, rep.Problems, examples)
	if rep.NamedUnreadable > 0 || (rep.FileErrors > 0 && rep.FileErrors == rep.Files) {
		return 1
	}
	return 0
}

// newestVersions keeps, per IndicatorId, the version with the newest
// Modified (the first one on a tie), in first-seen order: several files
// may carry versions of one indicator, and a consumer that upserts rows by
// IndicatorId must end with the newest.
func newestVersions(inds []*engine.Indicator) []*engine.Indicator {
	at := make(map[string]int, len(inds))
	out := inds[:0:0]
	for _, ind := range inds {
		i, seen := at[ind.IndicatorId]
		switch {
		case !seen:
			at[ind.IndicatorId] = len(out)
			out = append(out, ind)
		case ind.Modified.After(out[i].Modified):
			out[i] = ind
		}
	}
	return out
}

func runIndicatorsPull(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("timap indicators pull taxii", flag.ContinueOnError)
	fs.SetOutput(helpOutput(args, stdout, stderr))
	var s taxii.Source
	fs.StringVar(&s.APIRoot, "api-root", "", "TAXII API root URL (Sentinel's taxiiServer)")
	fs.StringVar(&s.Collection, "collection", "", "collection id")
	fs.StringVar(&s.Version, "version", "2.1", "TAXII version: 2.0 or 2.1")
	fs.StringVar(&s.Username, "user", "", "HTTP Basic user name")
	fs.StringVar(&s.Password, "password", os.Getenv("TAXII_PASSWORD"), "HTTP Basic password (default $TAXII_PASSWORD)")
	fs.StringVar(&s.Token, "token", os.Getenv("TAXII_TOKEN"), "bearer token (default $TAXII_TOKEN)")
	fs.StringVar(&s.APIKeyHeader, "api-key-header", "", "header carrying an API key, e.g. X-API-Key")
	fs.StringVar(&s.APIKey, "api-key", "", "API key value")
	fs.StringVar(&s.ClientCert, "cert", "", "client certificate (PEM) for mutual TLS")
	fs.StringVar(&s.ClientKey, "key", "", "client key (PEM) for mutual TLS")
	fs.StringVar(&s.CAFile, "ca", "", "CA certificates (PEM) trusted for the server instead of the system pool")
	fs.StringVar(&s.Lookback, "lookback", "all", "first pull without a checkpoint: all, 1d, 1w or 1m")
	fs.StringVar(&s.Name, "name", "", "friendly name, the indicators' SourceSystem (default the server's host)")
	sourcesFile := fs.String("sources", "", "YAML file of sources to pull (instead of --api-root/--collection)")
	addedAfter := fs.String("added-after", "", "pull what was added after this time (RFC 3339); overrides --state")
	statePath := fs.String("state", "", "checkpoint file: read before the pull, written after it")
	timeout := fs.Duration("timeout", time.Minute, "timeout of each HTTP request")
	nowFlag := fs.String("now", "", "ingest time (TimeGenerated) and lookback clock, RFC 3339; default the clock")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "timap indicators pull taxii: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["password"] && s.Username == "" {
		s.Password = "" // $TAXII_PASSWORD alone selects nothing
	}
	if !set["token"] && s.Username != "" {
		s.Token = "" // an explicit --user wins over $TAXII_TOKEN
	}
	now, err := parseNow(*nowFlag)
	if err != nil {
		fmt.Fprintf(stderr, "timap indicators pull taxii: --now: %v\n", err)
		return 2
	}
	var since time.Time
	if *addedAfter != "" {
		if since, err = time.Parse(time.RFC3339Nano, *addedAfter); err != nil {
			fmt.Fprintf(stderr, "timap indicators pull taxii: --added-after: %v\n", err)
			return 2
		}
	}
	var sources []taxii.Source
	switch {
	case *sourcesFile != "" && (s.APIRoot != "" || s.Collection != ""):
		fmt.Fprintln(stderr, "timap indicators pull taxii: --sources excludes --api-root and --collection")
		return 2
	case *sourcesFile != "":
		if sources, err = taxii.LoadSources(*sourcesFile); err != nil {
			fmt.Fprintf(stderr, "timap indicators pull taxii: %v\n", err)
			return 2
		}
	default:
		if err := s.Validate(); err != nil {
			fmt.Fprintf(stderr, "timap indicators pull taxii: %v\n", err)
			return 2
		}
		sources = []taxii.Source{s}
	}
	var state *taxii.State
	if *statePath != "" {
		if state, err = taxii.OpenState(*statePath); err != nil {
			fmt.Fprintf(stderr, "timap indicators pull taxii: %v\n", err)
			return 1
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	client := taxii.NewClient(taxii.Options{Timeout: *timeout, Now: func() time.Time { return now }})
	code := 0
	for _, src := range sources {
		if !pullOne(ctx, client, src, since, state, now, stdout, stderr) {
			code = 1
		}
	}
	return code
}

// pullOne pulls one source, prints its indicators and summary and saves
// its checkpoint; it reports whether the pull succeeded. A pull that
// failed part way still prints and keeps what its completed pages gave.
func pullOne(ctx context.Context, c *taxii.Client, src taxii.Source, since time.Time, state *taxii.State,
	now time.Time, stdout, stderr io.Writer) bool {
	if since.IsZero() && state != nil {
		if cp, ok := state.Get(src); ok {
			since = cp.AddedAfter
		}
	}
	res, err := c.Pull(ctx, src, since)
	if res != nil {
		if werr := tiexport.WriteNDJSON(stdout, res.Indicators); werr != nil {
			fmt.Fprintf(stderr, "timap indicators pull taxii: %v\n", werr)
			return false
		}
		printPullSummary(stderr, res)
		if state != nil && res.Checkpoint.After(since) {
			if serr := state.Set(res.Source, res.Checkpoint, now); serr != nil {
				fmt.Fprintf(stderr, "timap indicators pull taxii: %v\n", serr)
				return false
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "timap indicators pull taxii: %v\n", err)
		return false
	}
	return true
}

func printPullSummary(w io.Writer, r *taxii.PullResult) {
	from := "everything"
	if !r.AddedAfter.IsZero() {
		from = "added after " + r.AddedAfter.Format(time.RFC3339Nano)
	}
	var objs []string
	for _, t := range slices.Sorted(maps.Keys(r.Objects)) {
		objs = append(objs, fmt.Sprintf("%s=%d", t, r.Objects[t]))
	}
	fmt.Fprintf(w, "taxii %q (%s collection %s, TAXII %s): %s; %d requests, %d pages, %d objects (%s), %d indicators (%d unsupported, %d partially enforced)\n",
		r.Source.Name, r.Source.APIRoot, r.Source.Collection, r.Source.Version, from, r.Requests, r.Pages, r.ObjectsSeen,
		strings.Join(objs, " "), len(r.Indicators), r.Unsupported, r.Partial)
	cp := "none"
	if !r.Checkpoint.IsZero() {
		cp = r.Checkpoint.Format(time.RFC3339Nano)
	}
	fmt.Fprintf(w, "  checkpoint: %s (%s)\n", cp, r.CheckpointFrom)
	var problems []files.Problem
	for _, p := range r.Problems {
		problems = append(problems, files.Problem{Reason: p.Reason, Message: p.Error()})
	}
	printObservables(w, r.PerType)
	printRefused(w, r.PerReason, problems, indShownPerReason)
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
}
