// Package pattern parses and evaluates STIX 2.x patterns (STIX 2.1 §9
// "STIX Patterning"; STIX 2.0 Part 5 "STIX Patterning").
//
// The lexer and recursive-descent parser follow the OASIS ANTLR grammar
// STIXPattern.g4 and accept what the OASIS cti-pattern-validator accepts,
// including its semantic checks (hash digest formats; in STIX 2.1 no
// duplicate qualifier kind directly on one observation). Precedence, from
// loosest to tightest:
//
//	observation level: FOLLOWEDBY < OR < AND < qualifiers (WITHIN, REPEATS, START/STOP)
//	comparison level:  OR < AND
//
// all binary operators being left-associative. Keywords are upper-case
// (true and false lower-case); comments /* … */ and // … are skipped.
//
// Parse returns a *Pattern whose String method prints canonical text that
// reparses to the same tree. Pattern.Atoms compiles a pattern into
// indexable atoms for a threat-intel matcher and reports what the atoms
// cannot enforce. Pattern.MatchObservations is a reference matcher with
// the semantics of the OASIS cti-pattern-matcher, for tests and
// acceptance corpora.
package pattern
