package main

import (
	"fmt"
	"io"
	"strings"

	"timap/rules"
)

func runRules(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "list" {
		fmt.Fprintln(stderr, "usage: timap rules list")
		return 2
	}
	rs, err := rules.Builtin()
	if err != nil {
		fmt.Fprintf(stderr, "timap rules: %v\n", err)
		return 1
	}
	for _, r := range rs {
		var types []string
		for _, c := range r.Candidates {
			types = append(types, c.Column+"→"+c.Type.String())
		}
		fmt.Fprintf(stdout, "%s  %-18s %-50s %s\n", r.ID, r.Table, r.Name, strings.Join(types, ", "))
	}
	return 0
}
