package kafka

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"timap/engine"
)

// IndicatorSchema is the "SchemaVersion" of the indicator encoding.
// Decoding refuses other versions, so a future change of meaning cannot
// be misread.
const IndicatorSchema = 1

// indicatorJSON is the stable encoding of an engine.Indicator on the
// indicator topic. Field names are the ThreatIntelligenceIndicator column
// names the engine uses; times are RFC 3339 in UTC with nanoseconds;
// empty values are left out. The field order is fixed, so equal
// indicators encode to equal bytes.
type indicatorJSON struct {
	SchemaVersion             int              `json:"SchemaVersion"`
	IndicatorId               string           `json:"IndicatorId"`
	ExternalIndicatorId       string           `json:"ExternalIndicatorId,omitempty"`
	SourceSystem              string           `json:"SourceSystem,omitempty"`
	IndicatorProvider         string           `json:"IndicatorProvider,omitempty"`
	ThreatType                string           `json:"ThreatType,omitempty"`
	Description               string           `json:"Description,omitempty"`
	ConfidenceScore           *float64         `json:"ConfidenceScore,omitempty"`
	Active                    *bool            `json:"Active,omitempty"`
	ExpirationDateTime        string           `json:"ExpirationDateTime,omitempty"`
	ValidFrom                 string           `json:"ValidFrom,omitempty"`
	TrafficLightProtocolLevel string           `json:"TrafficLightProtocolLevel,omitempty"`
	Tags                      []string         `json:"Tags,omitempty"`
	ActivityGroupNames        []string         `json:"ActivityGroupNames,omitempty"`
	KillChainPhases           []string         `json:"KillChainPhases,omitempty"`
	ExternalReferences        []string         `json:"ExternalReferences,omitempty"`
	TimeGenerated             string           `json:"TimeGenerated,omitempty"`
	Modified                  string           `json:"Modified"`
	Pattern                   string           `json:"Pattern,omitempty"`
	PartiallyEnforced         bool             `json:"PartiallyEnforced,omitempty"`
	Unenforced                []string         `json:"Unenforced,omitempty"`
	Observables               []observableJSON `json:"Observables"`
	// RefusedIPColumns carries engine.Indicator.RefusedIPColumns (compat
	// mode's address precedence, spec T6).
	RefusedIPColumns []string `json:"RefusedIPColumns,omitempty"`
}

// observableJSON is one observable: its type name, normalised value,
// ThreatIntelligenceIndicator column and, for hashes, the algorithm.
type observableJSON struct {
	Type     string `json:"Type"`
	Value    string `json:"Value"`
	Column   string `json:"Column,omitempty"`
	HashType string `json:"HashType,omitempty"`
	// Raw is the value as the source wrote it, when it differs (Sentinel
	// compatibility mode compares raw strings).
	Raw string `json:"Raw,omitempty"`
}

// defaultColumns is the column of an observable whose Column is left out
// (hand-written records).
var defaultColumns = map[engine.ObservableType]string{
	engine.TypeIP:       "NetworkIP",
	engine.TypeDomain:   "DomainName",
	engine.TypeURL:      "Url",
	engine.TypeEmail:    "EmailSenderAddress",
	engine.TypeFileHash: "FileHashValue",
	engine.TypeFileName: "FileName",
}

// EncodeIndicator encodes ind as the value of an indicator-topic record:
//
//	{"SchemaVersion":1,"IndicatorId":"indicator--…","SourceSystem":"…",
//	 "ConfidenceScore":80,"Active":true,"ExpirationDateTime":"2026-12-01T00:00:00Z",
//	 "Modified":"2026-11-30T08:00:00Z",
//	 "Observables":[{"Type":"ip","Value":"203.0.113.9","Column":"NetworkIP"}]}
//
// ConfidenceScore is left out when the source gave none (-1); Active is
// always written. DecodeIndicator reverses it exactly.
func EncodeIndicator(ind *engine.Indicator) ([]byte, error) {
	if ind.IndicatorId == "" {
		return nil, errors.New("indicator without IndicatorId")
	}
	active := ind.Active
	j := indicatorJSON{
		SchemaVersion:             IndicatorSchema,
		IndicatorId:               ind.IndicatorId,
		ExternalIndicatorId:       ind.ExternalIndicatorId,
		SourceSystem:              ind.SourceSystem,
		IndicatorProvider:         ind.IndicatorProvider,
		ThreatType:                ind.ThreatType,
		Description:               ind.Description,
		Active:                    &active,
		ExpirationDateTime:        formatTime(ind.ExpirationDateTime),
		ValidFrom:                 formatTime(ind.ValidFrom),
		TrafficLightProtocolLevel: ind.TrafficLightProtocolLevel,
		Tags:                      ind.Tags,
		ActivityGroupNames:        ind.ActivityGroupNames,
		KillChainPhases:           ind.KillChainPhases,
		ExternalReferences:        ind.ExternalReferences,
		TimeGenerated:             formatTime(ind.TimeGenerated),
		Modified:                  formatTime(ind.Modified),
		Pattern:                   ind.Pattern,
		PartiallyEnforced:         ind.PartiallyEnforced,
		Unenforced:                ind.Unenforced,
		Observables:               make([]observableJSON, 0, len(ind.Observables)),
		RefusedIPColumns:          ind.RefusedIPColumns,
	}
	if ind.ConfidenceScore >= 0 {
		c := ind.ConfidenceScore
		j.ConfidenceScore = &c
	}
	for _, o := range ind.Observables {
		j.Observables = append(j.Observables, observableJSON{Type: o.Type.String(), Value: o.Value, Column: o.Column, HashType: o.Hash.String(), Raw: o.Raw})
	}
	return json.Marshal(j)
}

// DecodeIndicator decodes an indicator-topic record value. Every
// observable is normalised and admitted again with engine.NewObservable,
// so a hand-written record ("203.0.113.9", "EVIL.example.") is read as a
// loader would read it. Defaults for hand-written records: Active true,
// ConfidenceScore -1 (none), Column from the type (NetworkIP, DomainName,
// Url, EmailSenderAddress, FileHashValue).
//
// Errors: malformed JSON, another SchemaVersion (0, absent, means 1), a
// missing IndicatorId or Modified, a bad time, an unknown type, or an
// observable the engine refuses (non-routable, invalid) — the record is
// then skipped as a whole, so that an indicator is never half applied.
func DecodeIndicator(b []byte) (*engine.Indicator, error) {
	var j indicatorJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, err
	}
	if j.SchemaVersion != 0 && j.SchemaVersion != IndicatorSchema {
		return nil, fmt.Errorf("SchemaVersion %d, want %d", j.SchemaVersion, IndicatorSchema)
	}
	if j.IndicatorId == "" {
		return nil, errors.New("IndicatorId is required")
	}
	if j.Modified == "" {
		return nil, errors.New("Modified is required (versions are ordered by it)")
	}
	ind := &engine.Indicator{
		IndicatorId:               j.IndicatorId,
		ExternalIndicatorId:       j.ExternalIndicatorId,
		SourceSystem:              j.SourceSystem,
		IndicatorProvider:         j.IndicatorProvider,
		ThreatType:                j.ThreatType,
		Description:               j.Description,
		ConfidenceScore:           -1,
		Active:                    j.Active == nil || *j.Active,
		TrafficLightProtocolLevel: j.TrafficLightProtocolLevel,
		Tags:                      j.Tags,
		ActivityGroupNames:        j.ActivityGroupNames,
		KillChainPhases:           j.KillChainPhases,
		ExternalReferences:        j.ExternalReferences,
		Pattern:                   j.Pattern,
		PartiallyEnforced:         j.PartiallyEnforced,
		Unenforced:                j.Unenforced,
		RefusedIPColumns:          j.RefusedIPColumns,
	}
	if j.ConfidenceScore != nil {
		ind.ConfidenceScore = *j.ConfidenceScore
	}
	for _, t := range []struct {
		name string
		s    string
		dst  *time.Time
	}{
		{"ExpirationDateTime", j.ExpirationDateTime, &ind.ExpirationDateTime},
		{"ValidFrom", j.ValidFrom, &ind.ValidFrom},
		{"TimeGenerated", j.TimeGenerated, &ind.TimeGenerated},
		{"Modified", j.Modified, &ind.Modified},
	} {
		if t.s == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339Nano, t.s)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", t.name, err)
		}
		*t.dst = v.UTC()
	}
	if len(j.Observables) > 0 {
		ind.Observables = make([]engine.Observable, 0, len(j.Observables))
	}
	for i, o := range j.Observables {
		t, err := engine.ParseObservableType(o.Type)
		if err != nil {
			return nil, fmt.Errorf("Observables[%d]: %v", i, err)
		}
		col := o.Column
		if col == "" {
			col = defaultColumns[t]
		}
		in := o.Value
		if o.Raw != "" {
			in = o.Raw
		}
		obs, err := engine.NewObservable(t, col, in, o.HashType)
		if err != nil {
			return nil, fmt.Errorf("Observables[%d]: %v", i, err)
		}
		if o.Raw != "" && obs.Value != o.Value {
			return nil, fmt.Errorf("Observables[%d]: raw %q normalises to %q, not %q", i, o.Raw, obs.Value, o.Value)
		}
		ind.Observables = append(ind.Observables, obs)
	}
	return ind, nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
