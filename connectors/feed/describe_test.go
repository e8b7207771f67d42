package feed

import (
	"strings"
	"testing"
)

func TestDescriptions(t *testing.T) {
	in := strings.Join([]string{
		"# LOKI C2 IOCs",                   // 1 file header, not touching a value
		"",                                 // 2
		"# Group A https://example.org/a",  // 3 header, touches line 4
		"a.example",                        // 4 "Group A …"
		"# b-old.example",                  // 5 commented-out value: keeps the header
		"b.example",                        // 6 "Group A …"
		"",                                 // 7
		"# Reference: https://r1.example/", // 8
		"# Reference: https://r2.example/", // 9
		"",                                 // 10
		"c.example",                        // 11 both references
		"d.example ; own comment",          // 12 own comment wins
		"# Aliases: foo, bar",              // 13
		"",                                 // 14
		"e.example",                        // 15 prose not touching: cleared
		"#####",                            // 16 decoration: carries on
		"f.example",                        // 17 ""
	}, "\n")
	res := loadString(t, in, Options{})
	want := map[string]string{
		"a.example": "Group A https://example.org/a",
		"b.example": "Group A https://example.org/a",
		"c.example": "Reference: https://r1.example/, https://r2.example/",
		"d.example": "own comment",
		"e.example": "",
		"f.example": "",
	}
	for v, d := range want {
		if got := find(t, res, v).Description; got != d {
			t.Errorf("%s: Description %q, want %q", v, got, d)
		}
	}

	var b strings.Builder
	for i := range 12 {
		b.WriteString("# Reference: https://r.example/" + string(rune('a'+i)) + "\n")
	}
	b.WriteString("\ng.example\n")
	res = loadString(t, b.String(), Options{})
	if d := res.Indicators[0].Description; !strings.HasSuffix(d, "https://r.example/j (+2 more)") {
		t.Errorf("capped references: %q", d)
	}
}
