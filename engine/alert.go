package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Alert is what timap emits: one per (rule, IndicatorId, matched value) per
// suppression window, with later matching rows of the window counted in it.
// Field names follow Sentinel's SecurityAlert where one exists.
type Alert struct {
	// SystemAlertId is deterministic: a hash of rule, indicator, matched
	// value and window start, so a replay yields the same ids.
	SystemAlertId string
	RuleId        string
	AlertName     string
	// AlertDescription is set for rules with a description template.
	AlertDescription string `json:",omitempty"`
	// AlertSeverity is the rule's severity, or computed from the
	// indicator (SeverityBy, Sentinel's AlertPriority).
	AlertSeverity string
	Tactics       []string
	Techniques    []string
	Table         string
	IndicatorId   string
	// IndicatorType is the observable type ("ip", "domain", …) and
	// IndicatorValue its normalised value ("203.0.113.0/24").
	IndicatorType  string
	IndicatorValue string
	// SourceSystem is the indicator's source.
	SourceSystem string
	// MatchedValue is the normalised observed value and MatchedColumn the
	// log column it came from.
	MatchedValue  string
	MatchedColumn string
	// StartTime and EndTime are the TimeGenerated of the first and last
	// matching row in the window; EventCount the number of rows.
	StartTime  time.Time
	EndTime    time.Time
	EventCount int
	// ProviderName and VendorName say the alert is timap's (Sentinel's
	// SecurityAlert columns): rules reading SecurityAlert skip such rows,
	// so an alert never matches itself.
	ProviderName, VendorName string
	// Origin is where the first row came from ("file:line",
	// "topic/partition:offset").
	Origin string
	// Entities are typed alert entities from the rule's mappings.
	Entities []Entity
	// ExtendedProperties are the rule's projected columns of the indicator
	// and of the first row, under their Sentinel names.
	ExtendedProperties map[string]any
	// Truncated is set when Shrunk cut long values to fit a size limit.
	Truncated bool `json:",omitempty"`
}

// maxShrunkValue is how much of each long text value Shrunk keeps.
const maxShrunkValue = 1024

// Shrunk returns a copy of a whose long text values (ExtendedProperties,
// entity identifiers) are cut to 1 KiB each and marked Truncated, for sinks
// with a record size limit (Kafka's max.message.bytes): one giant log line
// must not make an alert undeliverable. a itself is not changed.
func (a *Alert) Shrunk() *Alert {
	c := *a
	c.Truncated = true
	cut := func(s string) string {
		if len(s) <= maxShrunkValue {
			return s
		}
		return strings.ToValidUTF8(s[:maxShrunkValue], "") + "…"
	}
	c.ExtendedProperties = make(map[string]any, len(a.ExtendedProperties))
	for k, v := range a.ExtendedProperties {
		if s, ok := v.(string); ok {
			v = cut(s)
		}
		c.ExtendedProperties[k] = v
	}
	c.Entities = nil
	for _, e := range a.Entities {
		ids := make([]Identifier, len(e.Identifiers))
		for i, id := range e.Identifiers {
			ids[i] = Identifier{id.Name, cut(id.Column)}
		}
		c.Entities = append(c.Entities, Entity{Type: e.Type, Identifiers: ids})
	}
	c.MatchedValue, c.IndicatorValue, c.AlertDescription = cut(a.MatchedValue), cut(a.IndicatorValue), cut(a.AlertDescription)
	return &c
}

// Entity is one alert entity: its Sentinel type ("IP", "Host", …) and
// identifiers ("Address": "203.0.113.9"). It marshals as one flat JSON
// object with a "Type" key, as Sentinel's Entities column does.
type Entity struct {
	Type        string
	Identifiers []Identifier
}

// MarshalJSON writes {"Type":"IP","Address":"203.0.113.9"}.
func (e Entity) MarshalJSON() ([]byte, error) {
	m := make(map[string]string, len(e.Identifiers)+1)
	for _, id := range e.Identifiers {
		m[id.Name] = id.Column
	}
	m["Type"] = e.Type
	return json.Marshal(m)
}

// UnmarshalJSON reads the flat form MarshalJSON writes; identifiers come
// back sorted by name.
func (e *Entity) UnmarshalJSON(b []byte) error {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	e.Type, e.Identifiers = m["Type"], nil
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k != "Type" {
			e.Identifiers = append(e.Identifiers, Identifier{k, m[k]})
		}
	}
	return nil
}

// rowValue is a row column of a match: the row's own, else its join
// partner's.
func rowValue(m *Match, col string) string {
	if v, ok := m.Event.Get(col); ok || m.Joined == nil {
		return v
	}
	return m.Joined.Value(col)
}

// tiColumns resolves ThreatIntelligenceIndicator column names (spec §3.1)
// on a matched indicator.
var tiColumns = map[string]func(ind *Indicator, obs *Observable) any{
	"IndicatorId":               func(i *Indicator, _ *Observable) any { return i.IndicatorId },
	"ExternalIndicatorId":       func(i *Indicator, _ *Observable) any { return i.ExternalIndicatorId },
	"SourceSystem":              func(i *Indicator, _ *Observable) any { return i.SourceSystem },
	"IndicatorProvider":         func(i *Indicator, _ *Observable) any { return i.IndicatorProvider },
	"ThreatType":                func(i *Indicator, _ *Observable) any { return i.ThreatType },
	"Description":               func(i *Indicator, _ *Observable) any { return i.Description },
	"ConfidenceScore":           confidence,
	"Active":                    func(i *Indicator, _ *Observable) any { return i.Active },
	"ExpirationDateTime":        func(i *Indicator, _ *Observable) any { return timeOrNil(i.ExpirationDateTime) },
	"TrafficLightProtocolLevel": func(i *Indicator, _ *Observable) any { return i.TrafficLightProtocolLevel },
	"Tags":                      func(i *Indicator, _ *Observable) any { return strings.Join(i.Tags, ",") },
	"ActivityGroupNames":        func(i *Indicator, _ *Observable) any { return strings.Join(i.ActivityGroupNames, ",") },
	"LatestIndicatorTime":       func(i *Indicator, _ *Observable) any { return timeOrNil(i.TimeGenerated) },
	"NetworkIP":                 observableColumn("NetworkIP"),
	"NetworkSourceIP":           observableColumn("NetworkSourceIP"),
	"NetworkDestinationIP":      observableColumn("NetworkDestinationIP"),
	"EmailSourceIpAddress":      observableColumn("EmailSourceIpAddress"),
	"NetworkCidrBlock":          observableColumn("NetworkCidrBlock"),
	"DomainName":                observableColumn("DomainName"),
	"Url":                       observableColumn("Url"),
	"EmailSenderAddress":        observableColumn("EmailSenderAddress"),
	"FileHashValue":             observableColumn("FileHashValue"),
	"FileName":                  observableColumn("FileName"),
	"FileHashType": func(i *Indicator, o *Observable) any {
		if o.Type == TypeFileHash {
			return o.Hash.String()
		}
		for _, x := range i.Observables {
			if x.Type == TypeFileHash {
				return x.Hash.String()
			}
		}
		return ""
	},
}

func confidence(i *Indicator, _ *Observable) any {
	if i.ConfidenceScore < 0 {
		return nil
	}
	return i.ConfidenceScore
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// observableColumn prefers the matched observable when it fills column, else
// the indicator's first observable that does.
func observableColumn(column string) func(*Indicator, *Observable) any {
	return func(i *Indicator, o *Observable) any {
		if o.Column == column {
			return o.Value
		}
		for _, x := range i.Observables {
			if x.Column == column {
				return x.Value
			}
		}
		return ""
	}
}

// MatchedValueColumn names the matched value in projections and entity
// mappings (Sentinel rules call it CS_ipEntity, Domain, PA_Url, …).
const MatchedValueColumn = "MatchedValue"

// IsTIColumn reports whether name is a ThreatIntelligenceIndicator column
// that rules may project or map to entities.
func IsTIColumn(name string) bool {
	_, ok := tiColumns[name]
	return ok
}

// TIColumns returns the TI column names rules may use, sorted.
func TIColumns() []string {
	var names []string
	for n := range tiColumns {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// SystemAlertID is the deterministic alert id: the first 128 bits of
// SHA-256 over rule id, indicator id, matched value and window start,
// formatted as a UUID (version nibble 8, RFC 9562 custom).
func SystemAlertID(ruleID, indicatorID, value string, window time.Time) string {
	h := sha256.New()
	for _, s := range []string{ruleID, indicatorID, value, window.UTC().Format(time.RFC3339Nano)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var b [16]byte
	copy(b[:], h.Sum(nil))
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b[:])
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

func newAlert(m *Match, window time.Time) *Alert {
	r, ev := m.Rule, m.Event
	al := &Alert{
		SystemAlertId:  SystemAlertID(r.ID, m.Ind.IndicatorId, m.Value, window),
		RuleId:         r.ID,
		AlertName:      r.Name,
		AlertSeverity:  severityOf(r, m.Ind, m.Obs),
		Tactics:        orEmpty(r.Tactics),
		Techniques:     orEmpty(r.Techniques),
		Table:          ev.Table,
		IndicatorId:    m.Ind.IndicatorId,
		IndicatorType:  m.Obs.Type.String(),
		IndicatorValue: m.Obs.Value,
		SourceSystem:   m.Ind.SourceSystem,
		ProviderName:   "timap",
		VendorName:     "timap",
		MatchedValue:   m.Value,
		MatchedColumn:  m.Column,
		StartTime:      ev.TimeGenerated,
		EndTime:        ev.TimeGenerated,
		EventCount:     1,
		Origin:         ev.Origin + ":" + strconv.FormatInt(ev.Offset, 10),
	}
	resolve := func(col string) any {
		if col == MatchedValueColumn {
			return m.Value
		}
		// "log.X" and "ti.X" pick a side when both have a column X (Url,
		// Description): unprefixed, the TI column wins, as in KQL.
		if rest, ok := strings.CutPrefix(col, "log."); ok {
			return strings.Clone(rowValue(m, rest))
		}
		if rest, ok := strings.CutPrefix(col, "ti."); ok {
			col = rest
		}
		if f, ok := tiColumns[col]; ok {
			return f(m.Ind, m.Obs)
		}
		// Row values may alias the decoder's line buffer: copy them.
		return strings.Clone(rowValue(m, col))
	}
	if r.AlertNameTemplate != "" || r.AlertDescriptionTemplate != "" {
		text := func(col string) string { return tiText(resolve(col)) }
		if r.AlertNameTemplate != "" {
			al.AlertName = renderTemplate(r.AlertNameTemplate, text)
		}
		al.AlertDescription = renderTemplate(r.AlertDescriptionTemplate, text)
	}
	if len(r.ProjectTI)+len(r.ProjectLog) > 0 {
		al.ExtendedProperties = make(map[string]any, len(r.ProjectTI)+len(r.ProjectLog))
		for _, col := range r.ProjectTI {
			al.ExtendedProperties[col] = resolve(col)
		}
		for _, col := range r.ProjectLog {
			al.ExtendedProperties[col] = strings.Clone(rowValue(m, col))
		}
	}
	for _, em := range r.Entities {
		e := Entity{Type: em.Type}
		for _, id := range em.Identifiers {
			v, _ := resolve(id.Column).(string)
			if v != "" {
				e.Identifiers = append(e.Identifiers, Identifier{id.Name, v})
			}
		}
		if len(e.Identifiers) > 0 && !slices.ContainsFunc(al.Entities, func(x Entity) bool { return sameEntity(x, e) }) {
			al.Entities = append(al.Entities, e)
		}
	}
	return al
}

func sameEntity(a, b Entity) bool {
	return a.Type == b.Type && slices.Equal(a.Identifiers, b.Identifiers)
}

// orEmpty is list, or an empty list for nil: alert consumers read JSON []
// rather than null for a rule without tactics.
func orEmpty(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}
