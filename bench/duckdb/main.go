// Command duckdb is the SQL baseline of timap's benchmark harness: it
// evaluates the TI map rules the way Sentinel does — a batch join of the
// whole log table with the indicator table — in DuckDB, on the same NDJSON
// files timap reads, and reports rows/s and the alert set.
//
// It lives in its own Go module so that timap's module does not depend on
// cgo; the harness (go run ./bench) builds and runs it as a subprocess.
//
//	go run . -indicators IND.ndjson -table csl=CSL.ndjson -table dns=DNS.ndjson \
//	    -table email=EMAIL.ndjson -now 2026-11-30T08:00:00Z -out result.json -alerts alerts.ndjson
//
// The indicators file is the harness's side-file: one row per indicator
// version with the value as written to the feed or STIX file. Everything
// timap decides — newest version, revocation, expiry with grace,
// normalisation, CIDR containment for IPv4 and IPv6, one alert per rule,
// indicator, value and window with its count — is in the SQL of sql/.
package main

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
)

// Result is what -out receives.
type Result struct {
	Version    string
	Threads    int
	Indicators struct {
		// Rows are the side-file rows (versions), Live the newest active
		// versions; Seconds covers reading and normalising them.
		Rows, Live int64
		Seconds    float64
	}
	Tables []Table
	Alerts int
}

// Table is the run of one event table.
type Table struct {
	Table, Path string
	Rows        int64
	// IngestSeconds reads the NDJSON file into a table; QuerySeconds runs
	// the rules' join and aggregation. RowsPerSec is Rows over both.
	IngestSeconds, QuerySeconds, RowsPerSec float64
	Alerts                                  int
}

// Alert is one row of -alerts: one alert of one rule. An IP value is
// (Fam, Hi, Lo), the address as two 64-bit halves; other values are Val.
// Win, First and Last are Unix microseconds.
type Alert struct {
	Table, Rule, Ind, Val   string
	Fam                     int
	Hi, Lo                  uint64
	Win, Count, First, Last int64
}

// profile: time each rule on its own.
var profile bool

type tableFlag []string

func (t *tableFlag) String() string     { return strings.Join(*t, ",") }
func (t *tableFlag) Set(v string) error { *t = append(*t, v); return nil }

func main() {
	var tbls tableFlag
	ind := flag.String("indicators", "", "indicator side-file (NDJSON, one row per version)")
	flag.Var(&tbls, "table", "NAME=PATH of an NDJSON event file; NAME is csl, dns or email (repeatable)")
	nowFlag := flag.String("now", "", "the clock for expiry decisions (RFC 3339)")
	grace := flag.Duration("grace", time.Hour, "expiry grace (timap match --expiry-grace)")
	window := flag.Duration("window", time.Hour, "suppression window")
	threads := flag.Int("threads", 0, "DuckDB threads (0: DuckDB's default, all cores)")
	out := flag.String("out", "", "result JSON file (default stdout)")
	alerts := flag.String("alerts", "", "alert NDJSON file")
	dump := flag.Bool("print-sql", false, "print the SQL of every table and exit")
	flag.BoolVar(&profile, "profile", false, "time each rule's join on its own (to standard error) before the table's query")
	flag.Parse()
	now, err := time.Parse(time.RFC3339Nano, *nowFlag)
	if err != nil && !*dump {
		fail(fmt.Errorf("-now: %w", err))
	}
	rs, err := loadRules()
	if err != nil {
		fail(err)
	}
	if *dump {
		for _, name := range slices.Sorted(mapKeys(tables)) {
			if v := tables[name].Views; v != "" {
				b, _ := sqlFiles.ReadFile(v)
				fmt.Printf("%s\n", b)
			}
			fmt.Printf("-- %s\n%s;\n\n", tables[name].Name, matchQuery(rs, name, *window))
		}
		return
	}
	res, err := run(rs, *ind, tbls, now, *grace, *window, *threads, *alerts)
	if err != nil {
		fail(err)
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	if *out == "" {
		os.Stdout.Write(append(b, '\n'))
		return
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		fail(err)
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func run(rs []rule, indPath string, tbls []string, now time.Time, grace, window time.Duration, threads int, alertsPath string) (*Result, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, fmt.Errorf("duckdb: open: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // one connection: macros and tables live in it
	res := &Result{}
	if err := db.QueryRow("SELECT version()").Scan(&res.Version); err != nil {
		return nil, fmt.Errorf("duckdb: version: %w", err)
	}
	if threads > 0 {
		if _, err := db.Exec(fmt.Sprintf("SET threads = %d", threads)); err != nil {
			return nil, fmt.Errorf("duckdb: threads: %w", err)
		}
	}
	if err := db.QueryRow("SELECT current_setting('threads')").Scan(&res.Threads); err != nil {
		return nil, fmt.Errorf("duckdb: threads: %w", err)
	}
	macros, _ := sqlFiles.ReadFile("sql/macros.sql")
	setup := append(statements(string(macros)), liveMacro(now, grace))
	for _, s := range setup {
		if _, err := db.Exec(s); err != nil {
			return nil, fmt.Errorf("duckdb: macros: %w\n%s", err, s)
		}
	}
	start := time.Now()
	indSQL, _ := sqlFiles.ReadFile("sql/indicators.sql")
	for _, s := range append(statements(strings.ReplaceAll(string(indSQL), "$IND", strings.ReplaceAll(indPath, "'", "''"))), indicatorTables()...) {
		if _, err := db.Exec(s); err != nil {
			return nil, fmt.Errorf("duckdb: indicators.sql: %w\n%s", err, s)
		}
	}
	res.Indicators.Seconds = time.Since(start).Seconds()
	db.QueryRow("SELECT count(*) FROM read_ndjson(" + quote(indPath) + ", columns = {IndicatorId: 'VARCHAR'})").Scan(&res.Indicators.Rows)
	db.QueryRow("SELECT count(*) FROM ind").Scan(&res.Indicators.Live)

	var aw *bufio.Writer
	if alertsPath != "" {
		f, err := os.Create(alertsPath)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		aw = bufio.NewWriter(f)
		defer aw.Flush()
	}
	enc := json.NewEncoder(aw)
	for _, tf := range tbls {
		name, path, ok := strings.Cut(tf, "=")
		if !ok || tables[name].Name == "" {
			return nil, fmt.Errorf("-table %q: want csl=PATH, dns=PATH or email=PATH", tf)
		}
		t := Table{Table: tables[name].Name, Path: path}
		start := time.Now()
		for _, q := range ingestQueries(name, path) {
			if _, err := db.Exec(q); err != nil {
				return nil, fmt.Errorf("duckdb: %s: %w\n%s", path, err, q)
			}
		}
		var views []string
		if v := tables[name].Views; v != "" {
			b, _ := sqlFiles.ReadFile(v)
			for _, q := range statements(string(b)) {
				if _, err := db.Exec(q); err != nil {
					return nil, fmt.Errorf("duckdb: %s: %w", v, err)
				}
				if _, after, ok := strings.Cut(q, "CREATE TEMP VIEW "); ok {
					views = append(views, strings.Fields(after)[0])
				}
			}
		}
		t.IngestSeconds = time.Since(start).Seconds()
		for _, tn := range []string{name, tables[name].Partner} {
			var n int64
			if tn != "" {
				db.QueryRow("SELECT count(*) FROM " + tn).Scan(&n)
			}
			t.Rows += n // every row read, partner rows included, as timap counts them
		}
		if profile {
			for _, r := range rs {
				if r.Table == name {
					start := time.Now()
					var n int64
					q := "SELECT count(*) FROM (" + join(r.Type, r.ID, "\n"+r.Candidates+"\n") + ")"
					if err := db.QueryRow(q).Scan(&n); err != nil {
						return nil, fmt.Errorf("duckdb: %s: %w", r.File, err)
					}
					fmt.Fprintf(os.Stderr, "%s: %d matches in %.3f s\n", r.File, n, time.Since(start).Seconds())
				}
			}
		}
		start = time.Now()
		q := matchQuery(rs, name, window)
		rows, err := db.Query(q)
		if err != nil {
			return nil, fmt.Errorf("duckdb: %s rules: %w\n%s", t.Table, err, q)
		}
		for rows.Next() {
			a := Alert{Table: t.Table}
			if err := rows.Scan(&a.Rule, &a.Ind, &a.Val, &a.Fam, &a.Hi, &a.Lo, &a.Win, &a.Count, &a.First, &a.Last); err != nil {
				rows.Close()
				return nil, fmt.Errorf("duckdb: %s: %w", t.Table, err)
			}
			t.Alerts++
			if aw != nil {
				if err := enc.Encode(a); err != nil {
					rows.Close()
					return nil, err
				}
			}
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("duckdb: %s: %w", t.Table, err)
		}
		t.QuerySeconds = time.Since(start).Seconds()
		t.RowsPerSec = float64(t.Rows) / (t.IngestSeconds + t.QuerySeconds)
		res.Alerts += t.Alerts
		res.Tables = append(res.Tables, t)
		for _, v := range views {
			if _, err := db.Exec("DROP VIEW " + v); err != nil {
				return nil, err
			}
		}
		for _, tn := range []string{name, tables[name].Partner} {
			if tn == "" {
				continue
			}
			if _, err := db.Exec("DROP TABLE " + tn); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/duckdb:", err)
	os.Exit(1)
}
