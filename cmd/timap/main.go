// Command timap matches log events against threat-intelligence indicators
// with the rules of Microsoft Sentinel's "TI map" analytics.
//
//	timap match --indicators PATH... --events PATH [--table NAME] [--now RFC3339]
//	timap rules list
//
// Run "timap help" for the commands and "timap COMMAND -h" for their flags.
package main

import (
	"fmt"
	"io"
	"os"
)

// commands are timap's subcommands; each parses its own flags and returns
// the process exit code.
var commands = []struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) int
}{
	{"match", "match events from files against indicators from files; alerts as NDJSON on stdout", runMatch},
	{"rules", "list the built-in rules (rules list)", runRules},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "timap: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: timap COMMAND [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
}
