package tabular

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"timap/engine"
)

// DecodeJSON decodes one NDJSON line into ev without schemas: see
// Decoder.Decode. Streams should reuse a Decoder, which keeps its buffers.
func DecodeJSON(line []byte, ev *engine.Event, need engine.ColumnSet) error {
	d := untyped.Get().(*Decoder)
	defer untyped.Put(d)
	return d.Decode(line, ev, need, "", 0)
}

// untyped are schema-less Decoders for DecodeJSON, reused for their
// buffers.
var untyped = sync.Pool{New: func() any { return new(Decoder) }}

// Decoder decodes NDJSON rows, typed by its Schema. Reuse one per stream;
// it is not safe for concurrent use.
type Decoder struct {
	Schema
	// Alias makes the values set in ev point into line (and into the
	// decoder's own buffer for unescaped strings) instead of copies: no
	// allocation per row, but the values are valid only until line is
	// reused or Decode is called again. For callers that finish with a
	// row before reading the next (connectors/files, pipeline lanes);
	// Event.Clone makes a row that outlives that.
	Alias bool

	pairs []jsonPair
	arena []byte            // unescaped strings of the current line (Alias)
	names map[string]string // interned table names (Alias)
}

// jsonPair is one key and value of the object being decoded.
type jsonPair struct {
	key, val string
	null     bool
	valAt    int
}

// Decode decodes one NDJSON line — a JSON object whose keys are column
// names (RFC 8259) — into ev, setting the columns need asks for (all when
// need is nil). The caller resets ev first (ev.Reset with the default
// table); a "Type" key overrides ev.Table. origin and at (file and line,
// or topic/partition and offset) only label schema findings.
//
// Values become text as Log Analytics shows them: strings unescaped,
// numbers as written, true/false, null as "" (not set), nested objects and
// arrays (dynamic columns) as their compact JSON text. TimeGenerated is
// parsed as RFC 3339 with any fraction length (see package doc). With
// schemas, names are resolved and values converted per the table's schema
// (see Schema): unknown tables and columns, names in another case and
// values of the wrong type are counted in the Report; such rows are kept.
//
// It returns an *Error with the byte offset for malformed JSON, a line
// that is not an object, or an unparsable TimeGenerated. Values are
// copies: ev stays valid after line is reused. A repeated key keeps the
// last value.
func (dec *Decoder) Decode(line []byte, ev *engine.Event, need engine.ColumnSet, origin string, at int64) error {
	var d jsonDecoder
	if dec.Alias {
		d.s = unsafe.String(unsafe.SliceData(line), len(line))
		dec.arena = dec.arena[:0]
		d.arena = &dec.arena
	} else {
		d.s = string(line)
	}
	pairs := dec.pairs[:0]
	typed, lowerType := false, "" // an exact Type key seen; a "type" key's value
	d.space()
	if !d.eat('{') {
		return d.fail("want a JSON object")
	}
	d.space()
	if d.eat('}') {
		return d.end()
	}
	for {
		d.space()
		keyAt := d.i
		key, ok := d.str()
		if !ok {
			return d.fail("want a string key")
		}
		d.space()
		if !d.eat(':') {
			return d.fail("want ':'")
		}
		d.space()
		valAt := d.i
		v, isNull, err := d.value()
		if err != nil {
			return err
		}
		switch key = columnName(key); key {
		case "Type":
			if v != "" {
				ev.Table, typed = dec.intern(v), true
			}
		case "":
			return &Error{Offset: keyAt, Msg: "empty column name"}
		default:
			if lowerType == "" && v != "" && dec.Schemas != nil && strings.EqualFold(key, "Type") {
				lowerType = v // "type": the table, unless an exact Type comes
			}
			pairs = append(pairs, jsonPair{key: key, val: v, null: isNull, valAt: valAt})
		}
		d.space()
		if d.eat(',') {
			continue
		}
		if d.eat('}') {
			if err := d.end(); err != nil {
				return err
			}
			break
		}
		return d.fail("want ',' or '}'")
	}
	dec.pairs = pairs
	if !typed && lowerType != "" {
		ev.Table = dec.intern(lowerType)
	}
	// The table is known only now: Type may come last.
	row := dec.startRow(ev.Table, origin, at)
	ev.Table = row.table
	for _, p := range pairs {
		c := row.column(p.key)
		if p.null || p.val == "" {
			if _, set := ev.Get(c.name); set {
				ev.Set(c.name, "") // a repeated key keeps the last value
			}
			continue
		}
		if err := row.put(ev, c, p.key, p.val, need); err != nil {
			return &Error{Offset: p.valAt, Msg: "bad TimeGenerated", Err: err}
		}
	}
	return nil
}

// intern returns a table name that outlives the line: tables are map keys
// of the callers' counters.
func (dec *Decoder) intern(name string) string {
	if !dec.Alias {
		return name // a copy already
	}
	if n, ok := dec.names[name]; ok {
		return n
	}
	n := strings.Clone(name)
	if dec.names == nil {
		dec.names = map[string]string{}
	}
	if len(dec.names) < maxCachedColumns {
		dec.names[n] = n
	}
	return n
}

// jsonDecoder scans one JSON text held in s. Strings without escapes are
// returned as substrings of s, which is a copy of the caller's line or
// (Decoder.Alias) the line itself.
type jsonDecoder struct {
	s     string
	i     int
	arena *[]byte // where unescaped strings go (nil: fresh strings)
}

func (d *jsonDecoder) fail(msg string) error { return &Error{Offset: d.i, Msg: msg} }

func (d *jsonDecoder) end() error {
	d.space()
	if d.i != len(d.s) {
		return d.fail("text after the object")
	}
	return nil
}

func (d *jsonDecoder) space() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *jsonDecoder) eat(c byte) bool {
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return true
	}
	return false
}

// value reads any JSON value and returns its text form.
func (d *jsonDecoder) value() (v string, isNull bool, err error) {
	if d.i >= len(d.s) {
		return "", false, d.fail("want a value")
	}
	start := d.i
	switch c := d.s[d.i]; {
	case c == '"':
		v, ok := d.str()
		if !ok {
			return "", false, d.fail("bad string")
		}
		return v, false, nil
	case c == '{' || c == '[':
		if !d.skipNested() {
			return "", false, d.fail("unterminated object or array")
		}
		raw := d.s[start:d.i]
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(raw)); err != nil {
			return "", false, &Error{Offset: start, Msg: "bad nested value", Err: err}
		}
		return b.String(), false, nil
	case c == '-' || ('0' <= c && c <= '9'):
		if !d.number() {
			return "", false, d.fail("bad number")
		}
		return d.s[start:d.i], false, nil
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if len(d.s)-d.i >= len(lit) && d.s[d.i:d.i+len(lit)] == lit {
			d.i += len(lit)
			if lit == "null" {
				return "", true, nil
			}
			return lit, false, nil
		}
	}
	return "", false, d.fail("want a value")
}

// number reads a JSON number (RFC 8259 §6).
func (d *jsonDecoder) number() bool {
	d.eat('-')
	digits := func() int {
		n := 0
		for d.i < len(d.s) && '0' <= d.s[d.i] && d.s[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.eat('0') {
		// no leading zeros
	} else if digits() == 0 {
		return false
	}
	if d.eat('.') && digits() == 0 {
		return false
	}
	if d.i < len(d.s) && (d.s[d.i] == 'e' || d.s[d.i] == 'E') {
		d.i++
		if !d.eat('+') {
			d.eat('-')
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}

// skipNested moves past a balanced object or array, honouring strings;
// json.Compact validates it afterwards.
func (d *jsonDecoder) skipNested() bool {
	depth := 0
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case '"':
			if _, ok := d.str(); !ok {
				return false
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				d.i++
				return true
			}
		}
		d.i++
	}
	return false
}

// str reads a JSON string at d.i and returns it unescaped.
func (d *jsonDecoder) str() (string, bool) {
	if !d.eat('"') {
		return "", false
	}
	start := d.i
	for d.i < len(d.s) {
		switch c := d.s[d.i]; {
		case c == '"':
			d.i++
			return d.s[start : d.i-1], true
		case c == '\\':
			return d.strEscaped(start)
		case c < 0x20:
			return "", false
		}
		d.i++
	}
	return "", false
}

// strEscaped finishes a string that holds escapes, building a copy.
func (d *jsonDecoder) strEscaped(start int) (string, bool) {
	var b []byte
	at := 0
	if d.arena != nil {
		// Appended to the arena; if append moves it, earlier values keep
		// the old array alive.
		at = len(*d.arena)
		b = append(*d.arena, d.s[start:d.i]...)
	} else {
		b = []byte(d.s[start:d.i])
	}
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			if d.arena != nil {
				*d.arena = b
				if len(b) == at {
					return "", true
				}
				return unsafe.String(&b[at], len(b)-at), true
			}
			return string(b), true
		case c < 0x20:
			return "", false
		case c != '\\':
			b = append(b, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.s) {
			return "", false
		}
		e := d.s[d.i+1]
		d.i += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(utf8.RuneError)
				if d.i+1 < len(d.s) && d.s[d.i] == '\\' && d.s[d.i+1] == 'u' {
					save := d.i
					d.i += 2
					if lo, ok := d.hex4(); ok {
						r2 = utf16.DecodeRune(r, lo)
					}
					if r2 == utf8.RuneError {
						d.i = save // lone surrogate: keep the next escape
					}
				}
				r = r2
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", false
		}
	}
	return "", false
}

func (d *jsonDecoder) hex4() (rune, bool) {
	if len(d.s)-d.i < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(d.s[d.i:d.i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	d.i += 4
	return rune(n), true
}
