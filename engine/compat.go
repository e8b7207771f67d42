package engine

import (
	"cmp"
	"fmt"
	"slices"
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
	// CaseByColumn overrides Case for the candidates of some row columns:
	// R37 and R42 compare one branch raw and the other against the
	// lower-cased row value.
	CaseByColumn map[string]string
	// NoExpiryCheck drops the event-time expiry check (Q11).
	NoExpiryCheck bool
	// Derive, when set, replaces the rule's derivations: the original
	// computes the column differently (R01, R07, R39 build PA_Url with a
	// double scheme, spec T16).
	Derive []Derivation
	// JoinInner: the original joins kind=inner, so every indicator
	// carrying the value matches, not one per value (R53; Q1).
	JoinInner bool
	// NoDedup: the original has no result dedup (spec §0.3 item 8: R44,
	// R47, R53): with AggregatorOptions.SentinelDedup every matching row
	// is an alert of its own.
	NoDedup bool
	// AnyVersion: the original keeps no latest row per IndicatorId before
	// the join (Q15, R05 3.0.9): every version ingested in the last 14
	// days that is active, unexpired and carries the value matches. It
	// needs a Store with KeepVersions to see older versions.
	AnyVersion bool
}

// joinInner reports JoinInner of a possibly nil block.
func (c *Compat) joinInner() bool { return c != nil && c.JoinInner }

// caseFor is how the original compares the values of candidate column
// col: CaseByColumn's entry, else Case.
func (c *Compat) caseFor(col string) string {
	if c == nil {
		return ""
	}
	if m, ok := c.CaseByColumn[col]; ok {
		return m
	}
	return c.Case
}

// compatCases are the Compat.Case values.
var compatCases = []string{"", "raw", "lower", "upper", "ti_raw", "lower_or_upper", "stem_raw", "path_raw"}

// CompatCaseModes lists the modes of Compat.Case and CaseByColumn.
func CompatCaseModes() []string { return slices.Clone(compatCases[1:]) }

// sentinelLookback is how far back the original reads the TI table: an
// indicator not re-ingested for 14 days is invisible (spec §0.3 item 1).
const sentinelLookback = 14 * 24 * time.Hour

func (c *Compat) compile(id string) error {
	if !slices.Contains(compatCases, c.Case) {
		return fmt.Errorf("rule %s: compat case %q: want one of %s", id, c.Case, strings.Join(compatCases[1:], ", "))
	}
	for col, m := range c.CaseByColumn {
		if m == "" || !slices.Contains(compatCases, m) {
			return fmt.Errorf("rule %s: compat case_by_column: %s: %q: want one of %s", id, col, m, strings.Join(compatCases[1:], ", "))
		}
	}
	for i := range c.Filters {
		if err := compileFilter(id, &c.Filters[i]); err != nil {
			return err
		}
	}
	if err := checkDerive(id, c.Derive); err != nil {
		return err
	}
	for _, col := range c.TIIPColumns {
		if !isTIIPColumn(col) {
			return fmt.Errorf("rule %s: compat ti_ip_columns: %q is not a TI IP column", id, col)
		}
	}
	return nil
}

// compatPick returns the version of p's indicator the original joins for
// rule r and that version's observable, or false when the original does
// not match the row value raw through this indicator (spec §0.3 item 3).
//
// The original keeps, of the TI rows ingested in the last 14 days that pass
// the filters it applies before arg_max (a value in the rule's column, the
// address derivation and its private filter, the TI filters marked
// PreArgMax), the newest one; Active, expiry and the other checks apply to
// that row only. Without kept versions (StoreOptions.KeepVersions) the
// newest version is the only row. With AnyVersion (Q15) every row is
// tried, newest first.
func compatPick(r *Rule, p Posting, raw, mode string, eventTime, now time.Time) (Posting, bool) {
	c := r.Compat
	for v := range p.Ind.versions() {
		if v.TimeGenerated.Before(now.Add(-sentinelLookback)) {
			continue // outside the TI lookback: no such row
		}
		if c != nil && c.AnyVersion {
			if o := carried(v, p.Obs); o != nil && compatMatches(r, Posting{v, o}, raw, mode, eventTime, now) {
				return Posting{v, o}, true
			}
			continue
		}
		if !preArgMax(r, v, p.Obs) {
			continue
		}
		o := carried(v, p.Obs)
		if o == nil {
			return Posting{}, false // the row kept does not carry the value
		}
		return Posting{v, o}, compatMatches(r, Posting{v, o}, raw, mode, eventTime, now)
	}
	return Posting{}, false
}

// compatMatches applies the checks after the arg_max to one version;
// mode is how values compare (Compat.caseFor).
func compatMatches(r *Rule, q Posting, raw, mode string, eventTime, now time.Time) bool {
	return compatLive(q.Ind, r.Compat, eventTime, now) && tiFiltersHold(r.TIFilters, q) &&
		(r.Compat == nil || compatHolds(r.Compat, q, raw, mode))
}

// preArgMax reports whether version v passes the filters the original
// applies to each TI row before keeping the latest: v has a value of the
// looked-up type (isnotempty; for IP rules in one of the TI IP columns),
// an ipv4_only rule's derived address is a public IPv4 (Q2; a refused
// private address fails it, spec T6), and the TI filters marked PreArgMax
// hold (R20's ConfidenceScore > 50).
func preArgMax(r *Rule, v *Indicator, o *Observable) bool {
	c := r.Compat
	if o.Type == TypeIP && c != nil && len(c.TIIPColumns) > 0 {
		col := chosenIPColumn(v, c.TIIPColumns)
		if col == "" || (c.IPv4Only && !hasIPv4(v, col)) {
			return false
		}
	} else if !slices.ContainsFunc(v.Observables, func(x Observable) bool { return x.Type == o.Type }) {
		return false
	}
	for _, f := range r.TIFilters {
		if f.PreArgMax && !tiFilterHolds(f, tiColumns[f.Column](v, o)) {
			return false
		}
	}
	return true
}

// hasIPv4 reports whether v has a single IPv4 address in column col.
func hasIPv4(v *Indicator, col string) bool {
	for i := range v.Observables {
		x := &v.Observables[i]
		if x.Type == TypeIP && x.Column == col && x.Prefix.IsSingleIP() && x.Prefix.Addr().Is4() {
			return true
		}
	}
	return false
}

// carried returns v's observable equal to o (o itself when it is v's), or
// nil when v does not carry it.
func carried(v *Indicator, o *Observable) *Observable {
	for i := range v.Observables {
		if x := &v.Observables[i]; x == o || *x == *o {
			return x
		}
	}
	return nil
}

// compatHolds applies a rule's compat checks to the observable q.Obs of
// the version q.Ind matched by the row value raw.
func compatHolds(c *Compat, q Posting, raw, mode string) bool {
	o := q.Obs
	if o.Type == TypeIP {
		if len(c.TIIPColumns) > 0 && o.Column != chosenIPColumn(q.Ind, c.TIIPColumns) {
			return false
		}
		if !o.Prefix.IsSingleIP() {
			return false // KQL compares strings: a CIDR is no address
		}
		if c.IPv4Only && !o.Prefix.Addr().Is4() {
			return false
		}
	}
	ti, row := o.RawValue(), raw
	switch mode {
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

// chosenIPColumn is the first column of cols the indicator has an address
// in, counting the addresses refused at load (RefusedIPColumns): Sentinel
// keeps those, and the first non-empty column wins (Q3).
func chosenIPColumn(ind *Indicator, cols []string) string {
	for _, col := range cols {
		if slices.Contains(ind.RefusedIPColumns, col) {
			return col
		}
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
