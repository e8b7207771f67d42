package engine

import (
	"iter"
	"slices"
	"time"
)

// Indicator is one indicator of compromise, newest version, with the
// ThreatIntelligenceIndicator column names of Microsoft Sentinel (spec §3.1)
// for what timap uses. One indicator may carry several observables (a STIX
// pattern joined by OR), each looked up on its own.
type Indicator struct {
	// IndicatorId identifies the indicator across versions: the STIX id for
	// STIX-sourced indicators; for flat feeds a deterministic id derived
	// from the source and the value, stable across reloads.
	IndicatorId string
	// ExternalIndicatorId is the id in the submitting system, if any.
	ExternalIndicatorId string
	// SourceSystem names the source: a TAXII friendly name, a feed name, the
	// Upload API's sourcesystem.
	SourceSystem string
	// IndicatorProvider is who made it (STIX created_by_ref identity).
	IndicatorProvider string
	// ThreatType is the first STIX indicator_type ("malicious-activity") or
	// a feed's declared type ("C2", "Phishing").
	ThreatType  string
	Description string
	// ConfidenceScore is 0–100; -1 when the source gave none.
	ConfidenceScore float64
	// Active is false for a revoked or deleted indicator.
	Active bool
	// ExpirationDateTime is STIX valid_until; zero means it never expires.
	ExpirationDateTime time.Time
	// ValidFrom is STIX valid_from: rows stamped before it do not match.
	// Zero means valid since always.
	ValidFrom time.Time
	// TrafficLightProtocolLevel is "white"/"clear", "green", "amber", "red"
	// or "".
	TrafficLightProtocolLevel string
	// Tags are STIX labels or a feed's tags.
	Tags []string
	// ActivityGroupNames are threat-actor names, when known.
	ActivityGroupNames []string
	// KillChainPhases are "kill_chain_name:phase_name" pairs.
	KillChainPhases []string
	// ExternalReferences are STIX external_references as
	// "source_name external_id url" (parts that are absent left out).
	ExternalReferences []string
	// TimeGenerated is when timap ingested this version (UTC).
	TimeGenerated time.Time
	// Modified orders versions of one IndicatorId: the newest wins (STIX
	// modified; for feeds the load time).
	Modified time.Time
	// Pattern is the STIX pattern text, when the indicator came from STIX.
	Pattern string
	// PartiallyEnforced is set when the pattern has conditions timap cannot
	// check per event (e.g. file:name beside a hash); the strongest
	// comparison is indexed and the rest is recorded in Unenforced.
	PartiallyEnforced bool
	Unenforced        []string
	// Observables are the normalised values to match.
	Observables []Observable
	// RefusedIPColumns are the TI IP columns (NetworkIP,
	// NetworkDestinationIP, NetworkSourceIP, EmailSourceIpAddress) whose
	// single address was refused when loading (private, loopback, …;
	// AdmitObservable records them). Sentinel keeps such a value, and its
	// one-address precedence (Q3) then hides the indicator's other
	// addresses (spec T6): compat mode counts these columns. Default mode
	// ignores them.
	RefusedIPColumns []string

	// older are the superseded versions a Store with KeepVersions keeps,
	// newest first. Set before the indicator is published, never changed
	// afterwards, so lock-free readers may walk them.
	older []*Indicator
}

// AdmitObservable is NewObservable for a value of ind: when it refuses a
// single address of a TI IP column (non-routable, …) it also records the
// column in ind.RefusedIPColumns, so that compat mode's precedence (Q3,
// spec T6) sees the value Sentinel would keep. The caller appends the
// observable; errors are NewObservable's.
func (ind *Indicator) AdmitObservable(t ObservableType, column, raw, hashType string) (Observable, error) {
	o, err := NewObservable(t, column, raw, hashType)
	if err != nil && t == TypeIP && isTIIPColumn(column) && !slices.Contains(ind.RefusedIPColumns, column) {
		// Only a single address: where Sentinel files a range is not
		// known (spec §4.3), and an unparsable value is no address.
		if p, perr := ParsePrefix(raw); perr == nil && p.IsSingleIP() {
			ind.RefusedIPColumns = append(ind.RefusedIPColumns, column)
		}
	}
	return o, err
}

// Unversioned is a copy of ind without the superseded versions a Store
// with KeepVersions keeps behind it, for comparing contents.
func (ind *Indicator) Unversioned() Indicator {
	c := *ind
	c.older = nil
	return c
}

// versions yields ind and then the superseded versions kept with it
// (StoreOptions.KeepVersions), newest first.
func (ind *Indicator) versions() iter.Seq[*Indicator] {
	return func(yield func(*Indicator) bool) {
		if !yield(ind) {
			return
		}
		for _, v := range ind.older {
			if !yield(v) {
				return
			}
		}
	}
}

// tiIPColumns are the TI columns the IP rules derive their address from
// (spec §0.3 item 4).
var tiIPColumns = []string{"NetworkIP", "NetworkDestinationIP", "NetworkSourceIP", "EmailSourceIpAddress"}

func isTIIPColumn(col string) bool { return slices.Contains(tiIPColumns, col) }

// TIIPColumnNames lists the TI IP columns (Compat.TIIPColumns values).
func TIIPColumnNames() []string { return slices.Clone(tiIPColumns) }

// Live reports whether ind may match an event stamped at eventTime when
// processed at now (issue #2, spec §0.3 items 3 and 7, with the quirks
// fixed):
//   - an inactive (revoked) indicator never matches;
//   - a row stamped before ValidFrom does not match (STIX valid_from;
//     Sentinel ignores it);
//   - without ExpirationDateTime it always matches;
//   - otherwise the event must have happened before the expiry, and now must
//     be before the expiry plus grace. grace is the allowed lateness of an
//     event: an event from before the expiry that arrives late still matches
//     while now < expiry+grace. grace 0 is Sentinel's rule
//     (ExpirationDateTime > now()).
func (ind *Indicator) Live(eventTime, now time.Time, grace time.Duration) bool {
	if !ind.Active || (!ind.ValidFrom.IsZero() && eventTime.Before(ind.ValidFrom)) {
		return false
	}
	if ind.ExpirationDateTime.IsZero() {
		return true
	}
	return eventTime.Before(ind.ExpirationDateTime) && now.Before(ind.ExpirationDateTime.Add(grace))
}

// Expired reports whether ind can no longer match any event processed at or
// after now.
func (ind *Indicator) Expired(now time.Time, grace time.Duration) bool {
	return !ind.ExpirationDateTime.IsZero() && !now.Before(ind.ExpirationDateTime.Add(grace))
}
