package cef

import (
	"time"
)

// stamp is a calendar time read from text, before a year or zone is
// settled. Parsing by hand (instead of time.Parse with a list of layouts)
// keeps the hot path free of allocations, tolerates the irregular spacing
// real senders use, and lets one routine serve both syslog headers and the
// CEF date forms.
type stamp struct {
	year                int // 0 when the text has none
	mon                 time.Month
	day, hh, mm, ss, ns int
	off                 int // zone offset in seconds, valid when hasOff
	hasOff              bool
}

// timeAt converts st to UTC. Without a zone offset st is read in loc;
// without a year it takes the latest year that puts it no more than a day
// after ref (a log line is not from the future, but clocks drift).
func (st stamp) timeAt(loc *time.Location, ref time.Time) (time.Time, bool) {
	if st.hasOff {
		loc = time.UTC
	}
	mk := func(y int) time.Time {
		t := time.Date(y, st.mon, st.day, st.hh, st.mm, st.ss, st.ns, loc)
		if st.hasOff {
			t = t.Add(-time.Duration(st.off) * time.Second)
		}
		return t
	}
	if st.year != 0 {
		return mk(st.year).UTC(), true
	}
	limit := ref.Add(24 * time.Hour)
	y := ref.In(loc).Year() + 1
	for k := 0; k < 9; k++ { // 9 years reach back past any Feb 29
		t := mk(y - k)
		if t.Day() != st.day { // Feb 29 of a common year normalised to Mar 1
			continue
		}
		if !t.After(limit) {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

var months = [12]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// scanStamp reads a timestamp at the start of s and returns it with the
// number of bytes used. Accepted forms (spaces may repeat):
//
//	Mmm dd [yyyy] hh:mm:ss[.fff]    RFC 3164 and the CEF rt date forms
//	                                (a comma after dd is allowed: "Nov 19, 2014")
//	yyyy-mm-dd[T| |-]hh:mm:ss[.fff][Z|±hh:mm|±hhmm]   RFC 3339 / RFC 5424,
//	                                and IBM i's "2020-04-30-12.11.52.265056"
//
// A zone written after a space is left to the caller.
func scanStamp(s string) (st stamp, n int, ok bool) {
	i := 0
	if len(s) >= 3 && isAlpha(s[0]) {
		m := monthOf(s)
		if m == 0 {
			return st, 0, false
		}
		st.mon = m
		i = 3
		for i < len(s) && isAlpha(s[i]) { // "Sept", "September"
			i++
		}
		i = skipBlank(s, i)
		var d int
		if st.day, d = atoi(s, i, 1, 2); d == 0 {
			return st, 0, false
		}
		i += d
		if i < len(s) && s[i] == ',' {
			i++
		}
		i = skipBlank(s, i)
		if y, d := atoi(s, i, 4, 4); d == 4 && i+4 < len(s) && s[i+4] == ' ' {
			st.year = y
			i = skipBlank(s, i+4)
		}
	} else {
		var d int
		if st.year, d = atoi(s, i, 4, 4); d == 0 || i+4 >= len(s) || s[i+4] != '-' {
			return st, 0, false
		}
		mon, d := atoi(s, i+5, 2, 2)
		if d == 0 || i+7 >= len(s) || s[i+7] != '-' {
			return st, 0, false
		}
		st.mon = time.Month(mon)
		if st.day, d = atoi(s, i+8, 2, 2); d == 0 {
			return st, 0, false
		}
		i += 10
		if i >= len(s) || (s[i] != 'T' && s[i] != 't' && s[i] != ' ' && s[i] != '-') {
			return st, 0, false
		}
		i++
	}
	d, ok := scanClock(s[i:], &st)
	if !ok {
		return st, 0, false
	}
	i += d
	if !isAlpha(s[0]) { // the ISO form may carry an attached zone
		if off, d, ok := scanOffset(s[i:]); ok {
			st.off, st.hasOff = off, true
			i += d
		}
	}
	if st.mon < 1 || st.mon > 12 || st.day < 1 || st.day > 31 || st.hh > 23 || st.mm > 59 || st.ss > 60 {
		return st, 0, false
	}
	return st, i, true
}

// scanClock reads hh:mm:ss[.fraction] ('.' also accepted as the field
// separator, for IBM i) into st.
func scanClock(s string, st *stamp) (int, bool) {
	var d int
	if st.hh, d = atoi(s, 0, 1, 2); d == 0 || d >= len(s) {
		return 0, false
	}
	i := d
	sep := s[i]
	if sep != ':' && sep != '.' {
		return 0, false
	}
	if st.mm, d = atoi(s, i+1, 2, 2); d == 0 || i+3 >= len(s) || s[i+3] != sep {
		return 0, false
	}
	if st.ss, d = atoi(s, i+4, 2, 2); d == 0 {
		return 0, false
	}
	i += 6
	if i+1 < len(s) && (s[i] == '.' || s[i] == ',') && isDigit(s[i+1]) {
		i++
		scale := 100000000
		for ; i < len(s) && isDigit(s[i]); i++ {
			st.ns += int(s[i]-'0') * scale
			scale /= 10
		}
	}
	return i, true
}

// scanOffset reads a zone offset at the start of s: "Z", "+hh", "+hh:mm" or
// "+hhmm" (or '-'). It returns the offset east of UTC in seconds.
func scanOffset(s string) (off, n int, ok bool) {
	if len(s) == 0 {
		return 0, 0, false
	}
	if s[0] == 'Z' || s[0] == 'z' {
		return 0, 1, true
	}
	if s[0] != '+' && s[0] != '-' {
		return 0, 0, false
	}
	h, d := atoi(s, 1, 2, 2)
	if d == 0 || h > 23 {
		return 0, 0, false
	}
	n = 3
	m := 0
	if n < len(s) && s[n] == ':' {
		if m, d = atoi(s, n+1, 2, 2); d == 0 {
			return 0, 0, false
		}
		n += 3
	} else if m, d = atoi(s, n, 2, 2); d == 2 {
		n += 2
	}
	if m > 59 {
		return 0, 0, false
	}
	off = h*3600 + m*60
	if s[0] == '-' {
		off = -off
	}
	return off, n, true
}

// zoneOffset interprets a zone token written after the time: "UTC", "GMT",
// "UT", "Z", a numeric offset, or "GMT+hh:mm"/"UTC-hh" as Trend Micro sends.
// Other abbreviations ("IST", "PST") are ambiguous and not resolved: known
// reports false for them and the caller's default zone applies.
func zoneOffset(tok string) (off int, known bool) {
	switch tok {
	case "UTC", "GMT", "UT", "Z", "utc", "gmt":
		return 0, true
	}
	rest := tok
	if len(tok) > 3 && (tok[:3] == "GMT" || tok[:3] == "UTC") {
		rest = tok[3:]
	}
	if off, n, ok := scanOffset(rest); ok && n == len(rest) && rest[0] != 'Z' && rest[0] != 'z' {
		return off, true
	}
	return 0, false
}

// parseTime reads a whole CEF time value: epoch milliseconds (the
// standard's form for rt), or one of the date forms of scanStamp with an
// optional zone token. A bare number below 1e11 is read as epoch seconds,
// because some senders use seconds and 1e11 ms is only 1973.
func (p *Parser) parseTime(v string) (time.Time, bool) {
	v = trimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	if isDigit(v[0]) {
		var n int64
		i := 0
		for ; i < len(v) && i < 16 && isDigit(v[i]); i++ {
			n = n*10 + int64(v[i]-'0')
		}
		if i == len(v) {
			if n < 1e11 {
				return time.Unix(n, 0).UTC(), true
			}
			return time.UnixMilli(n).UTC(), true
		}
	}
	st, n, ok := scanStamp(v)
	if !ok {
		return time.Time{}, false
	}
	if rest := trimSpace(v[n:]); rest != "" {
		if st.hasOff {
			return time.Time{}, false
		}
		if off, known := zoneOffset(rest); known {
			st.off, st.hasOff = off, true
		} else if !allAlpha(rest) {
			return time.Time{}, false
		}
	}
	return p.timeOf(st)
}

func monthOf(s string) time.Month {
	a, b, c := s[0]|0x20, s[1]|0x20, s[2]|0x20
	for i, m := range months {
		if m[0] == a && m[1] == b && m[2] == c {
			return time.Month(i + 1)
		}
	}
	return 0
}

// atoi reads between min and max decimal digits at s[i:] and returns the
// value and the digit count (0 when fewer than min digits are there).
func atoi(s string, i, min, max int) (v, n int) {
	for n < max && i+n < len(s) && isDigit(s[i+n]) {
		v = v*10 + int(s[i+n]-'0')
		n++
	}
	if n < min {
		return 0, 0
	}
	return v, n
}

func skipBlank(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func allAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlpha(s[i]) {
			return false
		}
	}
	return s != ""
}
