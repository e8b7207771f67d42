package main

import (
	"fmt"
	"io"
	"strings"

	"timap/engine"
	"timap/rules"
)

const huntUsage = `usage:
  timap hunt list
  timap hunt H1…H5|NAME|ID --indicators PATH... --events PATH... [--from RFC3339] [--to RFC3339] [match flags]

Runs one of Sentinel's Threat Intelligence hunting queries (file-name
indicators against OfficeActivity, SecurityEvent, Syslog, VMConnection and
WireData) on demand over the events, as timap match runs the analytic rules;
--from/--to bound the rows' TimeGenerated.`

// runHunt is "timap hunt": one hunting query over files.
func runHunt(args []string, stdout, stderr io.Writer) int {
	hunts, err := rules.Hunts()
	if err != nil {
		fmt.Fprintf(stderr, "timap hunt: %v\n", err)
		return 1
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, huntUsage)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, huntUsage)
		return 0
	case "list":
		for _, h := range byNumber(hunts) {
			fmt.Fprintf(stdout, "%-2s  %s  %-14s %s\n", ruleNumber(h), h.ID, h.Table, h.Name)
		}
		return 0
	}
	hunt := findRule(hunts, args[0])
	for _, h := range hunts {
		if strings.EqualFold(h.SentinelFile, args[0]) || strings.EqualFold(strings.TrimSuffix(h.SentinelFile, ".yaml"), args[0]) {
			hunt = h
		}
	}
	if hunt == nil {
		fmt.Fprintf(stderr, "timap hunt: no hunting query %q (timap hunt list shows them)\n", args[0])
		return 2
	}
	f, code := parseMatchFlags(args[1:], stdout, stderr)
	if f == nil {
		return code
	}
	if len(f.ruleFiles) > 0 {
		// Only an edited copy of the hunt itself (same id) makes sense here.
		extra, err := rules.Load(f.ruleFiles...)
		if err != nil {
			for _, e := range unjoin(err) {
				fmt.Fprintf(stderr, "timap hunt: rules: %s\n", cleanMax(e.Error(), maxRuleError))
			}
			return 1
		}
		if len(extra) != 1 || extra[0].ID != hunt.ID {
			fmt.Fprintf(stderr, "timap hunt: --rules takes one edited copy of the hunt (id %s); use timap match to run other rules\n", hunt.ID)
			return 2
		}
		fmt.Fprintf(stderr, "rules: %s replaces built-in hunt %s\n", clean(extra[0].SourceFile), clean(numbered(hunt, hunt.Name)))
		hunt = extra[0]
	}
	return matchWith(f, []*engine.Rule{hunt}, stdout, stderr)
}
