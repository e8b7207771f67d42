package rules

import (
	"slices"

	"timap/engine"
)

// Override is a rule from a rule file that replaces the built-in rule with
// the same id: a detection engineer's edited copy of a shipped rule.
type Override struct {
	Rule, Builtin *engine.Rule
}

// WithOverrides returns builtin followed by extra, where an extra rule
// whose id is a built-in rule's takes that rule's place instead, and the
// replacements made. Ids repeated among extra are an error
// (CheckDuplicates); builtin is not changed.
func WithOverrides(builtin, extra []*engine.Rule) ([]*engine.Rule, []Override, error) {
	if err := CheckDuplicates(extra); err != nil {
		return nil, nil, err
	}
	out := slices.Clone(builtin)
	var replaced []Override
	for _, r := range extra {
		if i := slices.IndexFunc(out, func(b *engine.Rule) bool { return b.ID == r.ID }); i >= 0 && i < len(builtin) {
			replaced = append(replaced, Override{Rule: r, Builtin: out[i]})
			out[i] = r
			continue
		}
		out = append(out, r)
	}
	return out, replaced, nil
}
