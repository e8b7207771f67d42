package feed

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"timap/engine"
)

// Options describe one feed. The zero value is usable: the source is named
// after the file, indicators never expire and the ingest time is the time of
// the load.
type Options struct {
	// SourceSystem names the source in every indicator and is part of its
	// IndicatorId. Default: the base name of Name without its extension
	// ("ipsum" for "feeds/ipsum/ipsum.txt"), or "feed" when Name is empty.
	SourceSystem string
	// Namespace, when set, replaces SourceSystem in the IndicatorId, so
	// that two feeds with the same display name ("vendorA/ips.txt",
	// "vendorB/ips.txt") keep distinct indicators.
	Namespace string
	// ThreatType is copied into every indicator ("C2", "Phishing", …);
	// default empty.
	ThreatType string
	// Tags are copied into every indicator, before the per-line tags
	// ("port:N", "count:N", "score:N").
	Tags []string
	// ValidFor sets ExpirationDateTime to Now+ValidFor. Zero or negative:
	// no ExpirationDateTime (the indicators never expire).
	ValidFor time.Duration
	// Now is the ingest time, stored (in UTC) as TimeGenerated and Modified
	// of every indicator. Zero: time.Now() at the start of the load.
	Now time.Time
	// Name identifies the input in messages, usually its path. LoadFile
	// sets it to the path when empty.
	Name string
}

// Rejected is one line that yielded no indicator. It is an error value so
// that callers can log it as is.
type Rejected struct {
	// Name is Options.Name of the load (may be empty).
	Name string
	// Line is the 1-based line number.
	Line int
	// Value is the refused value, or the trimmed line when no value could
	// be told apart (the first 256 bytes of an over-long line).
	Value string
	// Reason is a short stable word for counting: the engine's
	// RejectError.Reason ("non-routable", "invalid-ip", "range-too-broad",
	// "invalid-domain", "invalid-url", "invalid-email", "invalid-hash"),
	// or one of this package's: "unrecognised" (no value of any type,
	// e.g. a month label), "path-only" (a URL path without a host, as in
	// maltrail trails: nothing a Url column could match), "invalid-port"
	// ("ip:port" with a port outside 1–65535) or "line-too-long" (over
	// MaxLineBytes).
	Reason string
	// Err is the engine's *engine.RejectError, or nil for this package's
	// own reasons.
	Err error
}

// Error renders "name:line: reason: value" ("line: reason: value" when
// Name is empty).
func (r Rejected) Error() string {
	v := printable(r.Value)
	if r.Name == "" {
		return fmt.Sprintf("%d: %s: %s", r.Line, r.Reason, v)
	}
	return fmt.Sprintf("%s:%d: %s: %s", r.Name, r.Line, r.Reason, v)
}

// maxShownValue bounds a refused value in messages.
const maxShownValue = 120

// printable renders a refused value safely for a terminal: quoted (control
// bytes and invalid UTF-8 escaped, so a feed cannot send escape sequences
// to the reader's terminal) and cut to maxShownValue bytes.
func printable(v string) string {
	if len(v) > maxShownValue {
		return strconv.Quote(strings.ToValidUTF8(v[:maxShownValue], "")) + fmt.Sprintf("… (%d bytes)", len(v))
	}
	return strconv.Quote(v)
}

// Unwrap returns Err.
func (r Rejected) Unwrap() error { return r.Err }

// Result is what one load produced.
type Result struct {
	// SourceSystem is the source name the load used (Options.SourceSystem
	// or its default).
	SourceSystem string
	// Indicators are the admitted indicators in order of first appearance,
	// one per distinct (type, normalised value). The Tags slices of
	// indicators may share a backing array: treat them as read-only.
	Indicators []*engine.Indicator
	// Rejected lists every value line that yielded no indicator, in order.
	Rejected []Rejected
	// Lines counts all lines read; Comments the '#'/';' comment lines;
	// Blank the empty ones. Lines = Comments + Blank + value lines.
	Lines, Comments, Blank int
	// Duplicates counts value lines whose normalised value an earlier line
	// already gave ("1.2.3.4:80" after "1.2.3.4:443"). They are not
	// rejections: the first indicator is kept and gains any new tags.
	Duplicates int
	// PerType counts Indicators by observable type.
	PerType map[engine.ObservableType]int
	// PerReason counts Rejected by Reason.
	PerReason map[string]int
}
