package cef

import (
	"strings"
	"time"
	"unsafe"
)

// Parser parses CEF lines. The zero value is ready to use. A Parser keeps
// scratch buffers, so it must not be used by two goroutines at once; give
// each goroutine its own.
type Parser struct {
	// Now is the reference time used (1) to pick the year of a syslog or
	// CEF timestamp that has none ("Sep 19 08:26:10"): the latest year
	// that puts the date no more than a day after Now, and (2) as
	// TimeGenerated when a line carries no usable time at all. The zero
	// value means time.Now() at each call.
	Now time.Time
	// Location is the time zone of timestamps that carry no zone (RFC 3164
	// headers, most CEF rt date forms) or an ambiguous abbreviation
	// ("IST"). nil means UTC.
	Location *time.Location
	// CopyLine makes Parse and Decode copy the line into a new string
	// first (one allocation per line). Without it every string they
	// return — Record fields, Extensions, and the values they put in an
	// engine.Event — points into the caller's line buffer and is valid
	// only while that buffer is left unchanged. Leave it false on the hot
	// path, where the caller is done with the Event before it reads the
	// next line into the same buffer; set it when results are retained.
	CopyLine bool

	un  unescaper // unescaped values of the current line
	rec Record    // Decode's scratch record
	buf []byte    // Decode's scratch for AdditionalExtensions
}

// Parse parses one CEF line into rec, reusing rec's storage. The line may
// start with an RFC 5424 or RFC 3164 syslog header (or any other text, such
// as an "ASM:" tag); parsing starts at the first "CEF:<digits>|".
//
// It returns a *ParseError when there is no CEF marker, the version is not
// a number, or a header field is missing; the message names the missing
// field ("Device Product", …). Text in the extension that is not a
// key=value pair is dropped rather than rejected, because real senders emit
// it (Check Point puts an eighth header field there). Parse never panics.
//
// Unless p.CopyLine is set, the strings in rec alias line: see CopyLine.
func (p *Parser) Parse(line []byte, rec *Record) error {
	var s string
	if p.CopyLine {
		s = string(line)
		p.un = unescaper{}
	} else {
		s = unsafe.String(unsafe.SliceData(line), len(line))
		// Unescaped values live in the parser's arena, valid as long as the
		// line itself: no allocation per escaped value.
		p.un = unescaper{arena: p.un.arena[:0], reuse: true}
	}
	return p.parse(s, rec)
}

// ParseString is Parse for a line held in a string; rec's strings then
// point into s, which is immutable, so they stay valid.
func (p *Parser) ParseString(s string, rec *Record) error {
	p.un = unescaper{}
	return p.parse(s, rec)
}

// headerNames are the header fields after the version, in order, named as
// in the CEF standard (used in error messages).
var headerNames = [6]string{
	"Device Vendor", "Device Product", "Device Version",
	"Device Event Class ID", "Name", "Severity",
}

func (p *Parser) parse(s string, rec *Record) error {
	rec.reset()
	start, hdr, version, err := findMarker(s)
	if err != nil {
		return err
	}
	rec.Version = version
	if start > 0 {
		p.parseSyslog(s[:start], rec)
	}

	// Header: six fields, each ended by an unescaped '|'. A missing final
	// '|' after Severity is tolerated (no extension follows).
	var fields [6]string
	pos := hdr
	for i := range fields {
		end := indexUnescaped(s, pos, '|')
		if end < 0 {
			if i < len(fields)-1 {
				return &ParseError{Offset: len(s), Msg: "missing header field " + headerNames[i+1]}
			}
			end = len(s)
		}
		fields[i] = p.un.header(trimSpace(s[pos:end]))
		pos = end + 1
	}
	rec.DeviceVendor, rec.DeviceProduct, rec.DeviceVersion = fields[0], fields[1], fields[2]
	rec.DeviceEventClassID, rec.Name, rec.Severity = fields[3], fields[4], fields[5]
	if pos < len(s) {
		rec.Extensions = p.un.parseExtensions(s[pos:], rec.Extensions)
	}
	return nil
}

// findMarker finds the first "CEF:<version>|" in s (spaces are allowed
// around the version: Check Point sends "CEF: 0|"). It returns the offset
// of "CEF:", the offset just past the '|', and the version.
func findMarker(s string) (start, hdr, version int, err error) {
	firstBad := -1
	for from := 0; ; {
		i := strings.Index(s[from:], "CEF:")
		if i < 0 {
			break
		}
		start = from + i
		j := skipSpace(s, start+4)
		k := j
		version = 0
		for k < len(s) && k-j < 9 && isDigit(s[k]) {
			version = version*10 + int(s[k]-'0')
			k++
		}
		if k > j {
			if m := skipSpace(s, k); m < len(s) && s[m] == '|' {
				return start, m + 1, version, nil
			}
		}
		if firstBad < 0 {
			firstBad = j
		}
		from = start + 4
	}
	if firstBad >= 0 {
		return 0, 0, 0, &ParseError{Offset: firstBad, Msg: `invalid CEF version: want "CEF:<number>|"`}
	}
	return 0, 0, 0, &ParseError{Offset: 0, Msg: `not a CEF line: no "CEF:" marker`}
}

// parseExtensions splits ext into key=value pairs, appending to kvs.
//
// The standard requires '=' inside values to be escaped, so a value ends
// where whitespace is followed by a key and an unescaped '='. A key is a
// run of [A-Za-z0-9_.\-\[\]] starting with a letter, digit or '_' (real
// senders use "Auth.NAS-Port", "ad.slice", "PanOSX-Forwarded-For"). An
// unescaped '=' that is not preceded by such a key after whitespace stays
// in the value (URLs: "request=http://h/?a=b"). As in Graylog's fixtures,
// "msg=... logname= uid=0" therefore yields logname="" and uid="0".
// Values may contain spaces and raw newlines; surrounding whitespace is
// trimmed. Text before the first key is dropped.
func (u *unescaper) parseExtensions(ext string, kvs []KV) []KV {
	key := ""
	valStart := -1
	for pos := 0; ; {
		q := indexUnescaped(ext, pos, '=')
		if q < 0 {
			break
		}
		pos = q + 1
		r := q
		for r > 0 && isKeyChar(ext[r-1]) {
			r--
		}
		if r == q || !isKeyStart(ext[r]) {
			continue
		}
		if valStart >= 0 {
			if r-1 < valStart || !isSpace(ext[r-1]) {
				continue // '=' inside a value, e.g. a URL query
			}
			kvs = append(kvs, KV{key, u.value(trimSpace(ext[valStart : r-1]))})
		}
		key, valStart = ext[r:q], q+1
	}
	if valStart >= 0 {
		kvs = append(kvs, KV{key, u.value(trimSpace(ext[valStart:]))})
	}
	return kvs
}

// indexUnescaped returns the index of the first c at or after from that is
// not escaped by an odd run of backslashes, or -1.
func indexUnescaped(s string, from int, c byte) int {
	for from < len(s) {
		i := strings.IndexByte(s[from:], c)
		if i < 0 {
			return -1
		}
		q := from + i
		k := q
		for k > 0 && s[k-1] == '\\' {
			k--
		}
		if (q-k)%2 == 0 {
			return q
		}
		from = q + 1
	}
	return -1
}

// unescaper resolves escapes into fresh strings, or, with reuse, into an
// arena that the next line overwrites.
type unescaper struct {
	arena []byte
	reuse bool
}

// header resolves `\|` and `\\`, the only header escapes. Any other
// backslash is kept, since it cannot have been produced by escaping.
func (u *unescaper) header(v string) string {
	return u.unescape(v, false)
}

// unescapeValue resolves the extension escapes `\\`, `\=`, `\n` and `\r`,
// and also `\|`: the standard says pipes need no escaping in extensions,
// but encoders that escape uniformly send `\|`, and a conforming sender
// never produces it for anything else. Other backslashes are kept as they
// are, so unescaped Windows paths (C:\Users\x) survive intact.
func (u *unescaper) value(v string) string {
	return u.unescape(v, true)
}

func (u *unescaper) unescape(v string, ext bool) string {
	i := strings.IndexByte(v, '\\')
	if i < 0 {
		return v
	}
	var b []byte
	start := -1 // with reuse, the value is u.arena[start:]
	last := 0   // v[last:i] is not yet copied out
	for ; i < len(v)-1; i++ {
		if v[i] != '\\' {
			continue
		}
		var c byte
		switch v[i+1] {
		case '\\':
			c = '\\'
		case '|':
			c = '|'
		case '=':
			c = '='
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		}
		if c == 0 || (!ext && c != '\\' && c != '|') {
			continue // not an escape here: keep the backslash
		}
		if start < 0 {
			if u.reuse {
				start = len(u.arena)
				b = u.arena
			} else {
				start = 0
				b = make([]byte, 0, len(v))
			}
		}
		b = append(b, v[last:i]...)
		b = append(b, c)
		i++
		last = i + 1
	}
	if start < 0 {
		return v
	}
	b = append(b, v[last:]...)
	if !u.reuse {
		return string(b)
	}
	// If append moved the arena, earlier values keep the old array alive.
	u.arena = b
	if len(b) == start {
		return ""
	}
	return unsafe.String(&b[start], len(b)-start)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isAlpha(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

func isKeyStart(c byte) bool { return isAlpha(c) || isDigit(c) || c == '_' }

func isKeyChar(c byte) bool {
	return isKeyStart(c) || c == '.' || c == '-' || c == '[' || c == ']'
}

func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

// trimSpace trims ASCII whitespace; cheaper than strings.TrimSpace, which
// also handles Unicode spaces that CEF never uses as separators.
func trimSpace(s string) string {
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}
