package pattern

import (
	"strconv"
	"strings"
)

// Pattern is a parsed STIX pattern expression (STIX 2.1 §9 "STIX
// Patterning", STIX 2.0 Part 5 "Pattern Expressions").
// Root is never nil for a Pattern returned by Parse or ParseVersion.
type Pattern struct {
	// Root is the top observation expression.
	Root ObservationExpr
	// Version is the STIX version the pattern was parsed as: Version20 or
	// Version21.
	Version string
}

// String returns the canonical text of the pattern: single spaces around
// operators, "=" and "!=" for the equality operators, parentheses only
// where the tree shape needs them, and literals in canonical form.
// Parsing the result with the same version yields an identical tree.
func (p *Pattern) String() string {
	if p == nil || p.Root == nil {
		return ""
	}
	var b strings.Builder
	writeObs(&b, p.Root, 0)
	return b.String()
}

// ObservationExpr is a node of the observation-expression tree (STIX 2.1
// §9, "Observation Expressions"). Its concrete type is *Observation,
// *ObservationOp or *Grouped.
type ObservationExpr interface {
	// String returns the canonical text of the subtree.
	String() string
	obsNode()
}

// Observation is one bracketed observation expression, "[ … ]", with the
// qualifiers written directly after its closing bracket, in source order
// (STIX 2.1 §9, "Pattern Qualifiers"). In STIX 2.1 it never holds two
// qualifiers of one kind.
type Observation struct {
	// Expr is the comparison expression inside the brackets.
	Expr ComparisonExpr
	// Qualifiers apply in order: the first one binds tightest.
	Qualifiers []Qualifier
}

// Grouped is a parenthesised observation expression followed by
// qualifiers, e.g. "([a:b = 1] AND [c:d = 2]) WITHIN 5 SECONDS".
// Parentheses without qualifiers are not kept as nodes; the tree shape
// already records them.
type Grouped struct {
	// Expr is the expression inside the parentheses.
	Expr ObservationExpr
	// Qualifiers apply in order: the first one binds tightest.
	Qualifiers []Qualifier
}

// ObservationOp joins two observation expressions with AND, OR or
// FOLLOWEDBY (STIX 2.1 §9, "Observation Operators"). Precedence
// from loosest to tightest is FOLLOWEDBY, OR, AND; all are
// left-associative.
type ObservationOp struct {
	// Op is And, Or or FollowedBy.
	Op BoolOp
	// Left and Right are the operands, both non-nil.
	Left, Right ObservationExpr
}

func (*Observation) obsNode()   {}
func (*Grouped) obsNode()       {}
func (*ObservationOp) obsNode() {}

// String returns the canonical text, e.g. "[a:b = 1] WITHIN 5 SECONDS".
func (o *Observation) String() string {
	return nodeString(func(b *strings.Builder) { writeObs(b, o, 0) })
}

// String returns the canonical text, e.g. "([a:b = 1]) REPEATS 2 TIMES".
func (g *Grouped) String() string { return nodeString(func(b *strings.Builder) { writeObs(b, g, 0) }) }

// String returns the canonical text, e.g. "[a:b = 1] OR [a:c = 2]".
func (o *ObservationOp) String() string {
	return nodeString(func(b *strings.Builder) { writeObs(b, o, 0) })
}

// BoolOp is a logical operator joining observation or comparison
// expressions.
type BoolOp int

const (
	// And is the AND operator (both sides must hold).
	And BoolOp = iota + 1
	// Or is the OR operator (either side holds).
	Or
	// FollowedBy is the observation-only FOLLOWEDBY operator: the right
	// side is observed no earlier than the left side.
	FollowedBy
)

// String returns the keyword: "AND", "OR" or "FOLLOWEDBY".
func (op BoolOp) String() string {
	switch op {
	case And:
		return "AND"
	case Or:
		return "OR"
	case FollowedBy:
		return "FOLLOWEDBY"
	}
	return "BoolOp(" + strconv.Itoa(int(op)) + ")"
}

// precedence for printing: larger binds tighter.
func (op BoolOp) prec() int {
	switch op {
	case FollowedBy:
		return 1
	case Or:
		return 2
	}
	return 3
}

// QualifierKind says which qualifier a Qualifier is (STIX 2.1 §9,
// "Pattern Qualifiers").
type QualifierKind int

const (
	// Within is "WITHIN n SECONDS".
	Within QualifierKind = iota + 1
	// Repeats is "REPEATS n TIMES".
	Repeats
	// StartStop is "START t'…' STOP t'…'".
	StartStop
)

// String returns "WITHIN", "REPEATS" or "STARTSTOP" (the validator's name).
func (k QualifierKind) String() string {
	switch k {
	case Within:
		return "WITHIN"
	case Repeats:
		return "REPEATS"
	case StartStop:
		return "STARTSTOP"
	}
	return "QualifierKind(" + strconv.Itoa(int(k)) + ")"
}

// Qualifier is one observation qualifier.
type Qualifier struct {
	// Kind selects which of the fields below is meaningful.
	Kind QualifierKind
	// Seconds is the WITHIN duration: a KindInt or KindFloat literal
	// (non-negative; the grammar admits 0, the matcher rejects it).
	Seconds Literal
	// Times is the REPEATS count (non-negative).
	Times int64
	// Start and Stop bound START/STOP: KindTimestamp literals, or in
	// STIX 2.0 also KindString literals holding the timestamp text.
	Start, Stop Literal
}

// String returns the canonical qualifier text, e.g. "WITHIN 300 SECONDS".
func (q Qualifier) String() string {
	switch q.Kind {
	case Within:
		return "WITHIN " + q.Seconds.String() + " SECONDS"
	case Repeats:
		return "REPEATS " + strconv.FormatInt(q.Times, 10) + " TIMES"
	case StartStop:
		return "START " + q.Start.String() + " STOP " + q.Stop.String()
	}
	return ""
}

// ComparisonExpr is a node of the comparison-expression tree inside one
// observation (STIX 2.1 §9, "Comparison Expressions"). Its concrete type
// is *Comparison or *ComparisonOp.
type ComparisonExpr interface {
	// String returns the canonical text of the subtree.
	String() string
	cmpNode()
}

// ComparisonOp joins two comparison expressions with And or Or; AND binds
// tighter than OR and both are left-associative.
type ComparisonOp struct {
	// Op is And or Or.
	Op BoolOp
	// Left and Right are the operands, both non-nil.
	Left, Right ComparisonExpr
}

// Comparison is one comparison "path op value" (STIX 2.1 §9,
// "Comparison Operators").
type Comparison struct {
	// Path is the object path on the left.
	Path ObjectPath
	// Op is the comparison operator.
	Op CompOp
	// Negated is set when NOT precedes the operator.
	Negated bool
	// Value is the right-hand literal: a KindList literal for In, a
	// KindString literal for Like, Matches, IsSubset and IsSuperset, and
	// the zero Literal for Exists.
	Value Literal
}

func (*ComparisonOp) cmpNode() {}
func (*Comparison) cmpNode()   {}

// String returns the canonical text, e.g. "a:b = 1 OR a:c = 2".
func (c *ComparisonOp) String() string {
	return nodeString(func(b *strings.Builder) { writeCmp(b, c, 0) })
}

// String returns the canonical text, e.g. "file:size NOT IN (1, 2)".
func (c *Comparison) String() string {
	return nodeString(func(b *strings.Builder) { writeCmp(b, c, 0) })
}

// CompOp is a comparison operator.
type CompOp int

const (
	// Eq is "=" (also written "==").
	Eq CompOp = iota + 1
	// Neq is "!=" (also written "<>").
	Neq
	// Lt is "<".
	Lt
	// Le is "<=".
	Le
	// Gt is ">".
	Gt
	// Ge is ">=".
	Ge
	// In is "IN (…)".
	In
	// Like is "LIKE" with SQL wildcards % and _.
	Like
	// Matches is "MATCHES" with a PCRE regular expression.
	Matches
	// IsSubset is "ISSUBSET": the value lies inside the given CIDR.
	IsSubset
	// IsSuperset is "ISSUPERSET": the value contains the given address.
	IsSuperset
	// Exists is the STIX 2.1 "EXISTS path" test; it has no value.
	Exists
)

// String returns the operator as written canonically, e.g. "=" or "IN".
func (op CompOp) String() string {
	switch op {
	case Eq:
		return "="
	case Neq:
		return "!="
	case Lt:
		return "<"
	case Le:
		return "<="
	case Gt:
		return ">"
	case Ge:
		return ">="
	case In:
		return "IN"
	case Like:
		return "LIKE"
	case Matches:
		return "MATCHES"
	case IsSubset:
		return "ISSUBSET"
	case IsSuperset:
		return "ISSUPERSET"
	case Exists:
		return "EXISTS"
	}
	return "CompOp(" + strconv.Itoa(int(op)) + ")"
}

// ObjectPath is "type:prop.sub[0].'quoted key'[*]" (STIX 2.1 §9,
// "Object Path Syntax"). Steps[0] is always a key step.
type ObjectPath struct {
	// ObjectType is the SCO type, e.g. "network-traffic".
	ObjectType string
	// Steps are the property, key and index steps after the colon.
	Steps []PathStep
}

// PathStep is one step of an object path: a key (Index false) or a list
// index (Index true, with Star for "[*]").
type PathStep struct {
	// Key is the property or dictionary key, already unquoted.
	Key string
	// Index marks a list-index step; Key is then empty.
	Index bool
	// Star marks "[*]" (any element); N is then 0.
	Star bool
	// N is the list index for "[n]"; the grammar allows negative values.
	N int64
}

// String returns the canonical path text. Keys are quoted only when they
// are not plain identifiers or are keywords: "file:hashes.'SHA-256'",
// "file:hashes.MD5", "a:b[0][*]".
func (p ObjectPath) String() string {
	var b strings.Builder
	writePath(&b, p)
	return b.String()
}

func nodeString(f func(*strings.Builder)) string {
	var b strings.Builder
	f(&b)
	return b.String()
}

// writeObs prints an observation expression; parentPrec forces parentheses
// when the node binds looser than its context requires.
func writeObs(b *strings.Builder, e ObservationExpr, parentPrec int) {
	switch n := e.(type) {
	case *Observation:
		b.WriteByte('[')
		writeCmp(b, n.Expr, 0)
		b.WriteByte(']')
		writeQuals(b, n.Qualifiers)
	case *Grouped:
		b.WriteByte('(')
		writeObs(b, n.Expr, 0)
		b.WriteByte(')')
		writeQuals(b, n.Qualifiers)
	case *ObservationOp:
		p := n.Op.prec()
		paren := p < parentPrec
		if paren {
			b.WriteByte('(')
		}
		writeObs(b, n.Left, p)
		b.WriteString(" " + n.Op.String() + " ")
		writeObs(b, n.Right, p+1) // left-associative: same-op right child keeps parens
		if paren {
			b.WriteByte(')')
		}
	}
}

func writeQuals(b *strings.Builder, qs []Qualifier) {
	for _, q := range qs {
		b.WriteByte(' ')
		b.WriteString(q.String())
	}
}

func writeCmp(b *strings.Builder, e ComparisonExpr, parentPrec int) {
	switch n := e.(type) {
	case *Comparison:
		if n.Op == Exists {
			b.WriteString("EXISTS ")
			writePath(b, n.Path)
			return
		}
		writePath(b, n.Path)
		b.WriteByte(' ')
		if n.Negated {
			b.WriteString("NOT ")
		}
		b.WriteString(n.Op.String())
		b.WriteByte(' ')
		b.WriteString(n.Value.String())
	case *ComparisonOp:
		p := n.Op.prec()
		paren := p < parentPrec
		if paren {
			b.WriteByte('(')
		}
		writeCmp(b, n.Left, p)
		b.WriteString(" " + n.Op.String() + " ")
		writeCmp(b, n.Right, p+1)
		if paren {
			b.WriteByte(')')
		}
	}
}

func writePath(b *strings.Builder, p ObjectPath) {
	b.WriteString(p.ObjectType)
	b.WriteByte(':')
	for i, s := range p.Steps {
		switch {
		case s.Index && s.Star:
			b.WriteString("[*]")
		case s.Index:
			b.WriteString("[" + strconv.FormatInt(s.N, 10) + "]")
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			if isPlainKey(s.Key) {
				b.WriteString(s.Key)
			} else {
				b.WriteString(quoteString(s.Key))
			}
		}
	}
}

// isPlainKey reports whether a key can be written unquoted: an
// IdentifierWithoutHyphen that is not a keyword in either STIX version.
func isPlainKey(k string) bool {
	if k == "" || !isIdentStart(k[0]) {
		return false
	}
	for i := 1; i < len(k); i++ {
		if !isIdentPart(k[i]) {
			return false
		}
	}
	_, kw := keywords[k]
	return !kw
}

// quoteString writes s as a StringLiteral, escaping only ' and \.
func quoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('\'')
	return b.String()
}
