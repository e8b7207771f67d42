package pattern

import (
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// tokKind classifies a lexical token. The set mirrors the terminals of the
// OASIS STIXPattern.g4 grammar.
type tokKind int

const (
	tEOF tokKind = iota
	tInvalid
	tIdent       // [A-Za-z_][A-Za-z0-9_]*
	tIdentHyphen // [A-Za-z_][A-Za-z0-9_-]* containing at least one '-'
	tIntPos
	tIntNeg
	tFloatPos
	tFloatNeg
	tString
	tBinary
	tHex
	tTimestamp
	tBool
	tBadLiteral // t'…', b'…' or h'…' whose body is malformed
	// punctuation and operators
	tLBrack
	tRBrack
	tLParen
	tRParen
	tColon
	tDot
	tComma
	tAsterisk
	tEQ
	tNEQ
	tLT
	tLE
	tGT
	tGE
	// keywords (case-sensitive, STIX 2.0 and 2.1 both)
	tAnd
	tOr
	tNot
	tFollowedBy
	tLike
	tMatches
	tIsSuperset
	tIsSubset
	tExists // 2.1 only; an identifier in 2.0
	tLast   // reserved, never valid
	tIn
	tStart
	tStop
	tSeconds
	tWithin
	tRepeats
	tTimes
)

var keywords = map[string]tokKind{
	"AND": tAnd, "OR": tOr, "NOT": tNot, "FOLLOWEDBY": tFollowedBy,
	"LIKE": tLike, "MATCHES": tMatches, "ISSUPERSET": tIsSuperset,
	"ISSUBSET": tIsSubset, "EXISTS": tExists, "LAST": tLast, "IN": tIn,
	"START": tStart, "STOP": tStop, "SECONDS": tSeconds, "WITHIN": tWithin,
	"REPEATS": tRepeats, "TIMES": tTimes,
	"true": tBool, "false": tBool,
}

// token is one lexeme. val carries the decoded value of literal tokens.
type token struct {
	kind tokKind
	pos  int    // byte offset of the first byte
	text string // source text
	val  Literal
	err  string // for tInvalid/tBadLiteral: what was expected instead
}

type lexer struct {
	src     string
	pos     int
	version string
}

// next returns the next significant token, skipping whitespace and comments
// exactly where the ANTLR grammar's WS, COMMENT and LINE_COMMENT rules would.
func (lx *lexer) next() token {
	if t, ok := lx.skipSpace(); !ok {
		return t
	}
	s, start := lx.src, lx.pos
	if start >= len(s) {
		return token{kind: tEOF, pos: start}
	}
	c := s[start]
	switch {
	case c == '\'':
		return lx.lexString(start, start)
	case (c == 't' || c == 'b' || c == 'h') && start+1 < len(s) && s[start+1] == '\'':
		return lx.lexPrefixed(c, start)
	case isIdentStart(c):
		return lx.lexWord(start)
	case isDigit(c) || c == '.' || c == '+' || c == '-':
		if t, ok := lx.lexNumber(start); ok {
			return t
		}
	}
	lx.pos++
	switch c {
	case '[':
		return lx.punct(tLBrack, start)
	case ']':
		return lx.punct(tRBrack, start)
	case '(':
		return lx.punct(tLParen, start)
	case ')':
		return lx.punct(tRParen, start)
	case ':':
		return lx.punct(tColon, start)
	case '.':
		return lx.punct(tDot, start)
	case ',':
		return lx.punct(tComma, start)
	case '*':
		return lx.punct(tAsterisk, start)
	case '=':
		if lx.peekByte('=') {
			lx.pos++
		}
		return lx.punct(tEQ, start)
	case '!':
		if lx.peekByte('=') {
			lx.pos++
			return lx.punct(tNEQ, start)
		}
	case '<':
		switch {
		case lx.peekByte('='):
			lx.pos++
			return lx.punct(tLE, start)
		case lx.peekByte('>'):
			lx.pos++
			return lx.punct(tNEQ, start)
		}
		return lx.punct(tLT, start)
	case '>':
		if lx.peekByte('=') {
			lx.pos++
			return lx.punct(tGE, start)
		}
		return lx.punct(tGT, start)
	}
	// Anything else (including '+', '-', '^', '/' on their own) is a token
	// no grammar rule accepts; report the whole rune.
	_, size := utf8.DecodeRuneInString(s[start:])
	lx.pos = start + size
	return token{kind: tInvalid, pos: start, text: s[start:lx.pos]}
}

func (lx *lexer) punct(k tokKind, start int) token {
	return token{kind: k, pos: start, text: lx.src[start:lx.pos]}
}

func (lx *lexer) peekByte(b byte) bool {
	return lx.pos < len(lx.src) && lx.src[lx.pos] == b
}

// skipSpace consumes whitespace and comments. It reports false with an
// error token for an unterminated block comment.
func (lx *lexer) skipSpace() (token, bool) {
	s := lx.src
	for lx.pos < len(s) {
		c := s[lx.pos]
		if c < utf8.RuneSelf {
			switch {
			case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f':
				lx.pos++
				continue
			case c == '/' && strings.HasPrefix(s[lx.pos:], "/*"):
				end := strings.Index(s[lx.pos+2:], "*/")
				if end < 0 {
					return token{kind: tInvalid, pos: lx.pos, text: "/*", err: "'*/' closing the comment"}, false
				}
				lx.pos += end + 4
				continue
			case c == '/' && strings.HasPrefix(s[lx.pos:], "//"):
				end := strings.IndexAny(s[lx.pos:], "\r\n")
				if end < 0 {
					lx.pos = len(s)
				} else {
					lx.pos += end
				}
				continue
			}
			return token{}, true
		}
		r, size := utf8.DecodeRuneInString(s[lx.pos:])
		if !isUnicodeSpace(r) {
			return token{}, true
		}
		lx.pos += size
	}
	return token{}, true
}

// isUnicodeSpace lists the non-ASCII members of the grammar's WS rule.
func isUnicodeSpace(r rune) bool {
	switch r {
	case 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isBase64Char(c byte) bool {
	return isIdentStart(c) && c != '_' || isDigit(c) || c == '+' || c == '/'
}

// lexWord lexes identifiers and keywords. As in ANTLR, the longest match
// wins, so "AND-x" is a hyphenated identifier, not AND followed by junk.
func (lx *lexer) lexWord(start int) token {
	s := lx.src
	i, hyphen := start+1, false
	for i < len(s) && (isIdentPart(s[i]) || s[i] == '-') {
		hyphen = hyphen || s[i] == '-'
		i++
	}
	lx.pos = i
	text := s[start:i]
	if hyphen {
		return token{kind: tIdentHyphen, pos: start, text: text}
	}
	if k, ok := keywords[text]; ok && !(k == tExists && lx.version == Version20) {
		t := token{kind: k, pos: start, text: text}
		if k == tBool {
			t.val = Literal{Kind: KindBool, Bool: text == "true"}
		}
		return t
	}
	return token{kind: tIdent, pos: start, text: text}
}

// lexNumber lexes IntPos/IntNeg/FloatPos/FloatNeg literals. A leading zero
// ends an integer ("01" is two tokens), matching IntPosLiteral.
func (lx *lexer) lexNumber(start int) (token, bool) {
	s := lx.src
	i := start
	neg := false
	if s[i] == '+' || s[i] == '-' {
		neg = s[i] == '-'
		i++
	}
	digits := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intEnd := i
	if i < len(s) && s[i] == '.' && i+1 < len(s) && isDigit(s[i+1]) {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		text := s[start:i]
		f, err := strconv.ParseFloat(strings.TrimPrefix(text, "+"), 64)
		if err != nil {
			return token{kind: tInvalid, pos: start, text: text, err: "a finite float"}, true
		}
		lx.pos = i
		k := tFloatPos
		if neg {
			k = tFloatNeg
		}
		return token{kind: k, pos: start, text: text, val: Literal{Kind: KindFloat, Float: f}}, true
	}
	if intEnd == digits {
		return token{}, false // lone sign or '.', handled as punctuation
	}
	if s[digits] == '0' {
		intEnd = digits + 1
	}
	text := s[start:intEnd]
	lx.pos = intEnd
	n, err := strconv.ParseInt(strings.TrimPrefix(text, "+"), 10, 64)
	if err != nil {
		return token{kind: tInvalid, pos: start, text: text, err: "an integer within 64-bit range"}, true
	}
	k := tIntPos
	if neg {
		k = tIntNeg
	}
	return token{kind: k, pos: start, text: text, val: Literal{Kind: KindInt, Int: n}}, true
}

// lexString lexes a quoted string starting at quote. Only \' and \\ escapes
// are legal (StringLiteral rule); anything else is reported at the
// backslash. tokStart differs from quote for prefixed literals.
func (lx *lexer) lexString(tokStart, quote int) token {
	s := lx.src
	var b strings.Builder
	i := quote + 1
	runStart := i
	for i < len(s) {
		switch s[i] {
		case '\'':
			b.WriteString(s[runStart:i])
			lx.pos = i + 1
			return token{kind: tString, pos: tokStart, text: s[tokStart:lx.pos],
				val: Literal{Kind: KindString, Str: b.String()}}
		case '\\':
			if i+1 < len(s) && (s[i+1] == '\'' || s[i+1] == '\\') {
				b.WriteString(s[runStart:i])
				b.WriteByte(s[i+1])
				i += 2
				runStart = i
				continue
			}
			end := i + 1
			if end < len(s) {
				_, size := utf8.DecodeRuneInString(s[end:])
				end += size
			}
			lx.pos = len(s)
			return token{kind: tInvalid, pos: i, text: s[i:end], err: `escape \' or \\`}
		}
		i++
	}
	lx.pos = len(s)
	return token{kind: tInvalid, pos: quote, text: "end of input", err: "closing quote of string starting here"}
}

// lexPrefixed lexes t'…', b'…' and h'…'. A body that does not fit the
// literal's lexical rule yields tBadLiteral at the prefix letter, which is
// where the OASIS validator reports "extraneous input 't'".
func (lx *lexer) lexPrefixed(prefix byte, start int) token {
	t := lx.lexString(start, start+1)
	if t.kind != tString {
		return t
	}
	body := t.val.Str
	raw := lx.src[start+2 : lx.pos-1]
	bad := func(want string) token {
		return token{kind: tBadLiteral, pos: start, text: t.text, err: want}
	}
	if body != raw { // escapes are not part of these literal forms
		return bad(literalWant(prefix))
	}
	switch prefix {
	case 't':
		ts, ok := parseTimestamp(body)
		if !ok {
			return bad(literalWant(prefix))
		}
		return token{kind: tTimestamp, pos: start, text: t.text, val: Literal{Kind: KindTimestamp, Time: ts, Str: body}}
	case 'b':
		if !validBase64(body) {
			return bad(literalWant(prefix))
		}
		data, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return bad(literalWant(prefix))
		}
		return token{kind: tBinary, pos: start, text: t.text, val: Literal{Kind: KindBinary, Bytes: data}}
	default:
		if len(body)%2 != 0 {
			return bad(literalWant(prefix))
		}
		for i := 0; i < len(body); i++ {
			if !isHexDigit(body[i]) {
				return bad(literalWant(prefix))
			}
		}
		data, _ := hex.DecodeString(body)
		return token{kind: tHex, pos: start, text: t.text, val: Literal{Kind: KindHex, Bytes: data}}
	}
}

func literalWant(prefix byte) string {
	switch prefix {
	case 't':
		return "timestamp t'YYYY-MM-DDTHH:MM:SS[.s+]Z'"
	case 'b':
		return "padded base64 binary b'…'"
	}
	return "hex binary h'…' with an even number of hex digits"
}

// validBase64 applies the BinaryLiteral rule: at least one 4-char group,
// '=' padding only in the final group.
func validBase64(s string) bool {
	if len(s) == 0 || len(s)%4 != 0 {
		return false
	}
	pad := 0
	switch {
	case strings.HasSuffix(s, "=="):
		pad = 2
	case strings.HasSuffix(s, "="):
		pad = 1
	}
	for i := 0; i < len(s)-pad; i++ {
		if !isBase64Char(s[i]) {
			return false
		}
	}
	return true
}

// parseTimestamp applies the TimestampLiteral rule: YYYY-MM-DDTHH:MM:SS,
// optional fraction, 'Z'; month 01-12, day 01-31, hour 00-23, minute
// 00-59, second 00-60. Like the grammar it does not check the calendar
// (Feb 30 is accepted; time.Date normalises it).
func parseTimestamp(s string) (time.Time, bool) {
	if len(s) < 20 || s[len(s)-1] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for j := i; j < i+n; j++ {
			if !isDigit(s[j]) {
				return -1
			}
			v = v*10 + int(s[j]-'0')
		}
		return v
	}
	if s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	y, mo, d, h, mi, sec := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60 {
		return time.Time{}, false
	}
	nanos := 0
	rest := s[19 : len(s)-1]
	if rest != "" {
		if rest[0] != '.' || len(rest) < 2 {
			return time.Time{}, false
		}
		frac := rest[1:]
		for i := 0; i < len(frac); i++ {
			if !isDigit(frac[i]) {
				return time.Time{}, false
			}
			if i < 9 {
				nanos = nanos*10 + int(frac[i]-'0')
			}
		}
		for i := len(frac); i < 9; i++ {
			nanos *= 10
		}
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, nanos, time.UTC), true
}
