package workload

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"timap/connectors/feed"
	"timap/engine"
)

// BundleSize is the number of STIX objects per bundle file: real TAXII
// pages and exports are bundles of thousands, and the loader reads a whole
// document at once.
const BundleSize = 10000

// SetFiles says where WriteSet put an indicator set.
type SetFiles struct {
	// FeedDir holds one flat feed per type (ip.txt, domain.txt, …), STIXDir
	// the STIX 2.1 bundles, SideFile the NDJSON side-file for the SQL
	// baseline: one row per record (every version), with the text written
	// to the files.
	FeedDir, STIXDir, SideFile string
	// FeedIndicators and STIXObjects count what was written.
	FeedIndicators, STIXObjects int
}

// WriteSet writes recs under dir: flat feeds, STIX bundles and the
// side-file. It sets the ID of every feed record: the loader seeds feed ids
// with the file's path (files.LoadIndicators passes it cleaned, with
// forward slashes), so the workload must be loaded from this dir.
func WriteSet(dir string, recs []Record) (SetFiles, error) {
	sf := SetFiles{FeedDir: filepath.Join(dir, "feed"), STIXDir: filepath.Join(dir, "stix"), SideFile: filepath.Join(dir, "indicators.ndjson")}
	for _, d := range []string{sf.FeedDir, sf.STIXDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return sf, err
		}
	}
	feeds := map[engine.ObservableType]*bufio.Writer{}
	var closers []*os.File
	defer func() {
		for _, f := range closers {
			f.Close()
		}
	}()
	var stix []Record
	for i := range recs {
		r := &recs[i]
		if r.STIX {
			stix = append(stix, *r)
			continue
		}
		path := filepath.Join(sf.FeedDir, FeedSource[r.Type]+".txt")
		r.ID = feed.IndicatorID(filepath.ToSlash(filepath.Clean(path)), r.Type, r.Norm)
		w := feeds[r.Type]
		if w == nil {
			f, err := os.Create(path)
			if err != nil {
				return sf, err
			}
			closers = append(closers, f)
			w = bufio.NewWriterSize(f, 1<<20)
			fmt.Fprintf(w, "# timap benchmark feed: %s indicators, one per line\n", r.Type)
			feeds[r.Type] = w
		}
		w.WriteString(r.Value)
		w.WriteByte('\n')
		sf.FeedIndicators++
	}
	for t, w := range feeds {
		if err := w.Flush(); err != nil {
			return sf, fmt.Errorf("workload: feed %s: %w", t, err)
		}
	}
	for i := 0; i < len(stix); i += BundleSize {
		path := filepath.Join(sf.STIXDir, fmt.Sprintf("bundle-%05d.json", i/BundleSize))
		if err := WriteBundle(path, stix[i:min(i+BundleSize, len(stix))]); err != nil {
			return sf, err
		}
	}
	sf.STIXObjects = len(stix)
	return sf, writeSideFile(sf.SideFile, recs)
}

// stixObject is the STIX 2.1 indicator WriteBundle writes.
type stixObject struct {
	Type           string   `json:"type"`
	SpecVersion    string   `json:"spec_version"`
	ID             string   `json:"id"`
	Created        string   `json:"created"`
	Modified       string   `json:"modified"`
	Name           string   `json:"name"`
	IndicatorTypes []string `json:"indicator_types"`
	Pattern        string   `json:"pattern"`
	PatternType    string   `json:"pattern_type"`
	ValidFrom      string   `json:"valid_from"`
	ValidUntil     string   `json:"valid_until,omitempty"`
	Revoked        bool     `json:"revoked,omitempty"`
}

// WriteBundle writes recs as one STIX 2.1 bundle of indicator objects with
// single-comparison patterns.
func WriteBundle(path string, recs []Record) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(w, `{"type":"bundle","id":"bundle--%s","objects":[`, strings.TrimPrefix(stixID(uint64(len(recs)), 7), "indicator--"))
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i, r := range recs {
		if i > 0 {
			w.WriteString(",\n")
		}
		o := stixObject{Type: "indicator", SpecVersion: "2.1", ID: r.ID,
			Created: stamp(r.Modified), Modified: stamp(r.Modified), Name: r.Type.String() + " indicator",
			IndicatorTypes: []string{"malicious-activity"}, Pattern: Pattern(r.Type, r.Value), PatternType: "stix",
			ValidFrom: "2020-01-01T00:00:00Z", Revoked: r.Revoked}
		if !r.ValidUntil.IsZero() {
			o.ValidUntil = stamp(r.ValidUntil)
		}
		if err := enc.Encode(o); err != nil {
			return fmt.Errorf("workload: %s: %w", path, err)
		}
	}
	w.WriteString("]}\n")
	if err := w.Flush(); err != nil {
		return fmt.Errorf("workload: %s: %w", path, err)
	}
	return f.Close()
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Pattern is the STIX pattern of one value of type t.
func Pattern(t engine.ObservableType, v string) string {
	path := ""
	switch t {
	case engine.TypeIP:
		path = "ipv4-addr:value"
		if strings.Contains(v, ":") {
			path = "ipv6-addr:value"
		}
	case engine.TypeDomain:
		path = "domain-name:value"
	case engine.TypeURL:
		path = "url:value"
	case engine.TypeEmail:
		path = "email-addr:value"
	case engine.TypeFileHash:
		path = "file:hashes.'" + map[int]string{32: "MD5", 40: "SHA-1", 64: "SHA-256", 128: "SHA-512"}[len(v)] + "'"
	}
	q := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v)
	return "[" + path + " = '" + q + "']"
}

// SideRow is one row of the SQL side-file: one version of one indicator,
// with the value as written to the feed or STIX file. Seq is the order
// timap reads versions in (ties of Modified: the first one read wins).
type SideRow struct {
	IndicatorId        string
	Type               string
	Value              string
	Modified           time.Time
	Active             bool
	ExpirationDateTime *time.Time `json:",omitempty"`
	Seq                int
}

// writeSideFile writes one row per record. Versions of one id never share
// a Modified, so Seq (record order) only breaks ties that do not occur.
func writeSideFile(path string, recs []Record) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i, r := range recs {
		row := SideRow{IndicatorId: r.ID, Type: r.Type.String(), Value: r.Value, Modified: r.Modified.UTC(), Active: !r.Revoked, Seq: i}
		if !r.ValidUntil.IsZero() {
			t := r.ValidUntil.UTC()
			row.ExpirationDateTime = &t
		}
		if err := enc.Encode(row); err != nil {
			return fmt.Errorf("workload: %s: %w", path, err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("workload: %s: %w", path, err)
	}
	return f.Close()
}

// UpdateSet makes n indicator versions to apply while matching runs: 40%
// new indicators (mutated values, new STIX ids), 40% newer versions of
// existing STIX indicators (expiry removed), 20% revocations of existing
// STIX indicators — new indicators instead once every STIX indicator has
// one. Their Modified is after every version in recs.
func UpdateSet(recs []Record, n int, seed uint64, now time.Time) []Record {
	r := rand.New(rand.NewPCG(seed^0x51ed27, seed+3))
	b := builder{r: r, cfg: SetConfig{Seed: seed ^ 0xdeadbeef, Now: now}, seen: map[string]struct{}{}}
	var stix []int // distinct STIX ids, first version
	seen := map[string]bool{}
	for i := range recs {
		if recs[i].STIX && !recs[i].Revoked && !seen[recs[i].ID] {
			seen[recs[i].ID] = true
			stix = append(stix, i)
		}
	}
	used := map[string]bool{}
	out := make([]Record, 0, n)
	later := now.Add(time.Hour)
	for len(out) < n {
		base := recs[r.IntN(len(recs))]
		switch k := len(out) % 5; {
		case k < 2 || len(used) >= len(stix): // also once every STIX indicator has a new version
			m, ok := b.mutate(Seed{base.Type, base.Norm})
			if !ok {
				continue
			}
			o, err := engine.NewObservable(m.Type, TIColumn[m.Type], m.Value, "")
			if err != nil {
				continue
			}
			out = append(out, Record{ID: stixID(seed^0x77, uint64(len(out))), Type: m.Type, Value: m.Value, Norm: o.Value, STIX: true, Modified: later})
		default:
			v := recs[stix[r.IntN(len(stix))]]
			if used[v.ID] {
				continue
			}
			used[v.ID] = true
			v.Modified, v.ValidUntil, v.Revoked = later, time.Time{}, k == 4
			out = append(out, v)
		}
	}
	return out
}

// PoolsFromRecords fills the bad-value pools of event generation with the
// normalised values of every record, dead versions included (rows that
// carry them must not alert). A range contributes a random address inside
// it.
func PoolsFromRecords(recs []Record, seed uint64) *Pools {
	r := rand.New(rand.NewPCG(seed^0x7f4a7c15, seed))
	p := &Pools{}
	for _, rec := range recs {
		switch rec.Type {
		case engine.TypeIP:
			pfx, err := engine.ParsePrefix(rec.Norm)
			if err != nil {
				continue
			}
			p.IPs = append(p.IPs, randomInside(r, pfx).String())
		case engine.TypeDomain:
			p.Domains = append(p.Domains, rec.Norm)
		case engine.TypeURL:
			p.URLs = append(p.URLs, rec.Norm)
		case engine.TypeEmail:
			p.Emails = append(p.Emails, rec.Norm)
		case engine.TypeFileHash:
			p.Hashes = append(p.Hashes, rec.Norm)
		}
	}
	return p
}

// randomInside returns a random address of p.
func randomInside(r *rand.Rand, p netip.Prefix) netip.Addr {
	if p.IsSingleIP() {
		return p.Addr()
	}
	b := p.Addr().As16()
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	host := 128 - p.Bits()
	if p.Addr().Is4() {
		host = 32 - p.Bits()
	}
	rh, rl := r.Uint64(), r.Uint64()
	if host < 64 {
		rh, rl = 0, rl&(1<<host-1)
	} else if host < 128 {
		rh &= 1<<(host-64) - 1
	}
	binary.BigEndian.PutUint64(b[:8], hi|rh)
	binary.BigEndian.PutUint64(b[8:], lo|rl)
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		a = a.Unmap()
	}
	return a
}
