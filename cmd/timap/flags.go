package main

import (
	"strings"
)

// listFlag collects a repeatable flag; each use may also hold several
// values separated by commas ("--indicators a.json,b.txt --indicators c/").
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// expandLists lets a list flag take several space-separated values, as in
// "--indicators a.json feeds/ --events x.cef" (what a shell glob
// produces): each bare argument after a list flag's value is rewritten as
// another use of that flag, so the flag package can parse the result.
func expandLists(args []string, lists map[string]bool) []string {
	var out []string
	cur := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			out = append(out, a)
			name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			cur = ""
			if lists[name] {
				cur = name
				if !hasValue && i+1 < len(args) {
					out = append(out, args[i+1])
					i++
				}
			}
			continue
		}
		if cur != "" {
			out = append(out, "--"+cur, a)
			continue
		}
		out = append(out, a)
	}
	return out
}
