// Package cef parses ArcSight Common Event Format (CEF) lines, optionally
// behind an RFC 3164 or RFC 5424 syslog header, and maps them to rows of
// Microsoft Sentinel's CommonSecurityLog table.
//
// Sources followed:
//   - ArcSight Common Event Format (CEF) Implementation Standard (Micro
//     Focus, "Implementing ArcSight CEF", CEF versions 0 and 1): a header
//     of seven pipe-separated fields with `\|` and `\\` escapes, then
//     space-separated key=value extensions with `\=`, `\\`, `\n`, `\r`
//     escapes, and the extension key dictionary (short and full names).
//   - RFC 3164 and RFC 5424 for the optional syslog prefix.
//   - Microsoft Learn, "CEF and CommonSecurityLog field mapping"
//     (articles/sentinel/cef-name-mapping.md) for the column mapping; see
//     columnOf in mapping.go.
//
// The per-event path is built to allocate nothing: Parse and Decode return
// strings that point into the input line (see Parser.CopyLine), reuse the
// Record's Extensions slice, and allocate only to unescape a value that
// holds an escape sequence or to build the AdditionalExtensions column.
package cef

import (
	"strconv"
	"time"
)

// KV is one extension pair of a CEF record, in line order. Value is already
// unescaped (`\=` → `=`, `\\` → `\`, `\n` → newline, `\r` → carriage return,
// `\|` → `|`) and trimmed of surrounding whitespace.
type KV struct {
	Key, Value string
}

// Record is one parsed CEF line. Parse fills it in place, reusing the
// backing array of Extensions, so one Record can serve a whole stream.
//
// The header strings and extension values point into the parsed line unless
// they had to be unescaped; see Parser.CopyLine for how long they stay valid.
type Record struct {
	// Version is the number after "CEF:" (0 for CEF 0.x, 1 for CEF 1.x).
	Version int
	// The six header fields after the version, unescaped (`\|` → `|`,
	// `\\` → `\`) and trimmed of surrounding whitespace.
	DeviceVendor, DeviceProduct, DeviceVersion, DeviceEventClassID, Name, Severity string
	// Extensions holds the extension pairs in line order. A key may repeat;
	// Get returns the last one, as ArcSight does.
	Extensions []KV
	// SyslogTime is the timestamp of the syslog header in front of "CEF:",
	// in UTC, or the zero Time when there is none or it could not be read.
	SyslogTime time.Time
	// SyslogHost is the HOSTNAME of the syslog header, or "".
	SyslogHost string
}

// Get returns the value of the last extension pair with key and whether
// there is one. Keys are case-sensitive, as in the CEF standard.
func (r *Record) Get(key string) (string, bool) {
	for i := len(r.Extensions) - 1; i >= 0; i-- {
		if r.Extensions[i].Key == key {
			return r.Extensions[i].Value, true
		}
	}
	return "", false
}

// reset empties r for the next line, keeping the Extensions storage.
func (r *Record) reset() {
	ext := r.Extensions[:0]
	*r = Record{Extensions: ext}
}

// ParseError reports a line that is not valid CEF. Offset is the byte
// offset in the line where the problem was found (0 ≤ Offset ≤ len(line)).
type ParseError struct {
	Offset int
	Msg    string
}

// Error returns "cef: offset N: msg".
func (e *ParseError) Error() string {
	return "cef: offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}
