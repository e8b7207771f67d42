package feed

import (
	"fmt"
	"strings"
)

// maxRefs caps the references quoted in one description: some maltrail
// blocks list hundreds, which no alert reader wants to scroll through.
const maxRefs = 10

// describer tracks the Description that comment lines give to the values
// below them (package documentation, "Descriptions").
type describer struct {
	desc     string   // description of the current values
	pending  bool     // comment lines since the last value line
	refs     []string // their "Reference:" targets
	prose    bool     // one of them was prose
	adjacent string   // the previous line, if it was a prose comment
}

// comment takes a trimmed comment line.
func (d *describer) comment(line string) {
	d.pending = true
	d.adjacent = ""
	text := strings.TrimSpace(strings.TrimLeft(line, "#;"))
	if len(text) >= 10 && strings.EqualFold(text[:10], "reference:") {
		if ref := strings.TrimSpace(text[10:]); ref != "" {
			d.refs = append(d.refs, ref)
		}
		return
	}
	if isProse(text) {
		d.prose = true
		d.adjacent = text
	}
}

// blank notes an empty line: a header must touch its values.
func (d *describer) blank() { d.adjacent = "" }

// value returns the description for a value line, reading the comment
// block above it first.
func (d *describer) value() string {
	if d.pending {
		switch {
		case len(d.refs) > maxRefs:
			d.desc = fmt.Sprintf("Reference: %s (+%d more)", strings.Join(d.refs[:maxRefs], ", "), len(d.refs)-maxRefs)
		case len(d.refs) > 0:
			d.desc = "Reference: " + strings.Join(d.refs, ", ")
		case d.adjacent != "":
			d.desc = d.adjacent
		case d.prose:
			d.desc = ""
		}
		d.pending, d.refs, d.prose = false, d.refs[:0], false
	}
	d.adjacent = ""
	return d.desc
}

// isProse reports whether comment text is words rather than decoration or
// a commented-out value.
func isProse(text string) bool {
	alnum := false
	for i := 0; i < len(text) && !alnum; i++ {
		c := text[i]
		alnum = '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c >= 0x80
	}
	if !alnum {
		return false
	}
	// A dotted first word is a commented-out value, never a header.
	t, _, _, reason := detect(splitLine(text).value)
	return t == 0 && reason != reasonPathOnly
}
