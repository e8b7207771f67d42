package engine

import (
	"cmp"
	"fmt"
	"strings"
	"time"
)

// Compat describes how the Sentinel KQL original of a rule behaves, quirks
// included, for the compatibility mode (ExecutorOptions.Compat): a user
// migrating from Sentinel runs both and compares before switching to
// timap's default semantics. Spec "Consolidated quirks" Q1–Q15 name them.
type Compat struct {
	// Never: the original can never return a row (Q10: R38, R47, R48,
	// R50).
	Never bool
	// Candidates and Filters, when set, replace the rule's in compat mode
	// (R27 looks at one address per row, Q4; some scope filters are
	// case-sensitive in KQL).
	Candidates []Candidate
	Filters    []Filter
	// TIIPColumns is the precedence of the one TI IP column the original
	// uses (Q3): an indicator matches only through the first of these
	// columns it has a value in.
	TIIPColumns []string
	// IPv4Only drops indicators whose chosen IP is not an IPv4 address
	// (Q2: ipv4_is_private(…) == false is null, so false, for IPv6).
	IPv4Only bool
	// Case is how the original compares values (Q5, Q6), on the raw
	// strings: "raw" exactly (KQL join equality; the default), "lower"
	// both lower-cased, "upper" both upper-cased, "ti_raw" the TI value as
	// stored against the lower-cased row value, "lower_or_upper" the TI
	// value lower- or upper-cased against the row value as is (R17),
	// "stem_raw" the second-to-last dot-separated part of the TI value
	// (split(FileName, ".")[-2]) exactly against the row value (Syslog and
	// VMConnection hunts), "path_raw" the TI value exactly against the part
	// of the row value after its last backslash, nothing without one
	// (WireData hunt).
	Case string
	// NoExpiryCheck drops the event-time expiry check (Q11).
	NoExpiryCheck bool
}

// compatCases are the Compat.Case values.
var compatCases = []string{"", "raw", "lower", "upper", "ti_raw", "lower_or_upper", "stem_raw", "path_raw"}

// sentinelLookback is how far back the original reads the TI table: an
// indicator not re-ingested for 14 days is invisible (spec §0.3 item 1).
const sentinelLookback = 14 * 24 * time.Hour

func (c *Compat) compile(id string) error {
	ok := false
	for _, v := range compatCases {
		ok = ok || v == c.Case
	}
	if !ok {
		return fmt.Errorf("rule %s: compat case %q: want one of %s", id, c.Case, strings.Join(compatCases[1:], ", "))
	}
	for i := range c.Filters {
		if err := compileFilter(id, &c.Filters[i]); err != nil {
			return err
		}
	}
	for _, col := range c.TIIPColumns {
		switch col {
		case "NetworkIP", "NetworkDestinationIP", "NetworkSourceIP", "EmailSourceIpAddress":
		default:
			return fmt.Errorf("rule %s: compat ti_ip_columns: %q is not a TI IP column", id, col)
		}
	}
	return nil
}

// compatHolds applies a rule's compat checks to one hit.
func compatHolds(c *Compat, h *hit) bool {
	o := h.p.Obs
	if o.Type == TypeIP {
		if len(c.TIIPColumns) > 0 && o.Column != chosenIPColumn(h.p.Ind, c.TIIPColumns) {
			return false
		}
		if !o.Prefix.IsSingleIP() {
			return false // KQL compares strings: a CIDR is no address
		}
		if c.IPv4Only && !o.Prefix.Addr().Is4() {
			return false
		}
	}
	ti, row := o.RawValue(), h.raw
	switch c.Case {
	case "lower":
		return strings.ToLower(ti) == strings.ToLower(row)
	case "upper":
		return strings.ToUpper(ti) == strings.ToUpper(row)
	case "ti_raw":
		return ti == strings.ToLower(row)
	case "lower_or_upper":
		return strings.ToLower(ti) == row || strings.ToUpper(ti) == row
	case "stem_raw":
		parts := strings.Split(ti, ".")
		return len(parts) >= 2 && parts[len(parts)-2] == row
	case "path_raw":
		i := strings.LastIndexByte(row, '\\')
		return i >= 0 && ti == row[i+1:]
	}
	return ti == row
}

// chosenIPColumn is the first column of cols the indicator has an IP in.
func chosenIPColumn(ind *Indicator, cols []string) string {
	for _, col := range cols {
		for _, o := range ind.Observables {
			if o.Type == TypeIP && o.Column == col {
				return col
			}
		}
	}
	return ""
}

// betterIndicator orders the indicators that share a value when the
// original keeps one of them (innerunique, Q1): the most recently
// ingested, then the highest ConfidenceScore, then the smallest IndicatorId.
func betterIndicator(a, b *Indicator) bool {
	if c := a.TimeGenerated.Compare(b.TimeGenerated); c != 0 {
		return c > 0
	}
	if c := cmp.Compare(a.ConfidenceScore, b.ConfidenceScore); c != 0 {
		return c > 0
	}
	return a.IndicatorId < b.IndicatorId
}

// compatLive is Indicator.Live as the original judges it: the indicator
// must have been ingested in the last 14 days and not be expired now; the
// row must predate the expiry unless the rule has no such check.
func compatLive(ind *Indicator, c *Compat, eventTime, now time.Time) bool {
	if !ind.Active || ind.TimeGenerated.Before(now.Add(-sentinelLookback)) {
		return false
	}
	if ind.ExpirationDateTime.IsZero() {
		return true
	}
	if !now.Before(ind.ExpirationDateTime) {
		return false
	}
	return (c != nil && c.NoExpiryCheck) || eventTime.Before(ind.ExpirationDateTime)
}
