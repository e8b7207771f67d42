package pattern

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Supported STIX versions for ParseVersion.
const (
	// Version20 selects STIX 2.0 Part 5 patterning.
	Version20 = "2.0"
	// Version21 selects STIX 2.1 §9 patterning (the default).
	Version21 = "2.1"
)

// maxDepth bounds parenthesis nesting so hostile input cannot exhaust the
// stack.
const maxDepth = 256

// SyntaxError reports why a pattern was rejected. It covers grammar errors
// and the validator's semantic checks (hash formats, duplicate qualifiers
// in STIX 2.1).
type SyntaxError struct {
	// Offset is the byte offset in the input of the offending token.
	Offset int
	// Expected describes what the grammar or check wanted there.
	Expected string
	// Found is the offending input, quoted, or "end of input".
	Found string

	line, col int
}

// Error formats the error as "pattern:LINE:COL: expected X, found Y" with
// 1-based line and byte column.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("pattern:%d:%d: expected %s, found %s", e.line, e.col, e.Expected, e.Found)
}

func newSyntaxError(src string, off int, expected, found string) *SyntaxError {
	line, lineStart := 1, 0
	for i := 0; i < off && i < len(src); i++ {
		if src[i] == '\n' {
			line++
			lineStart = i + 1
		}
	}
	return &SyntaxError{Offset: off, Expected: expected, Found: found, line: line, col: off - lineStart + 1}
}

// Parse parses a STIX 2.1 pattern (STIX 2.1 §9). It is ParseVersion(s,
// Version21). On failure the error is a *SyntaxError.
func Parse(s string) (*Pattern, error) { return ParseVersion(s, Version21) }

// ParseVersion parses s as a pattern of the given STIX version, "2.0" or
// "2.1". It accepts what the OASIS cti-pattern-validator accepts for that
// version, with two deliberate differences: integers beyond int64 are
// rejected, and hash digest formats are checked for =, != and each IN
// member only (the validator also rejects LIKE/MATCHES and IN sets on
// hashes by accident). The versions differ in that 2.1 adds EXISTS,
// requires timestamp literals in START/STOP (2.0 also takes plain
// strings) and forbids two qualifiers of one kind directly on one
// observation. Errors are *SyntaxError, or a plain error for an unknown
// version.
func ParseVersion(s, version string) (*Pattern, error) {
	if version != Version20 && version != Version21 {
		return nil, fmt.Errorf("pattern: unsupported STIX version %q (want %q or %q)", version, Version20, Version21)
	}
	p := &parser{lx: lexer{src: s, version: version}, version: version}
	p.advance()
	root, err := p.parseFollowedBy()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.fail("end of input")
	}
	return &Pattern{Root: root, Version: version}, nil
}

type parser struct {
	lx      lexer
	tok     token
	depth   int
	version string
}

func (p *parser) advance() { p.tok = p.lx.next() }

// fail builds an error at the current token.
func (p *parser) fail(expected string) error {
	t := p.tok
	if t.kind == tInvalid && t.err != "" {
		expected = t.err
	}
	return p.failAt(t, expected)
}

func (p *parser) failAt(t token, expected string) error {
	return newSyntaxError(p.lx.src, t.pos, expected, describe(t))
}

// describe renders a token for error messages, truncated to stay readable.
func describe(t token) string {
	if t.kind == tEOF {
		return "end of input"
	}
	s := t.text
	if t.kind == tInvalid && s == "end of input" {
		return s
	}
	const maxLen = 40
	if len(s) > maxLen {
		cut := maxLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	switch t.kind {
	case tString, tBadLiteral, tBinary, tHex, tTimestamp:
		return s // already quoted literal text
	}
	return "'" + s + "'"
}

func (p *parser) expect(k tokKind, what string) (token, error) {
	t := p.tok
	if t.kind != k {
		return t, p.fail(what)
	}
	p.advance()
	return t, nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.fail(fmt.Sprintf("at most %d nested parentheses", maxDepth))
	}
	return nil
}

// parseFollowedBy: observationExpressions, the loosest level.
func (p *parser) parseFollowedBy() (ObservationExpr, error) {
	return p.parseObsBinary(FollowedBy, tFollowedBy, p.parseObsOr)
}

func (p *parser) parseObsOr() (ObservationExpr, error) {
	return p.parseObsBinary(Or, tOr, p.parseObsAnd)
}

func (p *parser) parseObsAnd() (ObservationExpr, error) {
	return p.parseObsBinary(And, tAnd, p.parseObsQualified)
}

// parseObsBinary parses a left-associative chain of one observation
// operator.
func (p *parser) parseObsBinary(op BoolOp, k tokKind, sub func() (ObservationExpr, error)) (ObservationExpr, error) {
	return parseChain(p, k, sub, func(l, r ObservationExpr) ObservationExpr { return &ObservationOp{Op: op, Left: l, Right: r} })
}

// parseChain parses sub (k sub)*, folding to the left with join: both
// boolean levels of the grammar are such chains.
func parseChain[T any](p *parser, k tokKind, sub func() (T, error), join func(l, r T) T) (T, error) {
	left, err := sub()
	if err != nil {
		return left, err
	}
	for p.tok.kind == k {
		p.advance()
		right, err := sub()
		if err != nil {
			return right, err
		}
		left = join(left, right)
	}
	return left, nil
}

// parseObsQualified parses "[ … ]" or "( … )" and any qualifiers after it.
func (p *parser) parseObsQualified() (ObservationExpr, error) {
	var node ObservationExpr
	var quals *[]Qualifier
	switch p.tok.kind {
	case tLBrack:
		if err := p.enter(); err != nil {
			return nil, err
		}
		p.advance()
		c, err := p.parseCmpOr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRBrack, "']'"); err != nil {
			return nil, err
		}
		p.depth--
		o := &Observation{Expr: c}
		node, quals = o, &o.Qualifiers
	case tLParen:
		if err := p.enter(); err != nil {
			return nil, err
		}
		p.advance()
		inner, err := p.parseFollowedBy()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen, "')'"); err != nil {
			return nil, err
		}
		p.depth--
		if !isQualifierStart(p.tok.kind) {
			return inner, nil
		}
		g := &Grouped{Expr: inner}
		node, quals = g, &g.Qualifiers
	default:
		return nil, p.fail("'[' or '('")
	}
	_, simple := node.(*Observation)
	for isQualifierStart(p.tok.kind) {
		at := p.tok
		q, err := p.parseQualifier()
		if err != nil {
			return nil, err
		}
		// STIX 2.1 validator: no repeated qualifier kind directly on a
		// bracketed observation; a parenthesised group resets the check.
		if simple && p.version == Version21 {
			for _, prev := range *quals {
				if prev.Kind == q.Kind {
					return nil, p.failAt(at, "at most one "+q.Kind.String()+" qualifier directly on an observation (STIX 2.1)")
				}
			}
		}
		*quals = append(*quals, q)
	}
	return node, nil
}

func isQualifierStart(k tokKind) bool { return k == tWithin || k == tRepeats || k == tStart }

func (p *parser) parseQualifier() (Qualifier, error) {
	switch p.tok.kind {
	case tWithin:
		p.advance()
		if p.tok.kind != tIntPos && p.tok.kind != tFloatPos {
			return Qualifier{}, p.fail("positive integer or float")
		}
		n := p.tok.val
		p.advance()
		if _, err := p.expect(tSeconds, "'SECONDS'"); err != nil {
			return Qualifier{}, err
		}
		return Qualifier{Kind: Within, Seconds: n}, nil
	case tRepeats:
		p.advance()
		if p.tok.kind != tIntPos {
			return Qualifier{}, p.fail("positive integer")
		}
		n := p.tok.val.Int
		p.advance()
		if _, err := p.expect(tTimes, "'TIMES'"); err != nil {
			return Qualifier{}, err
		}
		return Qualifier{Kind: Repeats, Times: n}, nil
	default: // tStart
		p.advance()
		start, err := p.parseStartStopTime()
		if err != nil {
			return Qualifier{}, err
		}
		if _, err := p.expect(tStop, "'STOP'"); err != nil {
			return Qualifier{}, err
		}
		stop, err := p.parseStartStopTime()
		if err != nil {
			return Qualifier{}, err
		}
		return Qualifier{Kind: StartStop, Start: start, Stop: stop}, nil
	}
}

// parseStartStopTime: 2.1 takes TimestampLiteral; 2.0's grammar takes
// StringLiteral and its validator also accepts timestamp literals.
func (p *parser) parseStartStopTime() (Literal, error) {
	t := p.tok
	if t.kind == tTimestamp || (t.kind == tString && p.version == Version20) {
		p.advance()
		return t.val, nil
	}
	if t.kind == tBadLiteral {
		return Literal{}, p.failAt(t, t.err)
	}
	if p.version == Version20 {
		return Literal{}, p.fail("timestamp or string literal")
	}
	return Literal{}, p.fail("timestamp literal t'…'")
}

func (p *parser) parseCmpOr() (ComparisonExpr, error) {
	return p.parseCmpBinary(Or, tOr, p.parseCmpAnd)
}

func (p *parser) parseCmpAnd() (ComparisonExpr, error) {
	return p.parseCmpBinary(And, tAnd, p.parsePropTest)
}

func (p *parser) parseCmpBinary(op BoolOp, k tokKind, sub func() (ComparisonExpr, error)) (ComparisonExpr, error) {
	return parseChain(p, k, sub, func(l, r ComparisonExpr) ComparisonExpr { return &ComparisonOp{Op: op, Left: l, Right: r} })
}

// parsePropTest parses one comparison or a parenthesised comparison
// expression.
func (p *parser) parsePropTest() (ComparisonExpr, error) {
	switch p.tok.kind {
	case tLParen:
		if err := p.enter(); err != nil {
			return nil, err
		}
		p.advance()
		inner, err := p.parseCmpOr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen, "')'"); err != nil {
			return nil, err
		}
		p.depth--
		return inner, nil
	case tExists:
		p.advance()
		path, err := p.parsePath()
		if err != nil {
			return nil, err
		}
		return &Comparison{Path: path, Op: Exists}, nil
	}
	path, err := p.parsePath()
	if err != nil {
		return nil, err
	}
	c := &Comparison{Path: path}
	if p.tok.kind == tNot {
		c.Negated = true
		p.advance()
	}
	opTok := p.tok
	op, ok := compOps[opTok.kind]
	if !ok {
		if c.Negated {
			return nil, p.fail("comparison operator after NOT")
		}
		return nil, p.fail("comparison operator")
	}
	c.Op = op
	p.advance()
	valTok := p.tok
	switch op {
	case Eq, Neq:
		c.Value, err = p.parseLiteral(true)
	case Lt, Le, Gt, Ge:
		c.Value, err = p.parseLiteral(false)
	case In:
		c.Value, err = p.parseSet()
	default: // LIKE, MATCHES, ISSUBSET, ISSUPERSET take a string only
		if p.tok.kind != tString {
			return nil, p.fail("string literal")
		}
		c.Value = p.tok.val
		p.advance()
	}
	if err != nil {
		return nil, err
	}
	if err := p.checkHash(c, valTok); err != nil {
		return nil, err
	}
	return c, nil
}

var compOps = map[tokKind]CompOp{
	tEQ: Eq, tNEQ: Neq, tLT: Lt, tLE: Le, tGT: Gt, tGE: Ge, tIn: In,
	tLike: Like, tMatches: Matches, tIsSubset: IsSubset, tIsSuperset: IsSuperset,
}

// parseLiteral parses primitiveLiteral (withBool) or orderableLiteral.
func (p *parser) parseLiteral(withBool bool) (Literal, error) {
	t := p.tok
	switch t.kind {
	case tIntPos, tIntNeg, tFloatPos, tFloatNeg, tString, tBinary, tHex, tTimestamp:
		p.advance()
		return t.val, nil
	case tBool:
		if withBool {
			p.advance()
			return t.val, nil
		}
		return Literal{}, p.fail("orderable literal (number, string, binary or timestamp)")
	case tBadLiteral:
		return Literal{}, p.failAt(t, t.err)
	}
	return Literal{}, p.fail("literal")
}

// parseSet parses "( )" or "( lit, lit, … )".
func (p *parser) parseSet() (Literal, error) {
	if _, err := p.expect(tLParen, "'(' starting the IN set"); err != nil {
		return Literal{}, err
	}
	set := Literal{Kind: KindList, List: []Literal{}}
	if p.tok.kind == tRParen {
		p.advance()
		return set, nil
	}
	for {
		v, err := p.parseLiteral(true)
		if err != nil {
			return Literal{}, err
		}
		set.List = append(set.List, v)
		if p.tok.kind == tRParen {
			p.advance()
			return set, nil
		}
		if _, err := p.expect(tComma, "',' or ')'"); err != nil {
			return Literal{}, err
		}
	}
}

// parsePath parses objectType ':' firstPathComponent objectPathComponent*.
func (p *parser) parsePath() (ObjectPath, error) {
	var path ObjectPath
	if p.tok.kind != tIdent && p.tok.kind != tIdentHyphen {
		return path, p.fail("object path")
	}
	path.ObjectType = p.tok.text
	p.advance()
	if _, err := p.expect(tColon, "':' after the object type"); err != nil {
		return path, err
	}
	key, err := p.parseKey("property name")
	if err != nil {
		return path, err
	}
	path.Steps = append(path.Steps, PathStep{Key: key})
	for {
		switch p.tok.kind {
		case tDot:
			p.advance()
			key, err := p.parseKey("property name after '.'")
			if err != nil {
				return path, err
			}
			path.Steps = append(path.Steps, PathStep{Key: key})
		case tLBrack:
			p.advance()
			step := PathStep{Index: true}
			switch p.tok.kind {
			case tAsterisk:
				step.Star = true
			case tIntPos, tIntNeg:
				step.N = p.tok.val.Int
			default:
				return path, p.fail("list index or '*'")
			}
			p.advance()
			if _, err := p.expect(tRBrack, "']' closing the list index"); err != nil {
				return path, err
			}
			path.Steps = append(path.Steps, step)
		default:
			return path, nil
		}
	}
}

// parseKey accepts IdentifierWithoutHyphen or a quoted key; hyphenated
// names must be quoted ("needs-quotes" is an error, as in the grammar).
func (p *parser) parseKey(what string) (string, error) {
	switch p.tok.kind {
	case tIdent:
		k := p.tok.text
		p.advance()
		return k, nil
	case tString:
		k := p.tok.val.Str
		p.advance()
		return k, nil
	case tIdentHyphen:
		return "", p.fail(what + " (quote names containing '-')")
	}
	return "", p.fail(what)
}

// checkHash mirrors the validator's object_validator: a comparison on a
// "hashes" key with a known algorithm must compare against well-formed
// digests. Only =, != and IN members are checked; the validator compares
// the raw literal text, which also rejects LIKE/MATCHES and IN sets.
func (p *parser) checkHash(c *Comparison, valTok token) error {
	steps := c.Path.Steps
	if len(steps) < 2 || steps[len(steps)-1].Index {
		return nil
	}
	inHashes := false
	for _, s := range steps[:len(steps)-1] {
		inHashes = inHashes || (!s.Index && s.Key == "hashes")
	}
	if !inHashes {
		return nil
	}
	algo := steps[len(steps)-1].Key
	check, known := hashCheck(algo)
	if !known {
		return nil
	}
	var vals []Literal
	switch c.Op {
	case Eq, Neq:
		vals = []Literal{c.Value}
	case In:
		vals = c.Value.List
	}
	for _, v := range vals {
		if v.Kind != KindString || !check(v.Str) {
			return newSyntaxError(p.lx.src, valTok.pos, "a valid "+algo+" hash", v.String())
		}
	}
	return nil
}

// hashCheck returns the digest format check for a hash algorithm name,
// normalised the validator's way (upper-case, '-' removed).
func hashCheck(algo string) (func(string) bool, bool) {
	norm := strings.ReplaceAll(strings.ToUpper(algo), "-", "")
	hexLen := func(ns ...int) func(string) bool {
		return func(s string) bool {
			for i := 0; i < len(s); i++ {
				if !isHexDigit(s[i]) {
					return false
				}
			}
			for _, n := range ns {
				if len(s) == n {
					return true
				}
			}
			return false
		}
	}
	switch norm {
	case "MD5":
		return hexLen(32), true
	case "MD6":
		return hexLen(32, 40, 56, 64, 96, 128), true
	case "RIPEMD160", "SHA1":
		return hexLen(40), true
	case "SHA224", "SHA3224":
		return hexLen(56), true
	case "SHA256", "SHA3256":
		return hexLen(64), true
	case "SHA384", "SHA3384":
		return hexLen(96), true
	case "SHA512", "SHA3512", "WHIRLPOOL":
		return hexLen(128), true
	case "SSDEEP":
		return func(s string) bool {
			if len(s) < 1 || len(s) > 128 {
				return false
			}
			for i := 0; i < len(s); i++ {
				c := s[i]
				if !(isIdentPart(c) && c != '_' || c == '/' || c == '+' || c == ':' || c == '.') {
					return false
				}
			}
			return true
		}, true
	}
	return nil, false
}
