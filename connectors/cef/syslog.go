package cef

import "time"

// parseSyslog reads the syslog header in prefix (the text before "CEF:")
// into rec.SyslogTime and rec.SyslogHost. It is best-effort and never
// fails: a prefix it does not understand leaves both fields empty, because
// the CEF payload is still worth matching.
//
//	RFC 5424: <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD SP MSG
//	RFC 3164: [<PRI>]Mmm dd hh:mm:ss HOSTNAME TAG: MSG
//
// For RFC 3164 it also accepts what forwarders send in practice: irregular
// spacing ("Sep   19  08:26:10"), a year and milliseconds plus a zone
// ("Dec 03 2017 16:31:28.861 IST host", ArcSight style), an RFC 3339 time
// (rsyslog's high-precision format), and no HOSTNAME ("<132>Nov 13 13:17:41
// CEF:0|…", where the next token is the CEF payload or a "TAG:").
func (p *Parser) parseSyslog(prefix string, rec *Record) {
	i := skipSpace(prefix, 0)
	if i < len(prefix) && prefix[i] == '<' {
		j := i + 1
		for j < len(prefix) && j-i <= 3 && isDigit(prefix[j]) {
			j++
		}
		if j == i+1 || j >= len(prefix) || prefix[j] != '>' {
			return
		}
		i = j + 1
	}

	// RFC 5424 starts with a one-to-three digit VERSION and a space; an
	// RFC 3339 timestamp starts with four digits, so they cannot be confused.
	if v, d := atoi(prefix, i, 1, 3); d > 0 && v > 0 && i+d < len(prefix) && prefix[i+d] == ' ' {
		ts, rest := token(prefix[i+d+1:])
		if st, n, ok := scanStamp(ts); ok && n == len(ts) {
			rec.SyslogTime, _ = p.timeOf(st)
		}
		if host, _ := token(rest); host != "-" {
			rec.SyslogHost = host
		}
		return
	}

	i = skipSpace(prefix, i)
	st, n, ok := scanStamp(prefix[i:])
	if !ok {
		return
	}
	tok, after := token(prefix[i+n:])
	// A zone token is only taken as such when a HOSTNAME follows it;
	// otherwise it is the HOSTNAME.
	if off, known := zoneOffset(tok); !st.hasOff && (known || isZoneAbbrev(tok)) {
		if next, _ := token(after); next != "" && !isTag(next) {
			if known {
				st.off, st.hasOff = off, true
			}
			tok, _ = token(after)
		}
	}
	rec.SyslogTime, _ = p.timeOf(st)
	if tok != "" && !isTag(tok) {
		rec.SyslogHost = tok
	}
}

// timeOf converts st to UTC with the Parser's zone and reference time.
func (p *Parser) timeOf(st stamp) (time.Time, bool) {
	var ref time.Time
	if st.year == 0 {
		ref = p.now()
	}
	return st.timeAt(p.loc(), ref)
}

func (p *Parser) now() time.Time {
	if p.Now.IsZero() {
		return time.Now()
	}
	return p.Now
}

func (p *Parser) loc() *time.Location {
	if p.Location == nil {
		return time.UTC
	}
	return p.Location
}

// token returns the first whitespace-separated word of s and the text
// after it.
func token(s string) (tok, rest string) {
	i := skipSpace(s, 0)
	j := i
	for j < len(s) && !isSpace(s[j]) {
		j++
	}
	return s[i:j], s[j:]
}

// isTag reports whether tok looks like an RFC 3164 TAG ("sshd[12]:",
// "ASM:") rather than a HOSTNAME.
func isTag(tok string) bool {
	if tok == "" {
		return false
	}
	if tok[len(tok)-1] == ':' {
		return true
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] == '[' {
			return true
		}
	}
	return false
}

// isZoneAbbrev reports whether tok looks like a time-zone abbreviation
// (three to five capitals ending in T: "IST", "CEST"). Requiring the final
// T keeps short upper-case host names ("FW", "DC01") from being taken.
func isZoneAbbrev(tok string) bool {
	if len(tok) < 3 || len(tok) > 5 || tok[len(tok)-1] != 'T' {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < 'A' || tok[i] > 'Z' {
			return false
		}
	}
	return true
}
