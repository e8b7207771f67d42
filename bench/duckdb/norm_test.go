package main

import (
	"database/sql"
	"math/big"
	"net/netip"
	"strings"
	"testing"
	"time"

	"timap/engine"
)

// TestNormalisersMatchEngine runs the SQL normalisers on awkward values and
// compares them with the Go functions of timap's engine they re-implement:
// both refuse the same values and agree on the others. The two things the
// SQL does not express (IDNA, dot segments) must give NULL there.
func TestNormalisersMatchEngine(t *testing.T) {
	db := openTest(t)
	cases := map[string][]string{
		"domain": {"Evil.COM.", " evil.com ", "evil[.]com", "evil(dot)com", "localhost", "1.2.3.4", "1.2.3.4.5", "a..b", "evil.com..",
			"xn--bcher-kva.example", "under_score.example", strings.Repeat("a", 64) + ".com", strings.Repeat("a", 63) + ".com", "-a.com", "a.com/x", ""},
		"url": {"HTTP://User@Evil.COM.:80/A/B?Q=1#frag", "evil.com:8080", "https://evil.com:443", "https://evil.com:80/", "//evil.com/x",
			"hxxp://evil[.]com/a", "http://evil.com/.well-known/x", "http://[2001:DB8::1]:8080/x", "http://[2001:db8::1]x/y", "ftp://x.y/",
			"http://a b/", "", "http://", "1http://x/y", "http://a.com:/x", "http://a:b:80/x", "EVIL.COM?Q=A", "http://evil.com#x", "mailto:x@y.z"},
		"email": {"Bob@Evil.COM", "a@b@c.com", "<a>@b.com", "a@localhost", "bob[@]evil[.]com", "@x.com", "x@", "a,b@c.com", "x@1.2.3.4"},
		"hash":  {"ABCDEF0123456789ABCDEF0123456789", " abcdef0123456789abcdef0123456789 ", "abcdef0123456789abcdef012345678", "g" + strings.Repeat("0", 31)},
		"ip": {"1.2.3.4", " 1.2.3.4 ", "01.2.3.4", "::ffff:1.2.3.4", "::FFFF:0102:0304", "[2001:db8::1]", "fe80::1%eth0", "fe80::1%", "2001:DB8::",
			"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8::", "1:2:3:4:5:6:7::", "::", "1.2.3.4%x", "256.1.1.1", "::1.2.3.4", "64:ff9b::1.2.3.4", ":::", "1::2::3", "12345::"},
	}
	nullOnlyInSQL := map[string]bool{"http://évil.com/": true, "http://evil.com/./a": true, "bücher.example": true}
	cases["url"] = append(cases["url"], "http://évil.com/", "http://evil.com/./a")
	cases["domain"] = append(cases["domain"], "bücher.example")
	for typ, values := range cases {
		for _, v := range values {
			got, sqlOK := sqlNorm(t, db, typ, v)
			want, goOK := goNorm(typ, v)
			switch {
			case nullOnlyInSQL[v]:
				if sqlOK {
					t.Errorf("%s %q: SQL gave %q, want NULL (not expressed in SQL)", typ, v, got)
				}
			case sqlOK != goOK || got != want:
				t.Errorf("%s %q: SQL %q (ok %v), engine %q (ok %v)", typ, v, got, sqlOK, want, goOK)
			}
		}
	}
}

// TestHasTerm compares has_term with the engine's !has filter of R05 and
// R37 (DeliveryAction !has Blocked).
func TestHasTerm(t *testing.T) {
	db := openTest(t)
	f := engine.Filter{Column: "DeliveryAction", Op: engine.OpHas, Values: []string{"Blocked"}}
	for _, s := range []string{"Blocked", "blocked", "BLOCKED", "Replaced/Blocked", "NotBlocked", "Blocked2", "Blocked_x", "Blocked-x",
		"éBlocked", "Blockedé", "Delivered", "", "Block", "x blocked y"} {
		var got bool
		if err := db.QueryRow("SELECT has_term(?, 'blocked')", s).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := f.Holds(s); got != want {
			t.Errorf("has_term(%q) = %v, engine has = %v", s, got, want)
		}
	}
}

// TestFirstIPv4 compares first_ipv4 with R27's Message extractor.
func TestFirstIPv4(t *testing.T) {
	db := openTest(t)
	for _, s := range []string{"x .1.2.3.4 1.2.3.4.5 300.1.1.1 9.8.7.6. y", "from 10.0.0.1:443", "no address", "1.2.3", "a1.2.3.4b", "01.2.3.4 5.6.7.8"} {
		var got sql.NullString
		if err := db.QueryRow("SELECT first_ipv4(?)", s).Scan(&got); err != nil {
			t.Fatal(err)
		}
		want := firstIPv4(s)
		if got.String != want {
			t.Errorf("first_ipv4(%q) = %q, want %q", s, got.String, want)
		}
	}
}

// firstIPv4 is engine's nextIPv4 (unexported): runs of digits and dots not
// inside a longer run, trailing dots trimmed, the first valid IPv4.
func firstIPv4(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' || (i > 0 && (s[i-1] >= '0' && s[i-1] <= '9' || s[i-1] == '.')) {
			continue
		}
		j := i
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
			j++
		}
		if a, err := netip.ParseAddr(strings.TrimRight(s[i:j], ".")); err == nil && a.Is4() {
			return a.String()
		}
		i = j
	}
	return ""
}

func openTest(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	macros, _ := sqlFiles.ReadFile("sql/macros.sql")
	for _, s := range append(statements(string(macros)), liveMacro(time.Unix(0, 0), time.Hour)) {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%v\n%s", err, s)
		}
	}
	return db
}

// sqlNorm normalises v with the baseline's SQL; IPs come back as
// "fam/address".
func sqlNorm(t *testing.T, db *sql.DB, typ, v string) (string, bool) {
	src := "SELECT 1::BIGINT AS rid, 0::BIGINT AS t, " + quote(v) + " AS v"
	var q string
	if typ == "ip" {
		q = "SELECT CASE WHEN a IS NULL THEN NULL ELSE fam::VARCHAR || '/' || a::VARCHAR END FROM (" + ipNorm(src) + ")"
	} else {
		q = "SELECT n FROM (" + normalisers[typ](src) + ")"
	}
	var n sql.NullString
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s %q: %v\n%s", typ, v, err, q)
	}
	return n.String, n.Valid
}

// goNorm normalises v with timap's engine, as the event side does.
func goNorm(typ, v string) (string, bool) {
	var b []byte
	var err error
	switch typ {
	case "domain":
		b, err = engine.AppendDomain(nil, v)
	case "url":
		b, err = engine.AppendURL(nil, v)
	case "email":
		b, err = engine.AppendEmail(nil, v)
	case "hash":
		b, _, err = engine.AppendHash(nil, v)
	case "ip":
		a, ok := engine.ParseAddr(strings.TrimSpace(v))
		if !ok {
			return "", false
		}
		if a.Is4() {
			return "4/" + uint128(a).String(), true
		}
		return "6/" + uint128(a).String(), true
	}
	if err != nil {
		return "", false
	}
	return string(b), true
}

// uint128 is an address as the SQL's integer: 32 bits for IPv4, 128 for
// IPv6.
func uint128(a netip.Addr) *big.Int {
	if a.Is4() {
		b := a.As4()
		return new(big.Int).SetBytes(b[:])
	}
	b := a.As16()
	return new(big.Int).SetBytes(b[:])
}
