package engine

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"

	"github.com/bits-and-blooms/bloom/v3"
	"github.com/gaissmai/bart"
	"golang.org/x/net/publicsuffix"
)

// Posting is one entry of an index: an indicator and the observable of it
// that the looked-up value matched. Both are owned by the Store and
// immutable.
type Posting struct {
	Ind *Indicator
	Obs *Observable
}

// indexSet holds one immutable index per observable type. A Snapshot is a
// large base indexSet plus a small delta indexSet (see Store).
type indexSet struct {
	// ip maps every indicator range to the postings of that range and of all
	// ranges containing it, so that one longest-prefix lookup finds every
	// indicator whose range contains an address (bart was faster than
	// cidranger's ContainingNetworks; see BenchmarkIPIndex).
	ip     *bart.Table[[]Posting]
	domain map[string]domainEntry
	url    map[string][]Posting
	email  map[string][]Posting
	hash   hashSet
	// file maps normalised file names, fileStem their stems (names
	// without the last extension) to the same postings.
	file, fileStem map[string][]Posting
	// fileKQLStem maps the second-to-last dot-separated part of file names
	// (KQL's split(FileName, ".")[-2]: "b" for "a.b.exe"), for the compat
	// hunts.
	fileKQLStem map[string][]Posting
	counts      [LastType + 1]int
}

type domainEntry struct {
	// publicSuffix marks a name that is itself a public suffix ("co.uk",
	// "duckdns.org"): it matches only exactly, never as a parent of a
	// looked-up name, since every customer of that suffix would alert.
	publicSuffix bool
	postings     []Posting
}

// hashSet is an exact set fronted by a bloom filter: most looked-up hashes
// are benign, and the filter answers "no" for them from a few cache lines
// instead of hashing the digest into a large map.
type hashSet struct {
	filter *bloom.BloomFilter
	m      map[string][]Posting
}

// bloomFalsePositive is the target false-positive rate of hash filters.
const bloomFalsePositive = 0.001

// buildIndexes indexes the observables of the live indicators in inds.
func buildIndexes(inds []*Indicator) *indexSet {
	// Size the maps first: growing maps of 10^5–10^6 keys dominated the
	// build time.
	var n [LastType + 1]int
	for _, ind := range inds {
		if ind.Active {
			for _, o := range ind.Observables {
				n[o.Type]++
			}
		}
		for _, v := range ind.older {
			if v.Active {
				for _, o := range v.Observables {
					n[o.Type]++
				}
			}
		}
	}
	x := &indexSet{
		ip:          new(bart.Table[[]Posting]),
		domain:      make(map[string]domainEntry, n[TypeDomain]),
		url:         make(map[string][]Posting, n[TypeURL]),
		email:       make(map[string][]Posting, n[TypeEmail]),
		file:        make(map[string][]Posting, n[TypeFileName]),
		fileStem:    make(map[string][]Posting, n[TypeFileName]),
		fileKQLStem: make(map[string][]Posting, n[TypeFileName]),
	}
	byPrefix := make(map[netip.Prefix][]Posting, n[TypeIP])
	var ps []Posting // one indicator's postings
	hashes := make(map[string][]Posting, n[TypeFileHash])
	for _, ind := range inds {
		if len(ind.older) > 0 {
			ps = versionPostings(ps[:0], ind)
		} else if ind.Active {
			ps = ps[:0]
			for i := range ind.Observables {
				ps = append(ps, Posting{ind, &ind.Observables[i]})
			}
		} else {
			continue
		}
		for _, p := range ps {
			o := p.Obs
			x.counts[o.Type]++
			switch o.Type {
			case TypeIP:
				byPrefix[o.Prefix] = append(byPrefix[o.Prefix], p)
			case TypeDomain:
				e := x.domain[o.Value]
				e.postings = append(e.postings, p)
				x.domain[o.Value] = e
			case TypeURL:
				x.url[o.Value] = append(x.url[o.Value], p)
			case TypeEmail:
				x.email[o.Value] = append(x.email[o.Value], p)
			case TypeFileHash:
				hashes[o.Value] = append(hashes[o.Value], p)
			case TypeFileName:
				x.file[o.Value] = append(x.file[o.Value], p)
				if stem := FileStem(o.Value); stem != "" {
					x.fileStem[stem] = append(x.fileStem[stem], p)
					if i := strings.LastIndexByte(stem, '.'); i >= 0 {
						stem = stem[i+1:]
					}
					x.fileKQLStem[stem] = append(x.fileKQLStem[stem], p)
				} else {
					// No extension: the name is its own stem ("xmrig"); KQL's
					// split(FileName, ".")[-2] has nothing there.
					x.fileStem[o.Value] = append(x.fileStem[o.Value], p)
				}
			}
		}
	}
	// Insert shorter ranges first so that each range inherits the postings
	// of the ranges that contain it.
	prefixes := make([]netip.Prefix, 0, len(byPrefix))
	for p := range byPrefix {
		prefixes = append(prefixes, p)
	}
	slices.SortFunc(prefixes, func(a, b netip.Prefix) int {
		return cmp.Compare(a.Bits()-a.Addr().BitLen(), b.Bits()-b.Addr().BitLen())
	})
	for _, p := range prefixes {
		own := byPrefix[p]
		if parent, ok := x.ip.LookupPrefix(p); ok {
			own = append(slices.Clip(parent), own...)
		}
		x.ip.Insert(p, own)
	}
	for name, e := range x.domain {
		if ps, _ := publicsuffix.PublicSuffix(name); ps == name {
			e.publicSuffix = true
			x.domain[name] = e
		}
	}
	x.hash.m = hashes
	if len(hashes) > 0 {
		x.hash.filter = bloom.NewWithEstimates(uint(len(hashes)), bloomFalsePositive)
		for h := range hashes {
			x.hash.filter.AddString(h)
		}
	}
	return x
}

// versionPostings appends the postings of ind's active versions (kept by
// StoreOptions.KeepVersions), each distinct observable once and all under
// ind, the newest version: compat mode picks the version per rule.
func versionPostings(dst []Posting, ind *Indicator) []Posting {
	start := len(dst)
	for v := range ind.versions() {
		if !v.Active {
			continue
		}
		for i := range v.Observables {
			o := &v.Observables[i]
			if !slices.ContainsFunc(dst[start:], func(p Posting) bool { return *p.Obs == *o }) {
				dst = append(dst, Posting{ind, o})
			}
		}
	}
	return dst
}

func (x *indexSet) lookupIP(dst []Posting, a netip.Addr, dead map[string]struct{}) []Posting {
	if ps, ok := x.ip.Lookup(a); ok {
		return appendLive(dst, ps, dead)
	}
	return dst
}

// lookupDomain appends the postings of name and, when subdomains is set, of
// every parent of name that is not a public suffix. name is a normalised
// domain (AppendDomain); parents are taken label-wise, so "www.michigan.org"
// never reaches "higan.org".
func (x *indexSet) lookupDomain(dst []Posting, name []byte, subdomains bool, dead map[string]struct{}) []Posting {
	if e, ok := x.domain[string(name)]; ok {
		dst = appendLive(dst, e.postings, dead)
	}
	if !subdomains {
		return dst
	}
	for i := 0; i < len(name); i++ {
		if name[i] != '.' {
			continue
		}
		if e, ok := x.domain[string(name[i+1:])]; ok && !e.publicSuffix {
			dst = appendLive(dst, e.postings, dead)
		}
	}
	return dst
}

func (x *indexSet) lookupString(dst []Posting, t ObservableType, v []byte, dead map[string]struct{}) []Posting {
	var m map[string][]Posting
	switch t {
	case TypeURL:
		m = x.url
	case TypeEmail:
		m = x.email
	case TypeFileName:
		m = x.file
	case typeFileStem:
		m = x.fileStem
	case typeFileKQLStem:
		m = x.fileKQLStem
	case TypeFileHash:
		if x.hash.filter == nil || !x.hash.filter.Test(v) {
			return dst
		}
		m = x.hash.m
	}
	if ps, ok := m[string(v)]; ok {
		return appendLive(dst, ps, dead)
	}
	return dst
}

// typeFileStem looks a value up among file-name stems (the "stem"
// extractor); it is no observable type of its own.
const typeFileStem = LastType + 1

// typeFileKQLStem looks a value up among the parts before the last
// extension (the "kql_stem" extractor).
const typeFileKQLStem = LastType + 2

// appendLive appends the postings of ps whose indicator is not superseded
// (dead holds the IndicatorIds a newer delta replaced or removed).
func appendLive(dst, ps []Posting, dead map[string]struct{}) []Posting {
	if len(dead) == 0 {
		return append(dst, ps...)
	}
	for _, p := range ps {
		if _, gone := dead[p.Ind.IndicatorId]; !gone {
			dst = append(dst, p)
		}
	}
	return dst
}
