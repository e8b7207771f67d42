package pattern

import (
	"net/netip"
	"strconv"
	"strings"
)

// Atom is one indexable condition compiled from a pattern for a
// threat-intel matcher. Atoms sharing a Group must all hold on the same
// event; different groups are alternatives. An event that satisfies a
// whole group is a candidate match; it is a certain match only when the
// group is not Partial.
type Atom struct {
	// Group numbers the conjunctive group, from 0 in pattern order.
	Group int
	// Path is the canonical object path, e.g. "ipv4-addr:value",
	// "file:hashes.'SHA-256'", "network-traffic:dst_ref.value". Hash keys
	// keep the spelling of the pattern.
	Path string
	// Op is "=" (one value), "IN" (any of Values) or "ISSUBSET" (Values
	// holds one IPv4/IPv6 CIDR).
	Op string
	// Values are the literal strings as written in the pattern (no case
	// or address normalisation).
	Values []string
	// Context holds extra conditions of the group that the consumer must
	// check on the same network-traffic object: "dst_port", "src_port"
	// (decimal), "dst_ref.type", "src_ref.type". Nil when empty.
	Context map[string]string
	// Partial marks a group whose atoms are necessary but not sufficient:
	// some conjunct, observation operator or qualifier of the pattern is
	// not expressed by the atoms (see Coverage.Partial).
	Partial bool
}

// Coverage says how faithfully the atoms represent the pattern.
type Coverage struct {
	// Full is true only when every comparison became an atom or atom
	// context, no qualifier or multi-observation operator is involved,
	// and at least one atom exists.
	Full bool
	// Partial lists conditions the atoms do not enforce (comparisons
	// dropped from AND groups, observation AND/FOLLOWEDBY, qualifiers).
	Partial []string
	// Unsupported lists OR branches (or whole observations) that yield no
	// atom and were dropped; matches through them will be missed.
	Unsupported []string
}

// maxTerms bounds the disjunctive normal form of one observation. An OR
// of comparisons adds terms (one per comparison: feeds put hundreds of
// hashes in one observation); an AND of ORs multiplies them, and that
// product is what the bound stops.
const (
	maxTerms   = 4096
	maxOrTerms = 1 << 16
)

// indexablePaths are the paths whose = / IN comparisons become atoms;
// ipPaths also accept ISSUBSET with a CIDR. file:hashes.<key> is handled
// separately.
var (
	indexablePaths = map[string]bool{
		"ipv4-addr:value": true, "ipv6-addr:value": true,
		"domain-name:value": true, "url:value": true, "email-addr:value": true,
		"email-message:from_ref.value": true, "email-message:sender_ref.value": true,
		"network-traffic:src_ref.value": true, "network-traffic:dst_ref.value": true,
		"file:name": true, // FileName, matched by the hunting queries
	}
	ipPaths = map[string]bool{
		"ipv4-addr:value": true, "ipv6-addr:value": true,
		"network-traffic:src_ref.value": true, "network-traffic:dst_ref.value": true,
	}
)

// Atoms compiles the pattern into indexable atoms (see Atom) and reports
// what they fail to capture. It never widens an OR: negated comparisons,
// !=, <, >, LIKE and MATCHES never produce atoms, and a branch without
// atoms is listed in Coverage.Unsupported rather than replaced by a
// broader condition. Inside one observation the comparison expression is
// expanded to OR-of-ANDs (at most 4096 terms; larger observations are
// unsupported); each term with an indexable comparison becomes a group.
func (p *Pattern) Atoms() ([]Atom, Coverage) {
	var cov Coverage
	if p == nil || p.Root == nil {
		return nil, cov
	}
	res := extractObs(p.Root)
	var atoms []Atom
	for gi, g := range res.groups {
		for _, a := range g.atoms {
			a.Group = gi
			a.Partial = g.partial
			atoms = append(atoms, a)
		}
	}
	cov.Partial = dedupStrings(res.partial)
	cov.Unsupported = dedupStrings(res.dropped)
	cov.Full = len(atoms) > 0 && len(cov.Partial) == 0 && len(cov.Unsupported) == 0
	return atoms, cov
}

type atomGroup struct {
	atoms   []Atom
	partial bool
}

// extraction is the result for one subtree. dropped holds texts of
// branches with no atoms; the caller decides whether losing them is
// Unsupported (under OR) or Partial (under AND).
type extraction struct {
	groups  []atomGroup
	partial []string
	dropped []string
}

func extractObs(e ObservationExpr) extraction {
	switch n := e.(type) {
	case *Observation:
		res := extractCmp(n.Expr)
		if len(res.groups) == 0 {
			return extraction{dropped: []string{n.String()}}
		}
		qualify(&res, n.Qualifiers)
		return res
	case *Grouped:
		res := extractObs(n.Expr)
		qualify(&res, n.Qualifiers)
		return res
	case *ObservationOp:
		l, r := extractObs(n.Left), extractObs(n.Right)
		if n.Op == Or {
			return extraction{
				groups:  append(l.groups, r.groups...),
				partial: append(l.partial, r.partial...),
				dropped: append(l.dropped, r.dropped...),
			}
		}
		// AND / FOLLOWEDBY: each side is necessary, so a side without
		// atoms only weakens the other side's groups.
		res := extraction{groups: append(l.groups, r.groups...), partial: append(l.partial, r.partial...)}
		for _, side := range []extraction{l, r} {
			if len(side.groups) == 0 && len(res.groups) > 0 {
				res.partial = append(res.partial, side.dropped...)
			} else {
				res.dropped = append(res.dropped, side.dropped...)
			}
		}
		if len(res.groups) > 0 {
			reason := "observation AND: each atom group covers one observation, the pattern needs all of them"
			if n.Op == FollowedBy {
				reason = "observation FOLLOWEDBY: each atom group covers one observation, order and co-occurrence are not enforced"
			}
			res.partial = append(res.partial, reason)
			markPartial(res.groups)
		}
		return res
	}
	return extraction{}
}

// qualify records qualifiers as unenforced conditions of the groups.
func qualify(res *extraction, qs []Qualifier) {
	if len(res.groups) == 0 || len(qs) == 0 {
		return
	}
	for _, q := range qs {
		res.partial = append(res.partial, q.String()+": qualifier not enforced per event")
	}
	markPartial(res.groups)
}

func markPartial(gs []atomGroup) {
	for i := range gs {
		gs[i].partial = true
	}
}

// extractCmp turns one observation's comparison expression into groups.
func extractCmp(e ComparisonExpr) extraction {
	terms, ok := dnf(e)
	if !ok {
		return extraction{}
	}
	var res extraction
	for _, term := range terms {
		var atoms []Atom
		var rest []*Comparison
		for _, c := range term {
			if a, ok := atomFor(c); ok {
				atoms = append(atoms, a)
			} else {
				rest = append(rest, c)
			}
		}
		if len(atoms) == 0 {
			texts := make([]string, len(term))
			for i, c := range term {
				texts[i] = c.String()
			}
			res.dropped = append(res.dropped, strings.Join(texts, " AND "))
			continue
		}
		g := atomGroup{atoms: atoms}
		for _, c := range rest {
			if !attachContext(g.atoms, c) {
				g.partial = true
				res.partial = append(res.partial, c.String())
			}
		}
		res.groups = append(res.groups, g)
	}
	return res
}

// dnf expands e into OR-of-AND terms; false when it exceeds maxTerms.
func dnf(e ComparisonExpr) ([][]*Comparison, bool) {
	switch n := e.(type) {
	case *Comparison:
		return [][]*Comparison{{n}}, true
	case *ComparisonOp:
		l, ok := dnf(n.Left)
		if !ok {
			return nil, false
		}
		r, ok := dnf(n.Right)
		if !ok {
			return nil, false
		}
		if n.Op == Or {
			if len(l)+len(r) > maxOrTerms {
				return nil, false
			}
			return append(l, r...), true
		}
		if len(l)*len(r) > maxTerms {
			return nil, false
		}
		if len(l) == 1 && len(r) == 1 {
			// A chain of ANDs: l[0] is this call's own slice, so extend it
			// in place (copying it at every level was quadratic).
			return [][]*Comparison{append(l[0], r[0]...)}, true
		}
		var out [][]*Comparison
		for _, a := range l {
			for _, b := range r {
				out = append(out, append(append([]*Comparison{}, a...), b...))
			}
		}
		return out, true
	}
	return nil, false
}

// atomFor returns the atom for an indexable comparison.
func atomFor(c *Comparison) (Atom, bool) {
	if c.Negated {
		return Atom{}, false
	}
	path := c.Path.String()
	isHash := c.Path.ObjectType == "file" && len(c.Path.Steps) == 2 &&
		!c.Path.Steps[0].Index && c.Path.Steps[0].Key == "hashes" && !c.Path.Steps[1].Index
	if !isHash && !indexablePaths[path] {
		return Atom{}, false
	}
	switch c.Op {
	case Eq:
		if c.Value.Kind == KindString {
			return Atom{Path: path, Op: "=", Values: []string{c.Value.Str}}, true
		}
	case In:
		if len(c.Value.List) == 0 {
			return Atom{}, false
		}
		vals := make([]string, len(c.Value.List))
		for i, l := range c.Value.List {
			if l.Kind != KindString {
				return Atom{}, false
			}
			vals[i] = l.Str
		}
		return Atom{Path: path, Op: "IN", Values: vals}, true
	case IsSubset:
		if _, err := netip.ParsePrefix(c.Value.Str); err == nil && ipPaths[path] {
			return Atom{Path: path, Op: "ISSUBSET", Values: []string{c.Value.Str}}, true
		}
	}
	return Atom{}, false
}

// attachContext stores network-traffic port and reference-type equalities
// as Context on the group's network-traffic atoms. It reports false when
// c is not such a condition or no atom can carry it.
func attachContext(atoms []Atom, c *Comparison) bool {
	if c.Negated || c.Op != Eq || c.Path.ObjectType != "network-traffic" {
		return false
	}
	var key, val, prefix string
	switch c.Path.String() {
	case "network-traffic:dst_port", "network-traffic:src_port":
		if c.Value.Kind != KindInt {
			return false
		}
		key, val, prefix = c.Path.Steps[0].Key, strconv.FormatInt(c.Value.Int, 10), "network-traffic:"
	case "network-traffic:dst_ref.type", "network-traffic:src_ref.type":
		if c.Value.Kind != KindString {
			return false
		}
		side := c.Path.Steps[0].Key // dst_ref or src_ref
		key, val, prefix = side+".type", c.Value.Str, "network-traffic:"+side+".value"
	default:
		return false
	}
	var targets []int
	for i := range atoms {
		if !strings.HasPrefix(atoms[i].Path, prefix) {
			continue
		}
		if old, ok := atoms[i].Context[key]; ok && old != val {
			return false // contradictory; leave it to Partial
		}
		targets = append(targets, i)
	}
	for _, i := range targets {
		if atoms[i].Context == nil {
			atoms[i].Context = map[string]string{}
		}
		atoms[i].Context[key] = val
	}
	return len(targets) > 0
}

func dedupStrings(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
