package main

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

// tableSpec is one event table: its Log Analytics name and the columns the
// rules read (read_ndjson reads only these).
type tableSpec struct {
	Name    string
	Columns []string
	// Partner is the SQL name of the table the rules join, whose rows come
	// in the same file (a Type key tells them apart); Views the SQL file
	// of the views over both the rules read, run once both are loaded.
	Partner, Views string
}

// tables are the event tables by their SQL name.
var tables = map[string]tableSpec{
	"csl": {Name: "CommonSecurityLog", Columns: []string{"DeviceVendor", "DeviceEventClassID", "ApplicationProtocol", "RequestURL",
		"AdditionalExtensions", "SourceIP", "DestinationIP", "Message", "FileHash", "DestinationUserID"}},
	"dns":   {Name: "DnsEvents", Columns: []string{"SubType", "Name", "IPAddresses"}},
	"email": {Name: "EmailUrlInfo", Columns: []string{"Url", "UrlDomain", "NetworkMessageId"}, Partner: "mail", Views: "sql/delivered.sql"},
}

// partners are the join tables by their SQL name: R05 and R37 join
// EmailUrlInfo with EmailEvents on NetworkMessageId (macros.sql,
// delivered.sql).
var partners = map[string]tableSpec{
	"mail": {Name: "EmailEvents", Columns: []string{"NetworkMessageId", "DeliveryAction"}},
}

// rule is one rule file of sql/: its candidate query (rid, t, v) and what
// it says in its header.
type rule struct {
	File, ID, Table, Type, Candidates string
}

// loadRules reads the rule files (every sql/*.sql but macros and
// indicators). Errors name the file.
func loadRules() ([]rule, error) {
	names, err := fs.Glob(sqlFiles, "sql/*.sql")
	if err != nil {
		return nil, err
	}
	var rs []rule
	for _, n := range names {
		if n == "sql/macros.sql" || n == "sql/indicators.sql" || n == "sql/delivered.sql" {
			continue
		}
		b, err := sqlFiles.ReadFile(n)
		if err != nil {
			return nil, err
		}
		r := rule{File: n, Candidates: string(b)}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(strings.TrimPrefix(line, "-- "), ": ")
			if !ok || !strings.HasPrefix(line, "-- ") {
				continue
			}
			switch k {
			case "rule":
				r.ID = v
			case "table":
				r.Table = v
			case "type":
				r.Type = v
			}
		}
		if _, ok := normalisers[r.Type]; (!ok && r.Type != "ip") || r.ID == "" || tables[r.Table].Name == "" {
			return nil, fmt.Errorf("%s: header needs rule, table (csl, dns, email) and type (ip, domain, host, url, url_host, email, hash)", n)
		}
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b rule) int { return strings.Compare(a.ID, b.ID) })
	return rs, nil
}

// The normalisers turn a source query of (rid, t, v) into (rid, t, n):
// v normalised as timap normalises a value of the type (n NULL when timap
// would refuse it), as nested SELECTs computing one stage each.
var normalisers = map[string]func(src string) string{
	// engine.AppendDomain.
	"domain": func(src string) string {
		return stage(src, "trim_ws(refang(v)) AS x", "lower_ascii(regexp_replace(x, '\\.$', '')) AS y", "dom_chk(y) AS n")
	},
	// A host already normalised (engine.URLHost of a normalised URL):
	// checkHostname only.
	"host": func(src string) string { return stage(src, "dom_chk(v) AS n") },
	// engine.AppendURL.
	"url": urlNorm,
	// engine.AppendURL, then engine.URLHost and checkHostname: the
	// url_host extractor of a domain candidate.
	"url_host": func(src string) string {
		return stage(urlNorm(src), "url_hp(regexp_extract(n, '://([^/?]*)', 1)) AS a", "url_host1(a) AS h", "dom_chk(h) AS n")
	},
	// engine.AppendEmail: split at the last '@'; the local part is
	// printable ASCII without @<>,; and is lower-cased; the domain is
	// normalised as a domain.
	"email": func(src string) string {
		return stage(src, "regexp_extract(trim_ws(refang(v)), '^(.*)@([^@]*)$', ['local', 'domain']) AS p",
			"p.local AS l, trim_ws(refang(p.domain)) AS dx", "l, dom_chk(lower_ascii(regexp_replace(dx, '\\.$', ''))) AS d",
			"CASE WHEN l <> '' AND regexp_full_match(l, '[!-~]+') AND NOT regexp_matches(l, '[@<>,;]') AND d IS NOT NULL THEN lower_ascii(l) || '@' || d END AS n")
	},
	// engine.AppendHash: 32, 40, 64 or 128 hex digits, lower-cased.
	"hash": func(src string) string {
		return stage(src, "trim_ws(v) AS x", "CASE WHEN length(x) IN (32, 40, 64, 128) AND regexp_full_match(x, '[0-9A-Fa-f]+') THEN lower_ascii(x) END AS n")
	},
}

// urlNorm is engine.AppendURL as stages.
func urlNorm(src string) string {
	return stage(src, "trim_ws(refang(v)) AS x",
		"CASE WHEN x = '' OR regexp_matches(x, '[\\x00-\\x20\\x7f]') THEN NULL ELSE url_split(x) END AS p",
		"CASE WHEN p.scheme = '' THEN 'http' ELSE lower_ascii(p.scheme) END AS sch, regexp_extract(p.auth, '^(.*@)', 1) AS ui, url_hp(p.auth) AS hp, p.path AS path, p.query AS query",
		"sch, ui, regexp_replace(url_host0(hp), '\\.$', '') AS host, url_port(hp) AS port, path, query",
		"url_build(sch, ui, host, port, path, query) AS n")
}

// ipNorm is engine.ParseAddr (event side) as stages: (rid, t, fam, a).
func ipNorm(src string) string {
	return stage(src, "trim_ws(v) AS y", "ip_clean(y) AS x", "ip_parse(x) AS p", "p.fam AS fam, p.a AS a")
}

// stage nests one SELECT per step over src; each step's columns (besides
// rid and t) are computed from the previous step's.
func stage(src string, steps ...string) string {
	q := src
	for _, s := range steps {
		q = "SELECT rid, t, " + s + " FROM (" + q + ")"
	}
	return q
}

// joins wrap a rule's candidates (rid, t, v) into its matches (rule, ind,
// val, fam, a, rid, t): the event value is normalised as the indicator
// values were, joined with the live indicators of the type, and the
// indicator must be live at the row's time (expiry with grace). IP values
// are looked up once per prefix length present, by equality of the
// masked address, which is exact CIDR containment for IPv4 and IPv6.
func join(typ, rule, cand string) string {
	if typ == "ip" {
		// k is the address masked to each prefix length present, computed
		// before the join so that the join is a hash join on (fam, bits, k).
		return `SELECT '` + rule + `' AS rule, i.id AS ind, '' AS val, c.fam, c.a, c.rid, c.t
FROM (SELECT c.rid, c.t, c.fam, c.a, l.bits, c.a >> (CASE c.fam WHEN 4 THEN 32 ELSE 128 END - l.bits)::UHUGEINT AS k
      FROM (` + ipNorm(cand) + `) c JOIN ip_lens l ON l.fam = c.fam WHERE c.a IS NOT NULL) c
JOIN ind_ip i ON i.fam = c.fam AND i.bits = c.bits AND i.net = c.k
WHERE live(i.exp, c.t)`
	}
	return `SELECT '` + rule + `' AS rule, i.id AS ind, c.n AS val, 0 AS fam, 0::UHUGEINT AS a, c.rid, c.t
FROM (` + normalisers[typ](cand) + `) c
JOIN ` + indTable[typ] + ` i ON i.v = c.n
WHERE live(i.exp, c.t)`
}

// indTable is the indicator table a candidate type is looked up in.
var indTable = map[string]string{"domain": "ind_dom", "host": "ind_dom", "url_host": "ind_dom", "url": "ind_url", "email": "ind_email", "hash": "ind_hash"}

// indicatorTables are the typed, normalised indicator tables, built from
// ind (newest live version per id) with the same normalisers; values timap
// refuses (NULL) are dropped.
func indicatorTables() []string {
	var out []string
	for _, t := range []struct{ table, typ, norm string }{
		{"ind_dom", "domain", "domain"}, {"ind_url", "url", "url"}, {"ind_email", "email", "email"}, {"ind_hash", "filehash", "hash"},
	} {
		src := "SELECT id AS rid, exp AS t, raw AS v FROM ind WHERE typ = '" + t.typ + "'"
		out = append(out, "CREATE TABLE "+t.table+" AS SELECT rid AS id, t AS exp, n AS v FROM ("+normalisers[t.norm](src)+") WHERE n IS NOT NULL")
	}
	return out
}

// matchQuery is the alert query of one table: the matches of its rules,
// one alert per (rule, indicator, value, window) with the number of
// distinct rows (a rule matches a row once per indicator and value) and
// the first and last row time.
func matchQuery(rs []rule, table string, window time.Duration) string {
	var parts []string
	for _, r := range rs {
		if r.Table != table {
			continue
		}
		parts = append(parts, join(r.Type, r.ID, "\n"+r.Candidates+"\n"))
	}
	if len(parts) == 0 {
		return ""
	}
	w := strconv.FormatInt(window.Microseconds(), 10)
	return `SELECT rule, ind, val, fam, (a >> 64)::UBIGINT AS hi, (a & 18446744073709551615::UHUGEINT)::UBIGINT AS lo,
  (t // ` + w + `) * ` + w + ` AS win, count(DISTINCT rid) AS n, min(t) AS first, max(t) AS last
FROM (` + strings.Join(parts, "\nUNION ALL\n") + `)
GROUP BY rule, ind, val, fam, a, win`
}

// liveMacro is the expiry rule (engine.Indicator.Live) with the fixed
// clock: no expiry, or the row happened before it and now is before it
// plus the grace.
func liveMacro(now time.Time, grace time.Duration) string {
	return fmt.Sprintf("CREATE MACRO live(exp, t) AS exp IS NULL OR (t < exp AND %d < exp + %d);", now.UnixMicro(), grace.Microseconds())
}

// ingestQueries load one NDJSON event file into table name: a row id, the
// time in Unix microseconds and the columns the rules read. Rows of other
// tables (a Type key) are left out, as timap routes them elsewhere, except
// the rows of the table's join partner, which go to that table: the file
// is read once.
func ingestQueries(name, path string) []string {
	spec := tables[name]
	specs := []tableSpec{spec}
	names := []string{name}
	if spec.Partner != "" {
		specs, names = append(specs, partners[spec.Partner]), append(names, spec.Partner)
	}
	var all []string
	for _, sp := range specs {
		for _, c := range sp.Columns {
			if !slices.Contains(all, c) {
				all = append(all, c)
			}
		}
	}
	cols := []string{"TimeGenerated: 'VARCHAR'", "Type: 'VARCHAR'"}
	for _, c := range all {
		cols = append(cols, c+": 'VARCHAR'")
	}
	qs := []string{fmt.Sprintf(`CREATE TEMP TABLE staged AS
SELECT row_number() OVER () AS rid, epoch_us(CAST(TimeGenerated AS TIMESTAMP)) AS t, coalesce(Type, %s) AS typ, %s
FROM read_ndjson(%s, columns = {%s}, maximum_object_size = 16777216)`, quote(spec.Name), strings.Join(all, ", "), quote(path), strings.Join(cols, ", "))}
	for i, sp := range specs {
		qs = append(qs, fmt.Sprintf("CREATE TABLE %s AS SELECT rid, t, %s FROM staged WHERE typ = %s", names[i], strings.Join(sp.Columns, ", "), quote(sp.Name)))
	}
	return append(qs, "DROP TABLE staged")
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// statements splits a SQL file into statements at ';' line ends.
func statements(text string) []string {
	var out []string
	for _, s := range strings.Split(text, ";\n") {
		if strings.TrimSpace(stripComments(s)) != "" {
			out = append(out, s)
		}
	}
	return out
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
