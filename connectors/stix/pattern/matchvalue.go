package pattern

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// compiledCmp is a Comparison with its regular expression and set ready.
type compiledCmp struct {
	c     *Comparison
	re    *regexp.Regexp // LIKE and MATCHES
	latin bool           // pattern text is all code points < 256
	set   []value        // IN members
	times bool           // IN members are timestamps
	lit   value          // comparison value for the other operators
}

// value is a pattern literal or JSON value reduced to the Python matcher's
// type classes.
type value struct {
	class valueClass
	isInt bool
	i     int64
	f     float64
	s     string
	b     []byte
	bo    bool
	t     time.Time
}

type valueClass int

const (
	vOther valueClass = iota // null, lists, dicts: never equal, never ordered
	vNum
	vStr
	vBytes
	vBool
	vTime
)

func compileCmp(c *Comparison) (*compiledCmp, error) {
	cc := &compiledCmp{c: c}
	var err error
	switch c.Op {
	case In:
		if c.Value.Kind != KindList {
			return nil, fmt.Errorf("pattern: match: IN needs a set, got %s", c.Value.Kind)
		}
		if err := checkHomogeneous(c.Value); err != nil {
			return nil, err
		}
		for _, l := range c.Value.List {
			v, err := literalValue(l)
			if err != nil {
				return nil, err
			}
			cc.set = append(cc.set, v)
			cc.times = v.class == vTime
		}
	case Like, Matches:
		if c.Value.Kind != KindString {
			return nil, fmt.Errorf("pattern: match: %s needs a string, got %s", c.Op, c.Value.Kind)
		}
		src := c.Value.Str
		if c.Op == Like {
			src = likeToRegexp(src)
		}
		cc.latin = isLatin1(src)
		cc.re, err = regexp.Compile(src)
		if err != nil {
			return nil, fmt.Errorf("%w: regular expression %q: %v", ErrUnsupported, c.Value.Str, err)
		}
	case Exists:
	default:
		cc.lit, err = literalValue(c.Value)
		if err != nil {
			return nil, err
		}
	}
	return cc, nil
}

// checkHomogeneous: the Python matcher rejects sets mixing types, except
// ints with floats (and b” with h”, which are both bytes).
func checkHomogeneous(set Literal) error {
	class := func(k Kind) Kind {
		switch k {
		case KindInt:
			return KindFloat
		case KindHex:
			return KindBinary
		}
		return k
	}
	for _, l := range set.List {
		if class(l.Kind) != class(set.List[0].Kind) {
			return fmt.Errorf("pattern: match: nonhomogeneous set: %s", set)
		}
	}
	return nil
}

func literalValue(l Literal) (value, error) {
	switch l.Kind {
	case KindInt:
		return value{class: vNum, isInt: true, i: l.Int, f: float64(l.Int)}, nil
	case KindFloat:
		return value{class: vNum, f: l.Float}, nil
	case KindString:
		return value{class: vStr, s: l.Str}, nil
	case KindBool:
		return value{class: vBool, bo: l.Bool}, nil
	case KindBinary, KindHex:
		return value{class: vBytes, b: l.Bytes}, nil
	case KindTimestamp:
		t, ok := strictTime(l.Str)
		if !ok {
			return value{}, fmt.Errorf("pattern: match: invalid timestamp literal t'%s'", l.Str)
		}
		return value{class: vTime, t: t}, nil
	}
	return value{}, fmt.Errorf("pattern: match: unsupported literal kind %s", l.Kind)
}

// jsonValue classifies a value selected from an observed object.
func jsonValue(v any) value {
	switch x := v.(type) {
	case string:
		return value{class: vStr, s: x}
	case bool:
		return value{class: vBool, bo: x}
	case float64:
		return value{class: vNum, f: x}
	case float32:
		return value{class: vNum, f: float64(x)}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return value{class: vNum, isInt: true, i: i, f: float64(i)}
		}
		if f, err := x.Float64(); err == nil {
			return value{class: vNum, f: f}
		}
	case int:
		return value{class: vNum, isInt: true, i: int64(x), f: float64(x)}
	case int64:
		return value{class: vNum, isInt: true, i: x, f: float64(x)}
	case int32:
		return value{class: vNum, isInt: true, i: int64(x), f: float64(x)}
	case []byte:
		return value{class: vBytes, b: x}
	case time.Time:
		return value{class: vTime, t: x.UTC().Truncate(time.Microsecond)}
	}
	return value{class: vOther}
}

// test applies the comparison to one selected value.
func (cc *compiledCmp) test(raw any) (bool, error) {
	c := cc.c
	v := jsonValue(raw)
	var r bool
	switch c.Op {
	case Exists:
		return true, nil
	case Eq, Neq:
		if err := cc.coerceTime(&v, cc.lit.class == vTime); err != nil {
			return false, err
		}
		r = equalValues(v, cc.lit, true)
		if c.Op == Neq {
			r = !r
		}
	case Lt, Le, Gt, Ge:
		if err := cc.coerceTime(&v, cc.lit.class == vTime); err != nil {
			return false, err
		}
		d, ok, comparable := compareValues(v, cc.lit)
		if !comparable {
			return false, nil // Python returns before applying NOT
		}
		if ok {
			switch c.Op {
			case Lt:
				r = d < 0
			case Le:
				r = d <= 0
			case Gt:
				r = d > 0
			default:
				r = d >= 0
			}
		}
	case In:
		if err := cc.coerceTime(&v, cc.times); err != nil {
			return false, err
		}
		for _, m := range cc.set {
			if equalValues(v, m, false) {
				r = true
				break
			}
		}
	case Like, Matches:
		var err error
		if r, err = cc.testRegexp(v); err != nil {
			return false, err
		}
	case IsSubset, IsSuperset:
		if v.class == vStr {
			var err error
			if c.Op == IsSubset {
				r, err = inSubnet(v.s, c.Value.Str)
			} else {
				r, err = inSubnet(c.Value.Str, v.s)
			}
			if err != nil {
				return false, err
			}
		}
	default:
		return false, fmt.Errorf("pattern: match: unknown operator %v", c.Op)
	}
	if c.Negated {
		r = !r
	}
	return r, nil
}

// coerceTime parses a JSON string as a timestamp when the pattern compares
// against timestamps; failure is an error, as in the Python matcher.
func (cc *compiledCmp) coerceTime(v *value, want bool) error {
	if !want || v.class != vStr {
		return nil
	}
	t, ok := strictTime(v.s)
	if !ok {
		return fmt.Errorf("pattern: match: invalid timestamp in JSON: %q", v.s)
	}
	*v = value{class: vTime, t: t}
	return nil
}

func (cc *compiledCmp) testRegexp(v value) (bool, error) {
	switch v.class {
	case vStr:
		return cc.re.MatchString(v.s), nil
	case vBytes:
		if !cc.latin {
			return false, nil
		}
		if cc.c.Op == Like { // Python decodes the bytes as UTF-8 for LIKE
			if !utf8.Valid(v.b) {
				return false, fmt.Errorf("pattern: match: LIKE on binary value that is not UTF-8")
			}
			return cc.re.Match(v.b), nil
		}
		return cc.re.MatchString(latin1String(v.b)), nil
	}
	return false, nil
}

// equalValues implements the Python matcher's equality table. binStr
// allows string/binary equality (=, !=) which set membership lacks.
func equalValues(a, b value, binStr bool) bool {
	switch {
	case a.class == vNum && b.class == vNum:
		if a.isInt && b.isInt {
			return a.i == b.i
		}
		return a.f == b.f
	case a.class != b.class:
		if binStr && (a.class == vBytes && b.class == vStr || a.class == vStr && b.class == vBytes) {
			s, bs := a.s, b.b
			if a.class == vBytes {
				s, bs = b.s, a.b
			}
			conv, ok := latin1Bytes(s)
			return ok && bytes.Equal(conv, bs)
		}
		return false
	case a.class == vStr:
		return a.s == b.s
	case a.class == vBytes:
		return bytes.Equal(a.b, b.b)
	case a.class == vBool:
		return a.bo == b.bo
	case a.class == vTime:
		return a.t.Equal(b.t)
	}
	return false
}

// compareValues orders a against b. comparable is false for type pairs
// with no ordering; ok is false when a string/binary pair cannot be
// compared because the string has code points >= 256 (result false, but
// NOT still applies).
func compareValues(a, b value) (d int, ok, comparable bool) {
	switch {
	case a.class == vNum && b.class == vNum:
		if a.isInt && b.isInt {
			return cmpOrdered(a.i, b.i), true, true
		}
		return cmpOrdered(a.f, b.f), true, true
	case a.class == vStr && b.class == vStr:
		return strings.Compare(a.s, b.s), true, true
	case a.class == vBytes && b.class == vBytes:
		return bytes.Compare(a.b, b.b), true, true
	case a.class == vTime && b.class == vTime:
		return a.t.Compare(b.t), true, true
	case a.class == vBytes && b.class == vStr:
		conv, ok := latin1Bytes(b.s)
		return bytes.Compare(a.b, conv), ok, true
	case a.class == vStr && b.class == vBytes:
		conv, ok := latin1Bytes(a.s)
		return bytes.Compare(conv, b.b), ok, true
	}
	return 0, false, false
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// latin1Bytes maps each code point to one byte; it fails on code points
// >= 256, which the spec says never equal a binary value.
func latin1Bytes(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r >= 256 {
			return nil, false
		}
		out = append(out, byte(r))
	}
	return out, true
}

func latin1String(b []byte) string {
	rs := make([]rune, len(b))
	for i, c := range b {
		rs[i] = rune(c)
	}
	return string(rs)
}

func isLatin1(s string) bool {
	for _, r := range s {
		if r >= 256 {
			return false
		}
	}
	return true
}

// likeToRegexp translates SQL LIKE: % is any run, _ one character (neither
// crosses a newline, like Python's '.'), anchored at both ends with an
// optional trailing newline as Python's '$' allows.
func likeToRegexp(like string) string {
	var b strings.Builder
	b.WriteByte('^')
	for _, r := range like {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteByte('.')
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`\n?\z`)
	return b.String()
}

// decodeSuffix converts *_hex and *_bin property values to bytes.
func decodeSuffix(key string, v any) (any, error) {
	hexKey, binKey := strings.HasSuffix(key, "_hex"), strings.HasSuffix(key, "_bin")
	if !hexKey && !binKey {
		return v, nil
	}
	s, ok := v.(string)
	if !ok {
		if b, isBytes := v.([]byte); isBytes {
			return b, nil
		}
		return nil, fmt.Errorf("pattern: match: property %q is not a string", key)
	}
	var b []byte
	var err error
	if hexKey {
		b, err = hex.DecodeString(s)
	} else {
		b, err = base64.StdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, fmt.Errorf("pattern: match: property %q: %v", key, err)
	}
	return b, nil
}

// strictTime parses STIX timestamp text (upper-case T and Z, optional
// fraction) and rejects impossible calendar dates and leap seconds, as
// Python's strptime does. The result is truncated to microseconds.
func strictTime(s string) (time.Time, bool) {
	t, ok := parseTimestamp(s)
	if !ok || t.Format("2006-01-02T15:04:05") != s[:19] {
		return time.Time{}, false
	}
	return t.Truncate(time.Microsecond), true
}

// inSubnet reports whether the address or CIDR a lies inside CIDR net.
// Errors mirror the Python matcher: net must have a prefix length.
func inSubnet(a, net string) (bool, error) {
	container, err := netip.ParsePrefix(net)
	if err != nil {
		return false, fmt.Errorf("pattern: match: invalid CIDR subnet %q", net)
	}
	var inner netip.Prefix
	if strings.Contains(a, "/") {
		inner, err = netip.ParsePrefix(a)
		if err != nil {
			return false, fmt.Errorf("pattern: match: invalid CIDR subnet %q", a)
		}
	} else {
		addr, err := netip.ParseAddr(a)
		if err != nil {
			return false, fmt.Errorf("pattern: match: invalid IP address %q", a)
		}
		inner = netip.PrefixFrom(addr, addr.BitLen())
	}
	if inner.Addr().Is4() != container.Addr().Is4() || inner.Bits() < container.Bits() {
		return false, nil
	}
	return container.Masked().Contains(inner.Addr()), nil
}
