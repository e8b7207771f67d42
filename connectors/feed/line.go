package feed

import "strings"

// entry is a value line taken apart (see the package documentation, "Line
// format").
type entry struct {
	value   string // the value to detect
	comment string // the line's own comment, "" when none
	score   string // N of "VALUE;N"
	count   string // N of "VALUE<TAB>N"
}

// splitLine takes apart a trimmed, non-blank, non-comment line.
func splitLine(s string) entry {
	var e entry
	// "HASH;COMMENT", "IP;SCORE": a ';' glued to a value without a path.
	if i := strings.IndexByte(s, ';'); i > 0 && strings.IndexAny(s[:i], " \t/") < 0 {
		e.value = s[:i]
		rest := strings.TrimSpace(s[i+1:])
		if rest != "" && allDigits(rest) {
			e.score = rest
		} else {
			e.comment = rest
		}
		return e
	}
	if i := trailingComment(s); i > 0 {
		e.comment = strings.TrimSpace(strings.TrimLeft(s[i:], "#;"))
		s = strings.TrimSpace(s[:i])
	}
	value, rest := cutField(s)
	if (value == "0.0.0.0" || value == "127.0.0.1") && rest != "" {
		value, rest = cutField(rest) // hosts-file line
	}
	e.value = value
	switch {
	case rest == "":
	case allDigits(rest):
		e.count = rest
	case e.comment == "":
		e.comment = rest
	default:
		e.comment = rest + " " + e.comment
	}
	return e
}

// trailingComment returns the index of a '#' or ';' that follows white
// space, or -1.
func trailingComment(s string) int {
	for i := 1; i < len(s); i++ {
		if (s[i] == '#' || s[i] == ';') && (s[i-1] == ' ' || s[i-1] == '\t') {
			return i
		}
	}
	return -1
}

// cutField splits off the first white-space separated field.
func cutField(s string) (field, rest string) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i+1:])
}
