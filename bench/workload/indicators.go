package workload

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"

	"timap/connectors/feed"
	"timap/connectors/files"
	"timap/engine"
)

// Seed is one normalised observable of the real corpora, the material
// indicator sets are built from.
type Seed struct {
	Type  engine.ObservableType
	Value string
}

// LoadSeeds loads the indicator files under roots (../shared/data/feeds and
// ../shared/data/stix/v2*) with timap's own loaders and returns every
// distinct observable of a live indicator of the five types the
// benchmarked rules look up (IP, domain, URL, e-mail, file hash), sorted so
// that what is built from them does not depend on the order files were
// read in.
func LoadSeeds(roots []string, now time.Time) ([]Seed, error) {
	seen := map[Seed]struct{}{}
	_, err := files.LoadIndicators(roots, "auto", now, func(inds []*engine.Indicator) {
		for _, ind := range inds {
			if !ind.Active {
				continue
			}
			for _, o := range ind.Observables {
				if _, ok := TIColumn[o.Type]; ok { // the types the rules and the SQL baseline look up
					seen[Seed{o.Type, o.Value}] = struct{}{}
				}
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("workload: seeds: %w", err)
	}
	seeds := make([]Seed, 0, len(seen))
	for s := range seen {
		seeds = append(seeds, s)
	}
	slices.SortFunc(seeds, func(a, b Seed) int { return cmp.Or(cmp.Compare(a.Type, b.Type), strings.Compare(a.Value, b.Value)) })
	return seeds, nil
}

// Record is one version of one indicator of a generated set: what is
// written to the feed or STIX files and, as it is, to the SQL side-file.
type Record struct {
	// ID is the IndicatorId timap gives it: the STIX id, or for a feed
	// record feed.IndicatorID of its feed file's path, type and normalised
	// value (set by WriteSet).
	ID   string
	Type engine.ObservableType
	// Value is the text written to the file (sometimes in another case than
	// Norm, so that both engines must normalise); Norm is what timap makes
	// of it.
	Value, Norm string
	// STIX records go to STIX bundles, the others to flat feeds.
	STIX bool
	// Modified orders versions of one ID; ValidUntil is STIX valid_until
	// (zero: never expires); Revoked is STIX revoked.
	Modified, ValidUntil time.Time
	Revoked              bool
}

// SetConfig configures BuildSet.
type SetConfig struct {
	// N is the number of distinct indicator ids.
	N    int
	Seed uint64
	// Now is the load time (Modified of feed indicators).
	Now time.Time
	// Start and End bound the event times: some STIX indicators expire in
	// between, so that the expiry rule decides matches.
	Start, End time.Time
	// STIXShare is the fraction of indicators written as STIX (default 1/4).
	STIXShare float64
}

// FeedSource is the feed file (and SourceSystem) of each type's flat-feed
// indicators: the feed id depends on it.
var FeedSource = map[engine.ObservableType]string{
	engine.TypeIP: "ip", engine.TypeDomain: "domain", engine.TypeURL: "url",
	engine.TypeEmail: "email", engine.TypeFileHash: "filehash",
}

// TIColumn is the TI column each type's observables are admitted under.
var TIColumn = map[engine.ObservableType]string{
	engine.TypeIP: "NetworkIP", engine.TypeDomain: "DomainName", engine.TypeURL: "Url",
	engine.TypeEmail: "EmailSenderAddress", engine.TypeFileHash: "FileHashValue",
}

// BuildSet makes cfg.N indicators from seeds: a seeded sample of the real
// values when there are enough, else all of them plus deterministic
// mutations (a new address in the same kind of range, a new label in front
// of a domain, a new path segment in a URL, a new local part, new hex
// digits; a mutated range is at most a /24 or /48). A quarter go to STIX, and of those some expire during the event
// span, some are already expired, some get a newer revoked version, some an
// older (stale) version with another value, and some repeat the value of a
// feed indicator — so the lifecycle and "every indicator alerts" rules
// decide matches. Records are returned in file order: all versions, the
// extra ones after the originals.
func BuildSet(seeds []Seed, cfg SetConfig) ([]Record, error) {
	if len(seeds) == 0 {
		return nil, fmt.Errorf("workload: no seed indicators")
	}
	if cfg.STIXShare <= 0 {
		cfg.STIXShare = 0.25
	}
	r := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x2545f4914f6cdd1d))
	order := r.Perm(len(seeds))
	b := builder{r: r, cfg: cfg, seen: make(map[string]struct{}, cfg.N)}
	recs := make([]Record, 0, cfg.N+cfg.N/20)
	for i := 0; len(recs) < cfg.N; i++ {
		s := seeds[order[i%len(seeds)]]
		round := i / len(seeds)
		if round > 0 {
			var ok bool
			if s, ok = b.mutate(s); !ok {
				continue
			}
		}
		rec, ok := b.record(s, len(recs))
		if ok {
			recs = append(recs, rec)
		}
		if i > 64*cfg.N+len(seeds) {
			return nil, fmt.Errorf("workload: cannot make %d distinct indicators from %d seeds", cfg.N, len(seeds))
		}
	}
	return append(recs, b.extraVersions(recs)...), nil
}

type builder struct {
	r    *rand.Rand
	cfg  SetConfig
	seen map[string]struct{} // type byte + normalised value
}

// record turns a seed into the i-th record, or refuses a value already used.
func (b *builder) record(s Seed, i int) (Record, bool) {
	raw := b.spell(s)
	o, err := engine.NewObservable(s.Type, TIColumn[s.Type], raw, "")
	if err != nil {
		return Record{}, false
	}
	key := string(rune(s.Type)) + o.Value
	if _, dup := b.seen[key]; dup {
		return Record{}, false
	}
	b.seen[key] = struct{}{}
	rec := Record{Type: s.Type, Value: raw, Norm: o.Value, Modified: b.cfg.Now}
	rec.STIX = b.r.Float64() < b.cfg.STIXShare || !feedSafe(s.Type, raw, o.Value)
	if rec.STIX {
		rec.ID = stixID(b.cfg.Seed, uint64(i))
		rec.Modified = b.cfg.Now.Add(-time.Duration(1+b.r.IntN(30*24)) * time.Hour)
		switch x := b.r.Float64(); {
		case x < 0.05: // expires while events arrive
			span := b.cfg.End.Sub(b.cfg.Start)
			rec.ValidUntil = b.cfg.Start.Add(time.Duration(b.r.Int64N(int64(span) + 1))).Truncate(time.Second)
		case x < 0.06: // expired before the first event
			rec.ValidUntil = b.cfg.Start.Add(-48 * time.Hour)
		}
	}
	// A feed record's id depends on the path of its feed file (the
	// loader seeds ids with it): WriteSet assigns it.
	return rec, true
}

// spell writes a normalised value as a file might: mostly as it is, 1 in 20
// in upper case (IPv6, domains, URLs, e-mails, hashes), which timap and the
// SQL baseline must both normalise away.
func (b *builder) spell(s Seed) string {
	if b.r.IntN(20) != 0 {
		return s.Value
	}
	if s.Type == engine.TypeIP && !strings.Contains(s.Value, ":") {
		return s.Value
	}
	return strings.ToUpper(s.Value)
}

// feedSafe reports whether raw survives a flat feed line as the value it
// is: no comment or separator characters, and detected as its own type with
// the same normalised value.
func feedSafe(t engine.ObservableType, raw, norm string) bool {
	if raw == "" || strings.ContainsAny(raw, " \t#;") {
		return false
	}
	dt, v := feed.Detect(raw)
	if dt != t {
		return false
	}
	o, err := engine.NewObservable(t, TIColumn[t], v, "")
	return err == nil && o.Value == norm
}

// extraVersions adds the lifecycle versions and duplicate-value indicators
// of the STIX records.
func (b *builder) extraVersions(recs []Record) []Record {
	var extra []Record
	var feedRecs []int
	for i := range recs {
		if !recs[i].STIX {
			feedRecs = append(feedRecs, i)
		}
	}
	for i := range recs {
		rec := recs[i]
		if !rec.STIX {
			continue
		}
		switch x := b.r.Float64(); {
		case x < 0.03: // a newer version revokes it
			v := rec
			v.Modified, v.Revoked = rec.Modified.Add(time.Hour), true
			extra = append(extra, v)
		case x < 0.05: // an older version with another value: stale
			if m, ok := b.mutate(Seed{rec.Type, rec.Norm}); ok {
				if o, err := engine.NewObservable(m.Type, TIColumn[m.Type], m.Value, ""); err == nil {
					v := rec
					v.Value, v.Norm, v.Modified = m.Value, o.Value, rec.Modified.Add(-24*time.Hour)
					extra = append(extra, v)
				}
			}
		case x < 0.07 && len(feedRecs) > 0: // a second indicator with a feed value
			f := recs[feedRecs[b.r.IntN(len(feedRecs))]]
			extra = append(extra, Record{ID: stixID(b.cfg.Seed, uint64(len(recs)+len(extra))), Type: f.Type,
				Value: f.Value, Norm: f.Norm, STIX: true, Modified: rec.Modified})
		}
	}
	return extra
}

// stixID is a deterministic STIX indicator id.
func stixID(seed, i uint64) string {
	var u [16]byte
	binary.BigEndian.PutUint64(u[:8], seed*0x9e3779b97f4a7c15^i)
	binary.BigEndian.PutUint64(u[8:], i*0xbf58476d1ce4e5b9+seed)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("indicator--%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}

// mutate derives a new value of the seed's type. It may return a value that
// is not admitted or already used; record refuses those.
func (b *builder) mutate(s Seed) (Seed, bool) {
	r := b.r
	switch s.Type {
	case engine.TypeIP:
		p, err := engine.ParsePrefix(s.Value)
		if err != nil {
			return s, false
		}
		// A mutated range is at most a /24 (IPv4) or /48 (IPv6): copies of
		// the real /10s and /12s would cover so much of the address space
		// that random addresses of ordinary rows would alert far above the
		// set hit rate.
		bits := p.Bits()
		if p.Addr().Is4() {
			bits = max(bits, 24)
		} else {
			bits = max(bits, 48)
		}
		q := randomPrefix(r, p.Addr().Is4(), bits)
		if q.IsSingleIP() {
			return Seed{s.Type, q.Addr().String()}, true
		}
		return Seed{s.Type, q.String()}, true
	case engine.TypeDomain:
		return Seed{s.Type, randomLabel(r) + "." + s.Value}, true
	case engine.TypeURL:
		i := strings.Index(s.Value, "://")
		if i < 0 {
			return s, false
		}
		j := strings.IndexByte(s.Value[i+3:], '/')
		if j < 0 {
			return Seed{s.Type, s.Value + "/" + randomLabel(r)}, true
		}
		at := i + 3 + j
		return Seed{s.Type, s.Value[:at] + "/" + randomLabel(r) + s.Value[at:]}, true
	case engine.TypeEmail:
		return Seed{s.Type, randomLabel(r) + "." + s.Value}, true
	case engine.TypeFileHash:
		const hexDigits = "0123456789abcdef"
		h := make([]byte, len(s.Value))
		for i := range h {
			h[i] = hexDigits[r.IntN(16)]
		}
		return Seed{s.Type, string(h)}, true
	}
	return s, false
}

func randomLabel(r *rand.Rand) string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 5+r.IntN(6))
	for i := range b {
		b[i] = letters[r.IntN(26+10*min(i, 1))]
	}
	return string(b)
}

// randomPrefix returns a random routable range of the given family and
// length (a single address for /32 and /128): IPv4 in 1.0.0.0–223.255.255.255,
// IPv6 in 2000::/3.
func randomPrefix(r *rand.Rand, v4 bool, bits int) netip.Prefix {
	for {
		var a netip.Addr
		if v4 {
			a = netip.AddrFrom4([4]byte{byte(1 + r.IntN(223)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
		} else {
			var b [16]byte
			binary.BigEndian.PutUint64(b[:8], r.Uint64())
			binary.BigEndian.PutUint64(b[8:], r.Uint64())
			b[0] = 0x20 | b[0]&0x1f
			a = netip.AddrFrom16(b)
		}
		p := netip.PrefixFrom(a, bits).Masked()
		if _, bad := engine.NonRoutable(p); !bad {
			return p
		}
	}
}

// Live reports whether the newest version of each id in recs is active,
// keyed by id: what timap's store keeps. Feed ids are set by WriteSet.
func Live(recs []Record) map[string]bool {
	newest := make(map[string]*Record, len(recs))
	for i := range recs {
		r := &recs[i]
		if old := newest[r.ID]; old == nil || r.Modified.After(old.Modified) {
			newest[r.ID] = r
		}
	}
	live := make(map[string]bool, len(newest))
	for id, r := range newest {
		live[id] = !r.Revoked
	}
	return live
}
