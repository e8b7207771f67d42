package stix

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"timap/connectors/stix/pattern"
	"timap/engine"
)

// object is the part of a STIX object timap reads. Fields that real-world
// producers get wrong (a string where a list belongs, a quoted number) use
// tolerant types.
type object struct {
	Type           string          `json:"type"`
	ID             string          `json:"id"`
	SpecVersion    string          `json:"spec_version"`
	Created        string          `json:"created"`
	Modified       string          `json:"modified"`
	Name           string          `json:"name"`
	Description    string          `json:"description"`
	Pattern        string          `json:"pattern"`
	PatternType    string          `json:"pattern_type"`
	ValidFrom      string          `json:"valid_from"`
	ValidUntil     string          `json:"valid_until"`
	Revoked        flexBool        `json:"revoked"`
	Confidence     json.RawMessage `json:"confidence"`
	Labels         strList         `json:"labels"`
	IndicatorTypes strList         `json:"indicator_types"`
	CreatedByRef   string          `json:"created_by_ref"`
	Markings       strList         `json:"object_marking_refs"`
	KillChain      []struct {
		KillChainName string `json:"kill_chain_name"`
		PhaseName     string `json:"phase_name"`
	} `json:"kill_chain_phases"`
	ExternalRefs []struct {
		SourceName string `json:"source_name"`
		ExternalID string `json:"external_id"`
		URL        string `json:"url"`
	} `json:"external_references"`
	// marking-definition fields
	DefinitionType string          `json:"definition_type"`
	Definition     json.RawMessage `json:"definition"`
}

// strList accepts a JSON list of strings or a single string.
type strList []string

func (l *strList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*l = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*l = many
	return nil
}

// flexBool accepts true/false and "true"/"false".
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := strconv.ParseBool(s)
	if err != nil && s != "null" {
		return fmt.Errorf("revoked: want a boolean, got %s", b)
	}
	*f = flexBool(v)
	return nil
}

// Well-known TLP 1.0 marking-definition ids (STIX 2.1 §7.2.1.4) and the TLP
// 2.0 extension's.
var tlpByID = map[string]string{
	"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "white",
	"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
	"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
	"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
	"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": "clear",
	"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": "green",
	"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": "amber",
	"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": "amber+strict",
	"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "red",
}

// context is what indicators refer to elsewhere in the document.
type context struct {
	tlp        map[string]string // marking-definition id → level
	identities map[string]string // identity id → name
}

func newContext(objs []object) *context {
	c := &context{tlp: map[string]string{}, identities: map[string]string{}}
	for id, l := range tlpByID {
		c.tlp[id] = l
	}
	for i := range objs {
		o := &objs[i]
		switch o.Type {
		case "identity":
			c.identities[o.ID] = o.Name
		case "marking-definition":
			var d struct {
				TLP string `json:"tlp"`
			}
			if o.DefinitionType == "tlp" && json.Unmarshal(o.Definition, &d) == nil && d.TLP != "" {
				c.tlp[o.ID] = strings.ToLower(d.TLP)
			} else if strings.HasPrefix(strings.ToUpper(o.Name), "TLP:") {
				c.tlp[o.ID] = strings.ToLower(strings.TrimPrefix(strings.ToUpper(o.Name), "TLP:"))
			}
		}
	}
	return c
}

// convert turns an indicator object into an engine.Indicator. It reports
// problems on res and returns false when the object cannot be used at all.
func convert(o *object, ctx *context, opts Options, res *Result) (*engine.Indicator, bool) {
	ind := &engine.Indicator{
		IndicatorId:         o.ID,
		ExternalIndicatorId: o.ID,
		SourceSystem:        opts.SourceSystem,
		IndicatorProvider:   ctx.identities[o.CreatedByRef],
		Description:         o.Description,
		ConfidenceScore:     -1,
		Active:              !bool(o.Revoked),
		TimeGenerated:       opts.Now,
		Pattern:             o.Pattern,
		Tags:                o.Labels,
	}
	if ind.IndicatorProvider == "" {
		ind.IndicatorProvider = o.CreatedByRef
	}
	if ind.Description == "" {
		ind.Description = o.Name
	}
	var err error
	if ind.Modified, err = stixTime(o.Modified, o.Created); err != nil {
		res.problem(o.ID, "invalid-object", fmt.Errorf("modified: %w", err))
		return nil, false
	}
	if ind.Modified.IsZero() {
		ind.Modified = opts.Now
	}
	if ind.ValidFrom, err = stixTime(o.ValidFrom); err != nil {
		res.problem(o.ID, "invalid-object", fmt.Errorf("valid_from: %w", err))
		return nil, false
	}
	if ind.ExpirationDateTime, err = stixTime(o.ValidUntil); err != nil {
		res.problem(o.ID, "invalid-object", fmt.Errorf("valid_until: %w", err))
		return nil, false
	}
	if c, ok := confidence(o.Confidence); ok {
		ind.ConfidenceScore = c
	}
	// STIX 2.1 indicator_types; in 2.0 the labels were the indicator types.
	switch {
	case len(o.IndicatorTypes) > 0:
		ind.ThreatType = o.IndicatorTypes[0]
	case len(o.Labels) > 0:
		ind.ThreatType = o.Labels[0]
	}
	for _, m := range o.Markings {
		if l, ok := ctx.tlp[m]; ok {
			ind.TrafficLightProtocolLevel = l
		}
	}
	for _, k := range o.KillChain {
		ind.KillChainPhases = append(ind.KillChainPhases, k.KillChainName+":"+k.PhaseName)
	}
	for _, r := range o.ExternalRefs {
		var parts []string
		for _, p := range []string{r.SourceName, r.ExternalID, r.URL} {
			if p != "" {
				parts = append(parts, p)
			}
		}
		if len(parts) > 0 {
			ind.ExternalReferences = append(ind.ExternalReferences, strings.Join(parts, " "))
		}
	}
	if o.PatternType != "" && o.PatternType != "stix" {
		res.problem(o.ID, "unsupported-pattern", fmt.Errorf("pattern_type %q", o.PatternType))
		return ind, true
	}
	addObservables(ind, o, res)
	return ind, true
}

// confidence reads STIX confidence (0–100), tolerating a quoted number.
func confidence(raw json.RawMessage) (float64, bool) {
	s := strings.Trim(string(raw), `" `)
	if s == "" || s == "null" {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v > 100 {
		return 0, false
	}
	return v, true
}

// stixTime parses the first non-empty of vs as an RFC 3339 timestamp with
// any fraction length (STIX 2.1 §3.2); "" gives the zero time.
func stixTime(vs ...string) (time.Time, error) {
	for _, v := range vs {
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, err
		}
		return t.UTC(), nil
	}
	return time.Time{}, nil
}

// target says which observable type and TI column a pattern path fills
// (spec §4.3 "STIX pattern → columns").
type target struct {
	typ    engine.ObservableType
	column string
}

var targets = map[string]target{
	"ipv4-addr:value":                {engine.TypeIP, "NetworkIP"},
	"ipv6-addr:value":                {engine.TypeIP, "NetworkIP"},
	"network-traffic:src_ref.value":  {engine.TypeIP, "NetworkSourceIP"},
	"network-traffic:dst_ref.value":  {engine.TypeIP, "NetworkDestinationIP"},
	"domain-name:value":              {engine.TypeDomain, "DomainName"},
	"url:value":                      {engine.TypeURL, "Url"},
	"email-addr:value":               {engine.TypeEmail, "EmailSenderAddress"},
	"email-message:from_ref.value":   {engine.TypeEmail, "EmailSenderAddress"},
	"email-message:sender_ref.value": {engine.TypeEmail, "EmailSenderAddress"},
	"file:name":                      {engine.TypeFileName, "FileName"},
}

// strength orders observables for an AND group that only one of can be
// enforced per row: the most specific value is indexed.
func strength(t engine.ObservableType, h engine.HashType) int {
	switch t {
	case engine.TypeFileHash:
		return 10 + int(h)
	case engine.TypeURL:
		return 9
	case engine.TypeEmail:
		return 8
	case engine.TypeDomain:
		return 7
	case engine.TypeFileName:
		return 5 // a name says least: any file can be called that
	}
	return 6
}

// addObservables compiles the pattern and admits its atoms.
func addObservables(ind *engine.Indicator, o *object, res *Result) {
	version := "2.1"
	if o.SpecVersion == "" || o.SpecVersion == "2.0" {
		version = "2.0"
	}
	if strings.TrimSpace(o.Pattern) == "" {
		res.problem(o.ID, "missing-pattern", fmt.Errorf("indicator has no pattern"))
		return
	}
	p, err := pattern.ParseVersion(o.Pattern, version)
	if err != nil && version == "2.0" {
		// Producers label 2.1 syntax as 2.0 and the reverse.
		p, err = pattern.ParseVersion(o.Pattern, "2.1")
	}
	if err != nil {
		res.problem(o.ID, "invalid-pattern", err)
		return
	}
	atoms, cov := p.Atoms()
	groups := map[int][]engine.Observable{}
	refused := map[int][]string{} // values of a group that were not admitted
	var order []int
	mapped := false // some atom named an observable timap indexes
	for _, a := range atoms {
		t, column, hashType, ok := targetOf(a.Path)
		if !ok {
			ind.Unenforced = append(ind.Unenforced, a.Path)
			continue
		}
		mapped = true
		if a.Partial {
			ind.PartiallyEnforced = true
		}
		for _, k := range slices.Sorted(maps.Keys(a.Context)) {
			// Context (ports, ref types) is not checked per row.
			ind.PartiallyEnforced = true
			ind.Unenforced = append(ind.Unenforced, k+" = "+a.Context[k])
		}
		for _, v := range a.Values {
			obs, err := ind.AdmitObservable(t, column, v, hashType)
			var re *engine.RejectError
			if errors.As(err, &re) && re.Reason == "invalid-ip" && strings.HasPrefix(a.Path, "network-traffic:") {
				// src_ref/dst_ref may point at a domain-name object; only
				// a value that is no IP at all is read as one (a refused
				// IP stays refused).
				if d, derr := engine.NewObservable(engine.TypeDomain, "DomainName", v, ""); derr == nil {
					obs, err = d, nil
				}
			}
			if err != nil {
				reason := "invalid-value"
				if errors.As(err, &re) {
					reason = re.Reason
				}
				res.problem(o.ID, reason, err)
				refused[a.Group] = append(refused[a.Group], a.Path+" = "+v)
				continue
			}
			if slices.Contains(groups[a.Group], obs) {
				continue // the same value twice in one group
			}
			if _, seen := groups[a.Group]; !seen {
				order = append(order, a.Group)
			}
			groups[a.Group] = append(groups[a.Group], obs)
		}
	}
	for _, g := range order {
		obs := groups[g]
		if len(refused[g]) > 0 && groupIsAnd(atoms, g) {
			// The group needs every value; a refused one is not enforced.
			ind.PartiallyEnforced = true
			ind.Unenforced = append(ind.Unenforced, refused[g]...)
		}
		if len(obs) > 1 && groupIsAnd(atoms, g) {
			best := obs[0]
			for _, x := range obs[1:] {
				if strength(x.Type, x.Hash) > strength(best.Type, best.Hash) {
					best = x
				}
			}
			for _, x := range obs {
				if x != best {
					ind.Unenforced = append(ind.Unenforced, x.Column+" = "+x.Value)
				}
			}
			ind.PartiallyEnforced = true
			obs = []engine.Observable{best}
		}
		for _, x := range obs {
			if !slices.Contains(ind.Observables, x) { // [a = x] OR [a = x]
				ind.Observables = append(ind.Observables, x)
			}
		}
	}
	if len(cov.Partial) > 0 {
		ind.PartiallyEnforced = true
		ind.Unenforced = append(ind.Unenforced, cov.Partial...)
	}
	if len(ind.Observables) == 0 {
		ind.PartiallyEnforced = false
		if !mapped {
			// Values that were refused are already reported with their
			// own reason (non-routable, invalid-hash…).
			res.problem(o.ID, "unsupported-pattern", fmt.Errorf("nothing indexable in %s", shorten(o.Pattern)))
		}
	}
}

// shorten cuts a pattern for a message.
func shorten(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + fmt.Sprintf("… (%d bytes)", len(s))
}

// groupIsAnd reports whether group g holds several distinct comparisons
// (an AND), rather than one IN comparison with several values.
func groupIsAnd(atoms []pattern.Atom, g int) bool {
	n := 0
	for _, a := range atoms {
		if a.Group == g {
			n++
		}
	}
	return n > 1
}

// targetOf maps a pattern path to an observable type, TI column and
// declared hash algorithm.
func targetOf(path string) (engine.ObservableType, string, string, bool) {
	if t, ok := targets[path]; ok {
		return t.typ, t.column, "", true
	}
	if rest, ok := strings.CutPrefix(path, "file:hashes."); ok {
		algo := strings.Trim(rest, "'")
		if _, err := engine.ParseHashType(algo); err == nil {
			return engine.TypeFileHash, "FileHashValue", algo, true
		}
	}
	return 0, "", "", false
}
