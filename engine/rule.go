package engine

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Rule is one analytic rule as the executor runs it: which table it reads,
// which rows it considers, which columns yield candidate values of which
// observable type, and what its alerts carry. Rule files (package rules) are
// decoded into Rules; NewExecutor validates and compiles them.
type Rule struct {
	// ID is the Sentinel analytic rule id (a GUID) or timap's own id.
	ID string
	// Name is the display name; alerts carry it as AlertName.
	Name        string
	Version     string
	Description string
	// Severity is "Informational", "Low", "Medium" or "High".
	Severity   string
	Tactics    []string
	Techniques []string
	// Table is the log table the rule reads, e.g. "CommonSecurityLog".
	Table string
	// Tables are further tables read the same way (Sentinel rules that
	// union SigninLogs with AADNonInteractiveUserSignInLogs).
	Tables []string
	// Columns are columns the rule file declares for its tables, with
	// their types: the whole schema of a custom (*_CL) table timap has no
	// schema of, or additions to a known one.
	Columns map[string]ColumnType
	// TIFilters must all hold for an indicator to be used by this rule
	// (ConfidenceScore > 50, Description without "State: inactive;").
	TIFilters []TIFilter
	// SeverityBy, when set, computes AlertSeverity from a TI column.
	SeverityBy *SeverityBy
	// Compat describes the Sentinel original's behaviour, used when the
	// executor runs in compatibility mode.
	Compat *Compat
	// Join, when set, makes a match count only when a row of a second table
	// with the same key arrives within a window (R05/R37: EmailUrlInfo ⋈
	// EmailEvents on NetworkMessageId, delivered mail only).
	Join *Join
	// AlertNameTemplate and AlertDescriptionTemplate, when set, render the
	// alert's name and description: {{Column}} is replaced by the value of
	// a TI or row column (Sentinel's alertDetailsOverride).
	AlertNameTemplate        string
	AlertDescriptionTemplate string
	// Filters must all hold for a row to be considered (the rule's scope).
	Filters []Filter
	// Derive computes extra columns from the row before candidates are
	// taken, in order; later derivations and candidates may use them.
	Derive []Derivation
	// Candidates say which columns yield values to look up, in order.
	Candidates []Candidate
	// Project lists the columns copied into an alert's ExtendedProperties:
	// TI columns of the indicator and columns of the row (derived ones
	// included), under their Sentinel names.
	ProjectTI  []string
	ProjectLog []string
	// Entities map alert entities to columns.
	Entities []EntityMapping
	// Notes document how the rule differs from Sentinel's (for `rules
	// explain`); SentinelFile, SentinelDedup and Quirks describe the
	// Sentinel original (its file name, result dedup key, and the quirks of
	// spec "Consolidated quirks" timap fixes).
	Notes         []string
	SourceFile    string // the rule file it was loaded from, for messages
	SourceLine    int    // the line of its id in SourceFile; 0 when unknown
	SentinelFile  string
	SentinelDedup []string
	Quirks        []string
}

// AllTables returns Table and Tables.
func (r *Rule) AllTables() []string {
	return append([]string{r.Table}, r.Tables...)
}

// Join joins a rule's matches with rows of a second table on a key
// column. Either side may arrive first; a match waits at most Window (in
// event time) for its partner row, and at most MaxPending matches and
// MaxRows partner rows are kept (oldest dropped first). The partner row's
// columns are available to projections, entities and templates.
type Join struct {
	// Table is the second table; On the key column, named the same in
	// both tables.
	Table, On string
	// Filters must hold on the partner row (DeliveryAction !has Blocked).
	Filters []Filter
	// Window bounds how far apart in event time the two rows may be.
	// Default 1 h.
	Window time.Duration
	// MaxPending and MaxRows bound the join state. Defaults 100,000 each.
	MaxPending, MaxRows int
	// Columns are the partner row's columns kept for the alert.
	Columns []string
}

// TIFilter is a condition on a ThreatIntelligenceIndicator column of the
// matched indicator.
type TIFilter struct {
	Column string
	// Op is one of ">", ">=", "<", "<=" (numbers), "==", "!=",
	// "contains_cs", "!contains_cs" (case-sensitive text), "isnotempty".
	Op    string
	Value string
	// PreArgMax marks a filter the Sentinel original applies to every TI
	// row before keeping each indicator's latest (spec §0.3 item 3: R20's
	// ConfidenceScore > 50): in compat mode, with older versions kept, the
	// newest version that passes it is the one used. Default mode tests
	// the newest version either way.
	PreArgMax bool
}

// SeverityBy maps a numeric TI column to a severity: the first step whose
// Above the value exceeds wins, else Else (R20's AlertPriority: > 82 High,
// > 74 Medium, else Low).
type SeverityBy struct {
	Column string
	Steps  []SeverityStep
	Else   string
}

// SeverityStep is one threshold of SeverityBy.
type SeverityStep struct {
	Above    float64
	Severity string
}

// FilterOp is a scope-filter operator, named after the KQL operator it
// stands for.
type FilterOp string

// The filter operators. Case-insensitive ones compare with Unicode simple
// folding, as KQL's =~ and in~ do.
const (
	OpEquals       FilterOp = "=~"          // equal, ignoring case
	OpEqualsCS     FilterOp = "=="          // equal, case-sensitive
	OpNotEquals    FilterOp = "!~"          // not equal, ignoring case
	OpIn           FilterOp = "in~"         // one of Values, ignoring case
	OpInCS         FilterOp = "in"          // one of Values, case-sensitive
	OpHas          FilterOp = "has"         // contains a whole term, ignoring case
	OpNotHas       FilterOp = "!has"        // negation of has
	OpStartsWith   FilterOp = "startswith"  // prefix, ignoring case
	OpNotStarts    FilterOp = "!startswith" // negation of startswith
	OpContains     FilterOp = "contains"    // substring, ignoring case
	OpNotEmpty     FilterOp = "isnotempty"  // non-empty value
	OpMatchesRegex FilterOp = "matches"     // RE2 search
)

// filterOpNames lists the operators for error messages.
var filterOpNames = []string{"=~", "==", "!~", "in~", "in", "has", "!has", "startswith", "!startswith", "contains", "isnotempty", "matches"}

// Filter is one condition on a column of the row.
type Filter struct {
	Column string
	Op     FilterOp
	Values []string

	re *regexp.Regexp
}

// Holds reports whether the filter accepts value.
func (f *Filter) Holds(value string) bool {
	switch f.Op {
	case OpEquals:
		return strings.EqualFold(value, f.Values[0])
	case OpEqualsCS:
		return value == f.Values[0]
	case OpNotEquals:
		return !strings.EqualFold(value, f.Values[0])
	case OpIn, OpInCS:
		for _, v := range f.Values {
			if (f.Op == OpIn && strings.EqualFold(value, v)) || value == v {
				return true
			}
		}
		return false
	case OpHas:
		return hasTerm(value, f.Values[0])
	case OpNotHas:
		return !hasTerm(value, f.Values[0])
	case OpStartsWith:
		return len(value) >= len(f.Values[0]) && strings.EqualFold(value[:len(f.Values[0])], f.Values[0])
	case OpNotStarts:
		return !(len(value) >= len(f.Values[0]) && strings.EqualFold(value[:len(f.Values[0])], f.Values[0]))
	case OpContains:
		return containsFoldASCII(value, f.Values[0])
	case OpNotEmpty:
		return value != ""
	case OpMatchesRegex:
		return f.re.MatchString(value)
	}
	return false
}

// hasTerm is KQL's has: term occurs in s as a whole run of alphanumeric
// characters, ignoring case ("Replaced/Blocked" has "Blocked", "NotBlocked"
// has not).
func hasTerm(s, term string) bool {
	for i := 0; i+len(term) <= len(s); i++ {
		if !strings.EqualFold(s[i:i+len(term)], term) {
			continue
		}
		if (i == 0 || !isAlnum(s[i-1])) && (i+len(term) == len(s) || !isAlnum(s[i+len(term)])) {
			return true
		}
	}
	return false
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c >= 0x80
}

// Derivation computes column Column with the built-in function Func from
// the columns Args.
type Derivation struct {
	Column string
	Func   string
	Args   []string
}

// Candidate says that values taken from Column are looked up as
// observables of type Type.
type Candidate struct {
	Column string
	Type   ObservableType
	// Extract names how values are taken from the column: "" the whole
	// value; "url_host" the host of the value read as a URL; "ipv4" every
	// IPv4 address in free text; "first_ipv4" the first one; "split" the
	// value split on Sep; "regex" every match of Regex (group Group);
	// "urls", "domains", "emails" every URL, domain name or e-mail address
	// in free text; "json_array" every string of a JSON array;
	// "json_field" the string at the dotted path Field of a JSON object or
	// of each object of a JSON array; "host_port" an address written with
	// a port and/or brackets ("203.0.113.9:443", "[::ffff:203.0.113.9]:443");
	// "stem" (filename candidates) the value compared with indicator file
	// names without their extension ("evil" matches "evil.sh");
	// "kql_stem" the value compared with the part of indicator file names
	// before their extension, as KQL's split(FileName, ".")[-2] takes it
	// ("b" matches "a.b.exe"; the compat hunts);
	// "account_emails" Name@UPNSuffix of the account entities of a
	// Sentinel Entities JSON array.
	Extract string
	Sep     string
	// Fallback makes the candidate apply only when every earlier candidate
	// of the rule had an empty column (R27: the first IPv4 of Message only
	// when SourceIP and DestinationIP are both empty).
	Fallback bool
	// Otherwise makes the candidate apply only when no earlier candidate of
	// the rule matched (R46 in compat mode: Sentinel reads a session's
	// destination only when its source matches no indicator).
	Otherwise bool
	// Subdomains (domain candidates) also matches indicators for any parent
	// domain of the value below its public suffix.
	Subdomains bool
	// Regex and Group are the expression (RE2) and capture group of the
	// "regex" extractor; every match is a value.
	Regex string
	Group int
	// Field is the dotted path of the "json_field" extractor.
	Field string
	// FirstOnly keeps only the first match of a free-text extractor
	// (Sentinel's extract(), quirk Q9; compat candidates).
	FirstOnly bool

	re *regexp.Regexp
}

// EntityMapping maps one alert entity (Sentinel entity types: "Account",
// "Host", "IP", "URL", "FileHash", "DNS", …) to columns: identifier name →
// column name ("Address" → "SourceIP"). A column name is resolved first
// against the indicator's TI columns listed in TIColumns, then the row.
type EntityMapping struct {
	Type        string
	Identifiers []Identifier
}

// Identifier is one entity identifier and the column that fills it.
type Identifier struct {
	Name, Column string
}

// Extractors are the known Candidate.Extract names.
var Extractors = []string{"", "url_host", "ipv4", "first_ipv4", "split", "regex", "urls", "domains", "emails", "json_array", "json_field", "host_port", "stem", "kql_stem", "account_emails"}

// builtinRegex are the free-text extractors' expressions.
var builtinRegex = map[string]*regexp.Regexp{
	"urls":    regexp.MustCompile(`(?i)\b(?:https?|ftp)://[^\s"'<>\\\])}|,;]+`),
	"domains": regexp.MustCompile(`(?i)\b(?:[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})\b`),
	"emails":  regexp.MustCompile(`(?i)\b[a-z0-9._%+-]+@(?:[a-z0-9-]+\.)+[a-z]{2,63}\b`),
}

// DeriveFuncs are the known Derivation.Func names with their arity.
var DeriveFuncs = map[string]int{
	// pa_url(RequestURL, AdditionalExtensions, ApplicationProtocol): the
	// URL of a Palo Alto "url" log row (R01, R07, R39), with the scheme
	// added only when missing (https for ssl) — Sentinel's double-scheme
	// bug fixed.
	"pa_url": 3,
	// kql_pa_url_r01, kql_pa_url_r07, kql_pa_url_r39 (same arguments):
	// PA_Url exactly as Sentinel's R01, R07 and R39 build it (spec §1, T16),
	// double scheme included ("http://https://…"), for compat blocks. A
	// value KQL's parse_url finds no host in (no scheme) comes out "".
	"kql_pa_url_r01": 3,
	"kql_pa_url_r07": 3,
	"kql_pa_url_r39": 3,
}

// compile validates r and prepares its regular expressions.
func (r *Rule) compile() error {
	if r.ID == "" || r.Name == "" || r.Table == "" {
		return fmt.Errorf("rule %q: id, name and table are required", r.ID)
	}
	if len(r.Candidates) == 0 {
		return fmt.Errorf("rule %s: no candidates", r.ID)
	}
	for i := range r.Filters {
		if err := compileFilter(r.ID, &r.Filters[i]); err != nil {
			return err
		}
	}
	if c := r.Compat; c != nil {
		if err := c.compile(r.ID); err != nil {
			return err
		}
		if len(c.Candidates) > 0 {
			v := r.compatView()
			if err := v.compileCandidates(); err != nil {
				return err
			}
			copy(c.Candidates, v.Candidates)
		}
	}
	if j := r.Join; j != nil {
		if j.Table == "" || j.On == "" {
			return fmt.Errorf("rule %s: join needs a table and an on column", r.ID)
		}
		if j.Table == r.Table {
			return fmt.Errorf("rule %s: join with its own table", r.ID)
		}
		for i := range j.Filters {
			if err := compileFilter(r.ID, &j.Filters[i]); err != nil {
				return err
			}
		}
		if j.Window <= 0 {
			j.Window = time.Hour
		}
		if j.MaxPending <= 0 {
			j.MaxPending = 100000
		}
		if j.MaxRows <= 0 {
			j.MaxRows = 100000
		}
	}
	if err := r.compileTIFilters(); err != nil {
		return err
	}
	if sb := r.SeverityBy; sb != nil {
		if !IsTIColumn(sb.Column) {
			return fmt.Errorf("rule %s: severity_by: %q is not a TI column", r.ID, sb.Column)
		}
		for _, sev := range append(stepSeverities(sb.Steps), sb.Else) {
			if !validSeverity(sev) {
				return fmt.Errorf("rule %s: severity_by: %q is not Informational, Low, Medium or High", r.ID, sev)
			}
		}
	}
	if err := checkDerive(r.ID, r.Derive); err != nil {
		return err
	}
	if err := r.compileCandidates(); err != nil {
		return err
	}

	return nil
}

// checkDerive validates derivations: known function, right arity.
func checkDerive(id string, ds []Derivation) error {
	for _, d := range ds {
		n, ok := DeriveFuncs[d.Func]
		if !ok {
			return fmt.Errorf("rule %s: unknown derive function %q", id, d.Func)
		}
		if len(d.Args) != n {
			return fmt.Errorf("rule %s: %s takes %d columns, got %d", id, d.Func, n, len(d.Args))
		}
	}
	return nil
}

func stepSeverities(steps []SeverityStep) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Severity)
	}
	return out
}

func validSeverity(s string) bool {
	return s == "Informational" || s == "Low" || s == "Medium" || s == "High"
}

// compileCandidates validates the candidates and prepares their regular
// expressions.
func (r *Rule) compileCandidates() error {
	for i := range r.Candidates {
		c := &r.Candidates[i]
		switch c.Extract {
		case "regex":
			re, err := regexp.Compile(c.Regex)
			if err != nil {
				return fmt.Errorf("rule %s: candidate %s: regex: %v", r.ID, c.Column, err)
			}
			if c.Group < 0 || c.Group > re.NumSubexp() {
				return fmt.Errorf("rule %s: candidate %s: regex has no group %d", r.ID, c.Column, c.Group)
			}
			c.re = re
		case "urls", "domains", "emails":
			c.re = builtinRegex[c.Extract]
		case "json_field":
			if c.Field == "" {
				return fmt.Errorf("rule %s: candidate %s: json_field needs a field", r.ID, c.Column)
			}
		}
		known := false
		for _, e := range Extractors {
			known = known || e == c.Extract
		}
		if !known {
			return fmt.Errorf("rule %s: candidate %s: unknown extract %q", r.ID, c.Column, c.Extract)
		}
		if c.Extract == "split" && c.Sep == "" {
			return fmt.Errorf("rule %s: candidate %s: split needs a separator", r.ID, c.Column)
		}
		if c.Type < TypeIP || c.Type > LastType {
			return fmt.Errorf("rule %s: candidate %s: no observable type", r.ID, c.Column)
		}
		if (c.Extract == "stem" || c.Extract == "kql_stem") && c.Type != TypeFileName {
			return fmt.Errorf("rule %s: candidate %s: stem applies to filename candidates only", r.ID, c.Column)
		}
		if c.Subdomains && c.Type != TypeDomain {
			return fmt.Errorf("rule %s: candidate %s: subdomains applies to domain candidates only", r.ID, c.Column)
		}
	}
	return nil
}

// compatView is the rule as compat mode runs it: the Compat block's
// candidates, filters and derivations in place of the rule's own.
func (r *Rule) compatView() *Rule {
	v := *r
	if c := r.Compat; c != nil {
		if len(c.Candidates) > 0 {
			v.Candidates = c.Candidates
		}
		if c.Filters != nil {
			v.Filters = c.Filters
		}
		if c.Derive != nil {
			v.Derive = c.Derive
		}
	}
	return &v
}

// compileTIFilters validates the TI filters.
func (r *Rule) compileTIFilters() error {
	for _, f := range r.TIFilters {
		if !IsTIColumn(f.Column) {
			return fmt.Errorf("rule %s: ti filter: %q is not a TI column", r.ID, f.Column)
		}
		switch f.Op {
		case ">", ">=", "<", "<=":
			if _, err := strconv.ParseFloat(f.Value, 64); err != nil {
				return fmt.Errorf("rule %s: ti filter %s %s: %q is not a number", r.ID, f.Column, f.Op, f.Value)
			}
		case "==", "!=", "contains_cs", "!contains_cs", "isnotempty":
		default:
			return fmt.Errorf("rule %s: ti filter %s: unknown operator %q", r.ID, f.Column, f.Op)
		}
	}
	return nil
}

// compileFilter validates f and prepares its regular expression.
func compileFilter(id string, f *Filter) error {
	switch f.Op {
	case OpNotEmpty:
	case OpMatchesRegex:
		if len(f.Values) != 1 {
			return fmt.Errorf("rule %s: filter %s matches needs one regex", id, f.Column)
		}
		re, err := regexp.Compile(f.Values[0])
		if err != nil {
			return fmt.Errorf("rule %s: filter %s: %v", id, f.Column, err)
		}
		f.re = re
	case OpEquals, OpEqualsCS, OpNotEquals, OpHas, OpNotHas, OpStartsWith, OpNotStarts, OpContains:
		if len(f.Values) != 1 {
			return fmt.Errorf("rule %s: filter %s %s needs exactly one value", id, f.Column, f.Op)
		}
	case OpIn, OpInCS:
		if len(f.Values) == 0 {
			return fmt.Errorf("rule %s: filter %s %s needs values", id, f.Column, f.Op)
		}
	default:
		return fmt.Errorf("rule %s: unknown filter operator %q (want one of %s)", id, f.Op, strings.Join(filterOpNames, " "))
	}

	return nil
}

// ValidateFilter checks one scope filter (operator, values, regex).
func ValidateFilter(f Filter) error {
	return strip(compileFilter("", &f))
}

// ValidateCandidate checks one candidate (extractor and its parameters).
func ValidateCandidate(c Candidate) error {
	r := &Rule{Candidates: []Candidate{c}}
	return strip(r.compileCandidates())
}

// ValidateTIFilter checks one TI filter (column, operator, value).
func ValidateTIFilter(f TIFilter) error {
	r := &Rule{TIFilters: []TIFilter{f}}
	return strip(r.compileTIFilters())
}

// strip drops the "rule ID: " prefix of a rule-less check's error.
func strip(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(strings.TrimPrefix(err.Error(), "rule : "))
}

// ValidateRule checks r as NewExecutor would, so that a rule file can be
// validated on its own.
func ValidateRule(r *Rule) error { return r.compile() }
