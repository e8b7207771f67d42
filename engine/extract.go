package engine

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// tiFiltersHold reports whether the indicator of p passes a rule's TI
// filters.
func tiFiltersHold(fs []TIFilter, p Posting) bool {
	for _, f := range fs {
		v := tiColumns[f.Column](p.Ind, p.Obs)
		if !tiFilterHolds(f, v) {
			return false
		}
	}
	return true
}

func tiFilterHolds(f TIFilter, v any) bool {
	switch f.Op {
	case ">", ">=", "<", "<=":
		x, ok := v.(float64)
		if !ok {
			return false // a missing number fails a comparison, as a KQL null does
		}
		y, _ := strconv.ParseFloat(f.Value, 64)
		switch f.Op {
		case ">":
			return x > y
		case ">=":
			return x >= y
		case "<":
			return x < y
		}
		return x <= y
	}
	s := tiText(v)
	switch f.Op {
	case "==":
		return s == f.Value
	case "!=":
		return s != f.Value
	case "contains_cs":
		return strings.Contains(s, f.Value)
	case "!contains_cs":
		return !strings.Contains(s, f.Value)
	case "isnotempty":
		return s != ""
	}
	return false
}

// tiText renders a TI column value for text comparisons and templates.
func tiText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

// jsonValues returns the strings of a JSON array ("json_array"), or the
// string at the dotted path field of a JSON object or of each object of a
// JSON array ("json_field"). Text that is not JSON yields nothing.
func jsonValues(raw, field string) []string {
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return nil
	}
	var out []string
	var walk func(v any, path []string)
	walk = func(v any, path []string) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e, path)
			}
		case map[string]any:
			if len(path) > 0 {
				walk(x[path[0]], path[1:])
			}
		case string:
			if len(path) == 0 {
				out = append(out, x)
			}
		}
	}
	var path []string
	if field != "" {
		path = strings.Split(field, ".")
	}
	walk(v, path)
	return out
}

// stripPort removes a port and brackets from an address as clients log it:
// "203.0.113.9:443" → "203.0.113.9", "[2001:db8::1]:443" → "2001:db8::1";
// a bare IPv6 address is left whole.
func stripPort(s string) string {
	if strings.HasPrefix(s, "[") {
		if end := strings.IndexByte(s, ']'); end > 0 {
			return s[1:end]
		}
		return s
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 && strings.IndexByte(s, ':') == i {
		return s[:i]
	}
	return s
}

// TemplateColumns lists the {{Column}} references of an alert template.
func TemplateColumns(t string) []string {
	var cols []string
	for {
		i := strings.Index(t, "{{")
		if i < 0 {
			return cols
		}
		j := strings.Index(t[i:], "}}")
		if j < 0 {
			return cols
		}
		cols = append(cols, strings.TrimSpace(t[i+2:i+j]))
		t = t[i+j+2:]
	}
}

// renderTemplate replaces each {{Column}} of t with resolve(Column).
func renderTemplate(t string, resolve func(string) string) string {
	var b strings.Builder
	for {
		i := strings.Index(t, "{{")
		j := -1
		if i >= 0 {
			j = strings.Index(t[i:], "}}")
		}
		if i < 0 || j < 0 {
			b.WriteString(t)
			return b.String()
		}
		b.WriteString(t[:i])
		b.WriteString(resolve(strings.TrimSpace(t[i+2 : i+j])))
		t = t[i+j+2:]
	}
}

// severityOf is the alert severity of r for the indicator of a match.
func severityOf(r *Rule, ind *Indicator, obs *Observable) string {
	sb := r.SeverityBy
	if sb == nil {
		return r.Severity
	}
	if v, ok := tiColumns[sb.Column](ind, obs).(float64); ok {
		for _, s := range sb.Steps {
			if v > s.Above {
				return s.Severity
			}
		}
	}
	return sb.Else
}

// templateRegexp matches the texts a name template renders to: the literal
// parts exactly, each {{Column}} as any text.
func templateRegexp(t string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for {
		i := strings.Index(t, "{{")
		j := -1
		if i >= 0 {
			j = strings.Index(t[i:], "}}")
		}
		if i < 0 || j < 0 {
			b.WriteString(regexp.QuoteMeta(t))
			break
		}
		b.WriteString(regexp.QuoteMeta(t[:i]))
		b.WriteString(".*")
		t = t[i+j+2:]
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// accountEmails returns Name@UPNSuffix of every account entity of a
// Sentinel Entities JSON array (R14: the accounts an alert is about).
func accountEmails(raw string) []string {
	var ents []map[string]any
	if json.Unmarshal([]byte(raw), &ents) != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if t, _ := e["Type"].(string); !strings.EqualFold(t, "account") {
			continue
		}
		name, _ := e["Name"].(string)
		suffix, _ := e["UPNSuffix"].(string)
		if name != "" && suffix != "" {
			out = append(out, name+"@"+suffix)
		}
	}
	return out
}
