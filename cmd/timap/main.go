// Command timap matches log events against threat-intelligence indicators
// with the rules of Microsoft Sentinel's "TI map" analytics.
//
//	timap match --indicators PATH... --events PATH [--table NAME] [--now RFC3339]
//	timap run [--config FILE] [--embedded-kafka]
//	timap indicators load PATH...
//	timap indicators pull taxii --api-root URL --collection ID [--state FILE]
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
	{"run", "stream events (Kafka, syslog, files, stdin) through the rules; alerts to Kafka, stdout or a file", runRun},
	{"hunt", "run one of the hunting queries over files (hunt list shows them)", runHunt},
	{"indicators", "load files or pull a TAXII collection; ThreatIntelligenceIndicator rows as NDJSON on stdout", runIndicators},
	{"rules", "list, validate and explain rules (rules list|validate|explain)", runRules},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			// "timap help match" is "timap match -h".
			return run([]string{args[1], "-h"}, stdout, stdout)
		}
		usage(stdout)
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
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\ntimap help COMMAND (or timap COMMAND -h) describes a command's flags.")
}
