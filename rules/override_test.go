package rules

import (
	"slices"
	"strings"
	"testing"

	"timap/engine"
)

func TestWithOverrides(t *testing.T) {
	rule := func(id, file string) *engine.Rule { return &engine.Rule{ID: id, SourceFile: file} }
	builtin := []*engine.Rule{rule("a", "sentinel/R01.yaml"), rule("b", "sentinel/R02.yaml")}
	mineB, other := rule("b", "my/b.yaml"), rule("c", "my/c.yaml")
	rs, replaced, err := WithOverrides(builtin, []*engine.Rule{mineB, other})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rs, []*engine.Rule{builtin[0], mineB, other}) {
		t.Errorf("rules %v", rs)
	}
	if len(replaced) != 1 || replaced[0].Rule != mineB || replaced[0].Builtin != builtin[1] {
		t.Errorf("replaced %+v", replaced)
	}
	if builtin[1].SourceFile != "sentinel/R02.yaml" {
		t.Error("the built-in slice was changed")
	}
	// Two files with one id stay an error: which one would win is unclear.
	_, _, err = WithOverrides(builtin, []*engine.Rule{mineB, rule("b", "my/b2.yaml")})
	if err == nil || !strings.Contains(err.Error(), "id: b is already used by my/b.yaml") {
		t.Errorf("duplicate among files: %v", err)
	}
}
