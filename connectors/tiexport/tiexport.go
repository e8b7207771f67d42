// Package tiexport writes engine.Indicators as rows of Microsoft
// Sentinel's ThreatIntelligenceIndicator table (spec §3.1), so what timap
// loaded can be compared with what Sentinel ingests, or fed to other
// tools.
package tiexport

import (
	"bufio"
	"encoding/json"
	"io"
	"time"

	"timap/engine"
)

// Row is one indicator as a ThreatIntelligenceIndicator row, fields in
// the order they are written. Observable columns hold a string when the
// indicator has one value for the column, an array when it has several,
// and are left out when it has none.
type Row struct {
	IndicatorId         string
	ExternalIndicatorId string
	SourceSystem        string
	IndicatorProvider   string `json:",omitempty"`
	ThreatType          string
	Description         string
	// ConfidenceScore is null when the source gave none (-1 in
	// engine.Indicator).
	ConfidenceScore *float64
	Active          bool
	// ExpirationDateTime is null for an indicator that never expires.
	ExpirationDateTime        *time.Time
	TrafficLightProtocolLevel string
	// Tags is always an array, empty when there are none.
	Tags               []string
	ActivityGroupNames []string `json:",omitempty"`
	// KillChainPhases ("chain:phase") and ExternalReferences ("source id
	// url") are STIX context; not ThreatIntelligenceIndicator columns.
	KillChainPhases    []string `json:",omitempty"`
	ExternalReferences []string `json:",omitempty"`
	TimeGenerated      time.Time

	NetworkIP            any `json:",omitempty"`
	NetworkCidrBlock     any `json:",omitempty"`
	NetworkSourceIP      any `json:",omitempty"`
	NetworkDestinationIP any `json:",omitempty"`
	EmailSourceIpAddress any `json:",omitempty"`
	DomainName           any `json:",omitempty"`
	Url                  any `json:",omitempty"`
	EmailSenderAddress   any `json:",omitempty"`
	// FileHashValue and FileHashType are parallel: the n-th type is the
	// algorithm of the n-th value.
	FileHashValue any `json:",omitempty"`
	FileHashType  any `json:",omitempty"`

	// PartiallyEnforced is written when timap enforces only part of the
	// pattern, Pattern when the indicator came from STIX.
	PartiallyEnforced bool   `json:",omitempty"`
	Pattern           string `json:",omitempty"`
}

// NewRow converts ind. Repeated values of a column are written once;
// observables of a column outside the list above are left out.
func NewRow(ind *engine.Indicator) Row {
	r := Row{
		IndicatorId:               ind.IndicatorId,
		ExternalIndicatorId:       ind.ExternalIndicatorId,
		SourceSystem:              ind.SourceSystem,
		IndicatorProvider:         ind.IndicatorProvider,
		ThreatType:                ind.ThreatType,
		Description:               ind.Description,
		Active:                    ind.Active,
		TrafficLightProtocolLevel: ind.TrafficLightProtocolLevel,
		Tags:                      ind.Tags,
		ActivityGroupNames:        ind.ActivityGroupNames,
		KillChainPhases:           ind.KillChainPhases,
		ExternalReferences:        ind.ExternalReferences,
		TimeGenerated:             ind.TimeGenerated.UTC(),
		PartiallyEnforced:         ind.PartiallyEnforced,
		Pattern:                   ind.Pattern,
	}
	if r.Tags == nil {
		r.Tags = []string{}
	}
	if ind.ConfidenceScore >= 0 {
		c := ind.ConfidenceScore
		r.ConfidenceScore = &c
	}
	if !ind.ExpirationDateTime.IsZero() {
		e := ind.ExpirationDateTime.UTC()
		r.ExpirationDateTime = &e
	}
	cols := map[string]*[]string{}
	var hashTypes []string
	seen := map[[2]string]bool{}
	for _, o := range ind.Observables {
		if seen[[2]string{o.Column, o.Value}] {
			continue
		}
		seen[[2]string{o.Column, o.Value}] = true
		if cols[o.Column] == nil {
			cols[o.Column] = new([]string)
		}
		*cols[o.Column] = append(*cols[o.Column], o.Value)
		if o.Type == engine.TypeFileHash {
			hashTypes = append(hashTypes, o.Hash.String())
		}
	}
	for col, dst := range map[string]*any{
		"NetworkIP": &r.NetworkIP, "NetworkCidrBlock": &r.NetworkCidrBlock, "NetworkSourceIP": &r.NetworkSourceIP,
		"NetworkDestinationIP": &r.NetworkDestinationIP, "EmailSourceIpAddress": &r.EmailSourceIpAddress,
		"DomainName": &r.DomainName, "Url": &r.Url, "EmailSenderAddress": &r.EmailSenderAddress, "FileHashValue": &r.FileHashValue,
	} {
		if vals := cols[col]; vals != nil {
			*dst = oneOrMany(*vals)
		}
	}
	if len(hashTypes) > 0 {
		r.FileHashType = oneOrMany(hashTypes)
	}
	return r
}

func oneOrMany(vals []string) any {
	if len(vals) == 1 {
		return vals[0]
	}
	return vals
}

// WriteNDJSON writes one JSON object (a Row) per indicator and line, in
// the order given. Times are RFC 3339 UTC; "<", ">" and "&" are not
// escaped, so URLs stay readable.
func WriteNDJSON(w io.Writer, inds []*engine.Indicator) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, ind := range inds {
		if err := enc.Encode(NewRow(ind)); err != nil {
			return err
		}
	}
	return bw.Flush()
}
