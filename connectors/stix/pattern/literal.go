package pattern

import (
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Kind says which field of a Literal holds its value (STIX 2.1 §9,
// "Constants"; STIX 2.0 Part 5, "Constants").
type Kind int

const (
	// KindInvalid is the zero Kind (no value, e.g. for EXISTS).
	KindInvalid Kind = iota
	// KindString is 'text'; Str holds the unescaped text.
	KindString
	// KindInt is an integer; Int holds it.
	KindInt
	// KindFloat is a decimal number; Float holds it.
	KindFloat
	// KindBool is true or false; Bool holds it.
	KindBool
	// KindBinary is b'base64'; Bytes holds the decoded bytes.
	KindBinary
	// KindHex is h'hex'; Bytes holds the decoded bytes.
	KindHex
	// KindTimestamp is t'RFC 3339'; Time holds the UTC instant (the
	// calendar is not checked, so Feb 30 becomes Mar 1) and Str the text
	// as written between the quotes.
	KindTimestamp
	// KindList is the parenthesised set of an IN comparison; List holds
	// the members, which are never lists themselves.
	KindList
)

// String returns a lower-case name such as "string" or "timestamp".
func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindInt:
		return "int"
	case KindFloat:
		return "float"
	case KindBool:
		return "bool"
	case KindBinary:
		return "binary"
	case KindHex:
		return "hex"
	case KindTimestamp:
		return "timestamp"
	case KindList:
		return "list"
	}
	return "invalid"
}

// Literal is a tagged pattern literal. Only the field(s) named by Kind are
// meaningful; the others are zero.
type Literal struct {
	// Kind selects the meaningful field.
	Kind Kind
	// Str is the unescaped text of a KindString literal and the source
	// text of a KindTimestamp literal.
	Str string
	// Int is the value of a KindInt literal.
	Int int64
	// Float is the value of a KindFloat literal.
	Float float64
	// Bool is the value of a KindBool literal.
	Bool bool
	// Time is the value of a KindTimestamp literal, in UTC.
	Time time.Time
	// Bytes is the value of a KindBinary or KindHex literal.
	Bytes []byte
	// List holds the members of a KindList literal.
	List []Literal
}

// String returns the canonical literal text: 'quoted' strings with \' and
// \\ escapes, decimal integers, floats with at least one fractional digit,
// b'…' in padded standard base64, h'…' in lower-case hex, t'…' as
// written, and "(a, b)" for lists.
func (l Literal) String() string {
	switch l.Kind {
	case KindString:
		return quoteString(l.Str)
	case KindInt:
		return strconv.FormatInt(l.Int, 10)
	case KindFloat:
		s := strconv.FormatFloat(l.Float, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	case KindBool:
		return strconv.FormatBool(l.Bool)
	case KindBinary:
		return "b'" + base64.StdEncoding.EncodeToString(l.Bytes) + "'"
	case KindHex:
		return "h'" + hex.EncodeToString(l.Bytes) + "'"
	case KindTimestamp:
		if l.Str != "" {
			return "t'" + l.Str + "'"
		}
		return "t'" + l.Time.UTC().Format("2006-01-02T15:04:05.999999999Z") + "'"
	case KindList:
		var b strings.Builder
		b.WriteByte('(')
		for i, m := range l.List {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(m.String())
		}
		b.WriteByte(')')
		return b.String()
	}
	return ""
}
