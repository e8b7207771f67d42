package engine

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"
	"unsafe"
)

// Executor runs compiled rules against log rows. It is immutable and safe
// for concurrent use; each goroutine matches through its own Matcher.
//
// All rules of a table are compiled into one plan: the union of the columns
// they need is decoded once, each distinct candidate (column, type,
// extraction) is looked up once per row, and the postings fan out to every
// rule that asked for it.
type Executor struct {
	store *Store
	opts  ExecutorOptions
	plans map[string]*tablePlan
	rules []*Rule
	// alertNames are the rules' names and alertNameRes their name
	// templates, to recognise timap's own alerts.
	alertNames   map[string]struct{}
	alertNameRes []*regexp.Regexp
}

// ExecutorOptions configure an Executor.
type ExecutorOptions struct {
	// Grace is the allowed lateness of an event after its indicator's
	// expiry (see Indicator.Live). Default 0: an indicator is dead once
	// ExpirationDateTime has passed, as in Sentinel.
	Grace time.Duration
	// Compat runs the rules with Sentinel's semantics, quirks included
	// (each rule's Compat block; for every rule the 14-day TI lookback on
	// ingest time and one indicator per value, Q1). Off: timap's semantics.
	// A store with StoreOptions.KeepVersions lets it use older indicator
	// versions as Sentinel does (spec §0.3 item 3, Q15).
	Compat bool
}

type tablePlan struct {
	needs ColumnSet
	cands []Candidate // distinct candidates of the table's rules
	rules []*rulePlan
	// partners are the rules that join with this table.
	partners []*Rule
}

type rulePlan struct {
	rule   *Rule
	cands  []int // indexes into tablePlan.cands, in rule order
	derive []Derivation
}

// NewExecutor validates and compiles rules against the indicators of store.
// Errors name the rule; a store that keeps versions (StoreOptions.
// KeepVersions) without opts.Compat is an error.
func NewExecutor(store *Store, rules []*Rule, opts ExecutorOptions) (*Executor, error) {
	if store.KeepsVersions() && !opts.Compat {
		return nil, errors.New("a store keeping indicator versions serves compat mode only")
	}
	x := &Executor{store: store, opts: opts, plans: map[string]*tablePlan{}, rules: rules, alertNames: map[string]struct{}{}}
	ids := map[string]bool{}
	for _, r := range rules {
		if err := r.compile(); err != nil {
			return nil, err
		}
		if ids[r.ID] {
			return nil, fmt.Errorf("rule %s (%s): duplicate id", r.ID, r.SourceFile)
		}
		ids[r.ID] = true
		x.alertNames[r.Name] = struct{}{}
		if r.AlertNameTemplate != "" {
			x.alertNameRes = append(x.alertNameRes, templateRegexp(r.AlertNameTemplate))
		}
		if opts.Compat && r.Compat != nil {
			if r.Compat.Never {
				continue // the original never returns a row
			}
			r = r.compatView()
		}
		for _, table := range r.AllTables() {
			x.plan(table, r)
		}
		if j := r.Join; j != nil {
			tp := x.tablePlan(j.Table)
			tp.partners = append(tp.partners, r)
			tp.needs[j.On] = struct{}{}
			for _, f := range j.Filters {
				tp.needs[f.Column] = struct{}{}
			}
			for _, c := range j.Columns {
				tp.needs[c] = struct{}{}
			}
		}
	}
	return x, nil
}

func (x *Executor) tablePlan(table string) *tablePlan {
	tp := x.plans[table]
	if tp == nil {
		tp = &tablePlan{needs: ColumnSet{}}
		x.plans[table] = tp
	}
	return tp
}

// plan adds r to the plan of table.
func (x *Executor) plan(table string, r *Rule) {
	tp := x.tablePlan(table)
	rp := &rulePlan{rule: r, derive: r.Derive}
	derived := map[string]bool{}
	for _, d := range r.Derive {
		derived[d.Column] = true
		for _, a := range d.Args {
			if !derived[a] {
				tp.needs[a] = struct{}{}
			}
		}
	}
	need := func(col string) {
		if !derived[col] {
			tp.needs[col] = struct{}{}
		}
	}
	for _, f := range r.Filters {
		need(f.Column)
	}
	for _, c := range r.Candidates {
		need(c.Column)
		i := slices.Index(tp.cands, c)
		if i < 0 {
			i = len(tp.cands)
			tp.cands = append(tp.cands, c)
		}
		rp.cands = append(rp.cands, i)
	}
	for _, col := range r.ProjectLog {
		need(col)
	}
	for _, e := range r.Entities {
		for _, id := range e.Identifiers {
			if !IsTIColumn(id.Column) && id.Column != MatchedValueColumn {
				need(id.Column)
			}
		}
	}
	for _, col := range TemplateColumns(r.AlertNameTemplate + r.AlertDescriptionTemplate) {
		if !IsTIColumn(col) && col != MatchedValueColumn {
			need(col)
		}
	}
	if table == securityAlertTable {
		need("AlertName")
		need("ProviderName")
	}
	tp.rules = append(tp.rules, rp)
}

// RowColumn says whether a column reference of an entity mapping or a
// template names a row column, and which: "log.X" always does (X), "ti.X",
// MatchedValue and TI column names do not.
func RowColumn(ref string) (string, bool) {
	if rest, ok := strings.CutPrefix(ref, "log."); ok {
		return rest, true
	}
	if strings.HasPrefix(ref, "ti.") || ref == MatchedValueColumn || IsTIColumn(ref) {
		return "", false
	}
	return ref, true
}

// securityAlertTable is where alerts land in Sentinel; rules reading it
// must never match timap's own alerts (a TI rule matching its own alert
// every hour forever is a known Sentinel bug).
const securityAlertTable = "SecurityAlert"

// ownAlert reports whether a SecurityAlert row is an alert of one of the
// executor's rules.
func (x *Executor) ownAlert(ev *Event) bool {
	if strings.EqualFold(ev.Value("ProviderName"), "timap") {
		return true
	}
	if strings.EqualFold(ev.Value("VendorName"), "timap") {
		return true
	}
	name := ev.Value("AlertName")
	if _, ok := x.alertNames[name]; ok {
		return true
	}
	for _, re := range x.alertNameRes {
		if re.MatchString(name) {
			return true
		}
	}
	// Sentinel's own TI rules are named "TI map …" (spec engine checklist 6).
	return containsFoldASCII(name, "TI map")
}

// Tables returns the tables some rule reads, sorted.
func (x *Executor) Tables() []string {
	var ts []string
	for t := range x.plans {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts
}

// Rules returns the compiled rules.
func (x *Executor) Rules() []*Rule { return x.rules }

// JoinWindow is the longest join window of the rules, 0 without joins. A
// match of a joined rule (R05, R37) is released when its partner row
// comes, up to this much later in event time than the match itself, so
// suppression windows must stay open that long
// (AggregatorOptions.Lateness) or its alert is written twice.
func (x *Executor) JoinWindow() time.Duration {
	var w time.Duration
	for _, r := range x.rules {
		if r.Join != nil {
			w = max(w, r.Join.Window)
		}
	}
	return w
}

// Needs returns the columns of table that some rule reads (nil when no rule
// reads the table). Decoders fill only these.
func (x *Executor) Needs(table string) ColumnSet {
	if tp := x.plans[table]; tp != nil {
		return tp.needs
	}
	return ColumnSet{}
}

// NeedsAny returns the union of the columns every table's rules read, for
// decoders that learn a row's table only while decoding it (NDJSON rows
// with a Type key).
func (x *Executor) NeedsAny() ColumnSet {
	all := ColumnSet{}
	for _, tp := range x.plans {
		for c := range tp.needs {
			all[c] = struct{}{}
		}
	}
	return all
}

// Match is one rule matching one indicator observable on one row.
type Match struct {
	Rule *Rule
	Ind  *Indicator
	Obs  *Observable
	// Column is the log column the value came from (MatchedColumn).
	Column string
	// Value is the normalised observed value (MatchedValue).
	Value string
	// Event is the row; valid only during the emit callback (a match that
	// waited for a join partner carries its own copy).
	Event *Event
	// Joined is the partner row of a rule with a Join, else nil.
	Joined *Event
}

// Matcher matches rows for one goroutine; its scratch space makes the
// per-row path allocation-free when nothing matches.
type Matcher struct {
	x        *Executor
	buf      []byte
	post     []Posting
	hits     []hit
	done     []bool
	nonEmpty []bool
	emitted  []emitKey
	derived  []byte // derived column values of the current row
	// derivedBy names the function that computed each derived column of
	// the current row: compat blocks compute PA_Url differently per rule.
	derivedBy []Derivation
	m         Match
	joins     map[*Rule]*joinState
	clone     *Event // the current row's clone, made once for parked matches
}

type hit struct {
	cand  int
	value string // normalised
	raw   string // as the row wrote it (compat mode compares these)
	p     Posting
}

type emitKey struct {
	ind   *Indicator
	value string
}

// NewMatcher returns a Matcher for one goroutine.
func (x *Executor) NewMatcher() *Matcher { return &Matcher{x: x} }

// Match runs every rule of ev.Table on ev and calls emit for each match of a
// live indicator (Indicator.Live at ev.TimeGenerated and now). A rule emits
// one match per (indicator, value) per row. Derived columns are added to ev;
// their values live in the Matcher and stay valid until its next Match.
// It returns the number of matches.
func (m *Matcher) Match(ev *Event, now time.Time, emit func(*Match)) int {
	tp := m.x.plans[ev.Table]
	if tp == nil || (ev.Table == securityAlertTable && m.x.ownAlert(ev)) {
		return 0
	}
	snap := m.x.store.Snapshot()
	n := len(tp.cands)
	m.hits = m.hits[:0]
	m.done = resetBools(m.done, n)
	m.nonEmpty = resetBools(m.nonEmpty, n)
	m.derived = m.derived[:0]
	m.derivedBy = m.derivedBy[:0]
	m.clone = nil
	count := 0
	for _, r := range tp.partners {
		for _, jm := range m.join(r).partnerRow(ev) {
			emit(jm)
			count++
		}
	}
	for _, rp := range tp.rules {
		if !filtersHold(rp.rule.Filters, ev) {
			continue
		}
		if len(rp.derive) > 0 {
			m.deriveAll(tp, rp.derive, ev)
		}
		m.emitted = m.emitted[:0]
		anyEarlier, matched := false, false
		for _, ci := range rp.cands {
			c := &tp.cands[ci]
			if c.Otherwise && matched {
				continue
			}
			if !m.done[ci] {
				m.lookup(ci, c, ev, snap)
				m.done[ci] = true
			}
			if c.Fallback && anyEarlier {
				continue
			}
			anyEarlier = anyEarlier || m.nonEmpty[ci]
			for i := range m.hits {
				h := &m.hits[i]
				if h.cand != ci {
					continue
				}
				p := h.p
				if m.x.opts.Compat {
					var ok bool
					if p, ok = m.compatHit(rp.rule, ci, i, rp.rule.Compat.caseFor(c.Column), ev, now); !ok {
						continue
					}
				} else if !m.live(h, ev, now) || !tiFiltersHold(rp.rule.TIFilters, h.p) {
					continue
				}
				matched = true
				k := emitKey{p.Ind, h.value}
				if slices.Contains(m.emitted, k) {
					continue
				}
				m.emitted = append(m.emitted, k)
				m.m = Match{Rule: rp.rule, Ind: p.Ind, Obs: p.Obs, Column: c.Column, Value: h.value, Event: ev}
				if rp.rule.Join != nil {
					if m.m.Joined = m.join(rp.rule).primaryMatch(&m.m, m.cloneRow(ev)); m.m.Joined == nil {
						continue // parked until its partner row comes
					}
				}
				emit(&m.m)
				count++
			}
		}
	}
	return count
}

// live applies the expiry (Indicator.Live) in timap's semantics.
func (m *Matcher) live(h *hit, ev *Event, now time.Time) bool {
	return h.p.Ind.Live(ev.TimeGenerated, now, m.x.opts.Grace)
}

// compatHit is the version of hit i's indicator rule r matches in compat
// mode (compatPick; values compared as mode says), false when it does not
// match or another indicator has the value (innerunique, Q1; not for a
// kind=inner join).
func (m *Matcher) compatHit(r *Rule, ci, i int, mode string, ev *Event, now time.Time) (Posting, bool) {
	h := &m.hits[i]
	p, ok := compatPick(r, h.p, h.raw, mode, ev.TimeGenerated, now)
	if !ok || (!r.Compat.joinInner() && !m.bestForValue(r, ci, i, mode, p.Ind, ev, now)) {
		return Posting{}, false
	}
	return p, true
}

// bestForValue reports whether ind, the version hit i resolved to, is the
// one indicator the original keeps for its value among the rule's hits of
// candidate ci (innerunique, Q1).
func (m *Matcher) bestForValue(r *Rule, ci, i int, mode string, ind *Indicator, ev *Event, now time.Time) bool {
	h := &m.hits[i]
	for j := range m.hits {
		o := &m.hits[j]
		if j == i || o.cand != ci || o.value != h.value || o.p.Ind == h.p.Ind {
			continue
		}
		if q, ok := compatPick(r, o.p, o.raw, mode, ev.TimeGenerated, now); ok && betterIndicator(q.Ind, ind) {
			return false
		}
	}
	return true
}

// join returns the matcher's state of r's join.
func (m *Matcher) join(r *Rule) *joinState {
	if m.joins == nil {
		m.joins = map[*Rule]*joinState{}
	}
	js := m.joins[r]
	if js == nil {
		js = newJoinState(r.Join)
		m.joins[r] = js
	}
	return js
}

// cloneRow returns a function giving one clone of ev per row, however many
// matches of it are parked.
func (m *Matcher) cloneRow(ev *Event) func() *Event {
	return func() *Event {
		if m.clone == nil {
			m.clone = ev.Clone()
		}
		return m.clone
	}
}

func resetBools(b []bool, n int) []bool {
	if cap(b) < n {
		return make([]bool, n)
	}
	b = b[:n]
	clear(b)
	return b
}

func filtersHold(fs []Filter, ev *Event) bool {
	for i := range fs {
		if !fs[i].Holds(ev.Value(fs[i].Column)) {
			return false
		}
	}
	return true
}

// lookup extracts candidate ci's values from ev and records their postings.
func (m *Matcher) lookup(ci int, c *Candidate, ev *Event, snap *Snapshot) {
	raw := ev.Value(c.Column)
	if raw == "" {
		return
	}
	switch c.Extract {
	case "":
		m.lookupValue(ci, c.Type, c.Subdomains, raw, snap)
	case "split":
		for rest := raw; ; {
			item, tail, more := strings.Cut(rest, c.Sep)
			if item = strings.TrimSpace(item); item != "" {
				m.lookupValue(ci, c.Type, c.Subdomains, item, snap)
			}
			if !more {
				break
			}
			rest = tail
		}
	case "ipv4", "first_ipv4":
		for rest := raw; ; {
			a, tail, ok := nextIPv4(rest)
			if !ok {
				break
			}
			m.lookupAddr(ci, a, a.String(), snap)
			if c.Extract == "first_ipv4" {
				break
			}
			rest = tail
		}
	case "regex", "urls", "domains", "emails":
		n := -1
		if c.FirstOnly {
			n = 1
		}
		for _, loc := range c.re.FindAllStringSubmatchIndex(raw, n) {
			if lo, hi := loc[2*c.Group], loc[2*c.Group+1]; lo >= 0 {
				m.lookupValue(ci, c.Type, c.Subdomains, raw[lo:hi], snap)
			}
		}
	case "json_array", "json_field":
		for _, v := range jsonValues(raw, c.Field) {
			m.lookupValue(ci, c.Type, c.Subdomains, v, snap)
		}
	case "account_emails":
		for _, v := range accountEmails(raw) {
			m.lookupValue(ci, c.Type, c.Subdomains, v, snap)
		}
	case "stem":
		m.lookupValue(ci, typeFileStem, false, raw, snap)
	case "kql_stem":
		m.lookupValue(ci, typeFileKQLStem, false, raw, snap)
	case "host_port":
		if v := stripPort(strings.TrimSpace(raw)); v != "" {
			if a, ok := ParseAddr(v); ok {
				m.lookupAddr(ci, a, v, snap)
			}
		}
	case "url_host":
		b, err := AppendURL(m.buf[:0], raw)
		m.buf = b[:0]
		if err != nil {
			return
		}
		host := URLHost(b)
		if c.Type != TypeIP {
			m.nonEmpty[ci] = true
		}
		if c.Type == TypeIP {
			if a, ok := ParseAddr(string(host)); ok {
				m.lookupAddr(ci, a, string(host), snap)
			}
			return
		}
		if c.Type != TypeDomain || checkHostname(host) != nil {
			return
		}
		start := len(m.post)
		m.post = snap.AppendDomain(m.post, host, c.Subdomains)
		m.recordHits(ci, start, host, "")
	}
}

func (m *Matcher) lookupValue(ci int, t ObservableType, subdomains bool, raw string, snap *Snapshot) {
	if t != TypeIP {
		m.nonEmpty[ci] = true
	}
	if t == TypeIP {
		raw = strings.TrimSpace(raw)
		if a, ok := ParseAddr(raw); ok {
			m.lookupAddr(ci, a, raw, snap)
		}
		return
	}
	var b []byte
	var err error
	switch t {
	case TypeDomain:
		b, err = AppendDomain(m.buf[:0], raw)
	case TypeURL:
		b, err = AppendURL(m.buf[:0], raw)
	case TypeEmail:
		b, err = AppendEmail(m.buf[:0], raw)
	case TypeFileHash:
		b, _, err = AppendHash(m.buf[:0], raw)
	case TypeFileName, typeFileStem, typeFileKQLStem:
		b, err = AppendFileName(m.buf[:0], raw)
	}
	m.buf = b[:0]
	if err != nil {
		return
	}
	start := len(m.post)
	if t == TypeDomain {
		m.post = snap.AppendDomain(m.post, b, subdomains)
	} else {
		m.post = snap.AppendValue(m.post, t, b)
	}
	m.recordHits(ci, start, b, raw)
}

// lookupAddr looks up an address; raw is how the row wrote it. Only a
// routable address makes the candidate count as present for later
// fallbacks: a private SourceIP can never match, so R27 still reads Message.
func (m *Matcher) lookupAddr(ci int, a netip.Addr, raw string, snap *Snapshot) {
	if !m.nonEmpty[ci] {
		if _, bad := NonRoutable(netip.PrefixFrom(a, a.BitLen())); !bad {
			m.nonEmpty[ci] = true
		}
	}
	start := len(m.post)
	m.post = snap.AppendIP(m.post, a)
	if len(m.post) > start {
		v := a.String()
		for _, p := range m.post[start:] {
			m.hits = append(m.hits, hit{ci, v, raw, p})
		}
		m.post = m.post[:start]
	}
}

// recordHits turns the postings appended since start into hits of value v,
// converting v to a string only when there is a hit. raw is the row's
// spelling ("" = the same as v).
func (m *Matcher) recordHits(ci, start int, v []byte, raw string) {
	if len(m.post) == start {
		return
	}
	s := string(v)
	if raw == "" {
		raw = s
	}
	for _, p := range m.post[start:] {
		m.hits = append(m.hits, hit{ci, s, raw, p})
	}
	m.post = m.post[:start]
}

// nextIPv4 finds the next dotted-quad IPv4 address in free text (four runs
// of 1–3 digits joined by dots, not inside a longer run of digits and dots).
func nextIPv4(s string) (netip.Addr, string, bool) {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) || (i > 0 && (isDigit(s[i-1]) || s[i-1] == '.')) {
			continue
		}
		j := i
		for j < len(s) && (isDigit(s[j]) || s[j] == '.') {
			j++
		}
		cand := strings.TrimRight(s[i:j], ".")
		if a, err := netip.ParseAddr(cand); err == nil && a.Is4() {
			return a, s[j:], true
		}
		i = j
	}
	return netip.Addr{}, "", false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// deriveAll sets the derived columns ds on ev (setDerived).
func (m *Matcher) deriveAll(tp *tablePlan, ds []Derivation, ev *Event) {
	for _, d := range ds {
		m.setDerived(tp, d, ev)
	}
}

// setDerived sets d's column on ev unless the row has it already: from
// the row itself, or computed by the same function for an earlier rule. A
// column computed by another function (compat blocks compute PA_Url in
// each rule's own way) is recomputed, and the lookups of the candidates
// reading it are dropped to be redone; earlier matches were emitted with
// the old value, and a parked match's clone is taken anew.
func (m *Matcher) setDerived(tp *tablePlan, d Derivation, ev *Event) {
	for i := len(m.derivedBy) - 1; i >= 0; i-- {
		b := m.derivedBy[i]
		if b.Column != d.Column {
			continue
		}
		if b.Func == d.Func && slices.Equal(b.Args, d.Args) {
			return
		}
		ev.Set(d.Column, m.derive(d, ev))
		m.derivedBy = append(m.derivedBy, d)
		m.clone = nil
		for ci := range tp.cands {
			if tp.cands[ci].Column == d.Column && m.done[ci] {
				m.done[ci], m.nonEmpty[ci] = false, false
				m.hits = slices.DeleteFunc(m.hits, func(h hit) bool { return h.cand == ci })
			}
		}
		return
	}
	if _, ok := ev.Get(d.Column); ok {
		return
	}
	ev.Set(d.Column, m.derive(d, ev))
	m.derivedBy = append(m.derivedBy, d)
}

// derive computes a derived column into the matcher's arena.
func (m *Matcher) derive(d Derivation, ev *Event) string {
	start := len(m.derived)
	switch d.Func {
	case "pa_url":
		m.derived = appendPAURL(m.derived, ev.Value(d.Args[0]), ev.Value(d.Args[1]), ev.Value(d.Args[2]))
	case "kql_pa_url_r01", "kql_pa_url_r07", "kql_pa_url_r39":
		m.derived = append(m.derived, kqlPAURL(d.Func, ev.Value(d.Args[0]), ev.Value(d.Args[1]), ev.Value(d.Args[2]))...)
	}
	if len(m.derived) == start {
		return ""
	}
	// If append moved the arena, earlier values keep the old array alive.
	return unsafe.String(&m.derived[start], len(m.derived)-start)
}

// appendPAURL appends the URL of a Palo Alto "url" row as R01/R07/R39 build it:
// RequestURL without surrounding quotes, or — when RequestURL is empty and
// the extensions are not PAN-OS key/values — the first quote-free run of
// AdditionalExtensions; then a scheme, https when ApplicationProtocol is
// "ssl", added only when the value has none (Sentinel's R01/R39 prefix
// "http://" to "https://…" values: quirk fixed, spec T16).
func appendPAURL(dst []byte, requestURL, ext, appProto string) []byte {
	u := strings.Trim(requestURL, `"`)
	lower := false
	if requestURL == "" && !(len(ext) >= 5 && strings.EqualFold(ext[:5], "PanOS")) {
		e := strings.TrimLeft(ext, `"`)
		if i := strings.IndexByte(e, '"'); i >= 0 {
			e = e[:i]
		}
		u, lower = e, true
	}
	if u != "" && schemeEnd(u) < 0 {
		if strings.EqualFold(appProto, "ssl") {
			dst = append(dst, "https://"...)
		} else {
			dst = append(dst, "http://"...)
		}
	}
	if lower {
		return appendLower(dst, u)
	}
	return append(dst, u...)
}

// kqlPAURL is PA_Url as the Sentinel rule fn names builds it (spec §1 R01,
// R07, R39; T16), on RequestURL, AdditionalExtensions, ApplicationProtocol:
//   - R01: RequestURL without surrounding quotes, or when it is empty and
//     AdditionalExtensions does not start with "PanOS", the first
//     quote-free run of the lower-cased AdditionalExtensions; R39 the same
//     without the PanOS test; R07 reads coalesce(RequestURL, "None"), so
//     never AdditionalExtensions;
//   - R01/R39 prefix "http://" unless the value starts with "http://" on a
//     non-ssl row, and "https://" unless it starts with "https://" on an
//     ssl row: "https://a" on a web-browsing row becomes "http://https://a";
//     R07 prefixes only values with neither scheme (and not "None") on a
//     non-ssl row, but "https://" to an ssl row's "http://a".
//
// KQL's startswith and =~ ignore case. The result is "" when it has no
// "scheme://" (R07's "None"): parse_url finds no host in it.
func kqlPAURL(fn, requestURL, ext, appProto string) string {
	ssl := strings.EqualFold(appProto, "ssl")
	starts := func(s, p string) bool { return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) }
	u := strings.Trim(requestURL, `"`)
	switch fn {
	case "kql_pa_url_r01", "kql_pa_url_r39":
		if requestURL == "" && (fn == "kql_pa_url_r39" || !starts(ext, "PanOS")) {
			// extract("([^\"]+)", 1, tolower(…)): the first run without quotes.
			e := strings.TrimLeft(strings.ToLower(ext), `"`)
			if j := strings.IndexByte(e, '"'); j >= 0 {
				e = e[:j]
			}
			u = e
		}
		switch {
		case !starts(u, "http://") && !ssl:
			u = "http://" + u
		case !starts(u, "https://") && ssl:
			u = "https://" + u
		}
	case "kql_pa_url_r07":
		if requestURL == "" {
			u = "None"
		}
		none := strings.EqualFold(u, "None") || strings.EqualFold(u, "http://None") || strings.EqualFold(u, "https://None")
		if !none && !starts(u, "http://") && !starts(u, "https://") && !ssl {
			u = "http://" + u
		}
		if !none && !starts(u, "https://") && ssl {
			u = "https://" + u
		}
	}
	if schemeEnd(u) < 0 {
		return ""
	}
	return u
}
