package harness

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"timap/bench/workload"
	"timap/engine"
)

// genVersion changes whenever generation changes, so cached workloads of
// an older generator are not reused.
const genVersion = 3

// Params are what a cached workload depends on; their hash names its
// folder under the cache.
type Params struct {
	Version int
	Seed    uint64
	Scale   int
	Events  int
	HitRate float64
	Now     time.Time
	// Data is the absolute shared data folder, or "" for the fallback
	// (examples/indicators, built-in CEF shapes, synthetic domains).
	Data    string
	Updates int
}

// EventFile is one generated event file: rows of Table and, in time order
// among them, Partners rows of the tables Table's rules join (a Type key
// names each row's table). Rows counts every line.
type EventFile struct {
	Table, Format, Path string
	Rows, Hits          int
	Bytes               int64
	Partners            map[string]int `json:",omitempty"`
}

// Manifest describes a generated workload; it is written last, so a
// folder without one is incomplete and is generated again.
type Manifest struct {
	Params Params
	// Indicators is the number of distinct ids, Records the versions
	// written, Live the ids whose newest version is active.
	Indicators, Records, Live int
	PerType                   map[string]int
	FeedIndicators            int
	STIXObjects               int
	FeedDir, STIXDir          string
	SideFile, UpdateFile      string
	Events                    []EventFile
	// End is the last event time.
	End        time.Time
	GenSeconds float64
	// Source says where the material came from.
	Source string
}

// Workload is a prepared, cached workload.
type Workload struct {
	Dir      string
	Manifest Manifest
}

// params of cfg at one scale.
func (cfg *Config) params(scale int) Params {
	p := Params{Version: genVersion, Seed: cfg.Seed, Scale: scale, Events: cfg.Events, HitRate: cfg.HitRate, Now: cfg.Now, Updates: cfg.Updates}
	if _, err := os.Stat(filepath.Join(cfg.Data, "feeds")); err == nil {
		p.Data, _ = filepath.Abs(cfg.Data)
	}
	return p
}

// workloadDir is the cache folder of p.
func (cfg *Config) workloadDir(p Params) string {
	b, _ := json.Marshal(p)
	h := sha256.Sum256(b)
	return filepath.Join(cfg.Cache, fmt.Sprintf("w-%s-%s", scaleName(p.Scale), hex.EncodeToString(h[:6])))
}

// loadWorkload returns the cached workload of scale, or nil when it has not
// been generated.
func (cfg *Config) loadWorkload(scale int) *Workload {
	dir := cfg.workloadDir(cfg.params(scale))
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil
	}
	w := &Workload{Dir: dir}
	if json.Unmarshal(b, &w.Manifest) != nil || w.Manifest.FeedDir != filepath.Join(dir, "indicators", "feed") {
		return nil // feed ids are seeded with the feed's path: a moved cache is stale
	}
	return w
}

// generate builds the workload of scale into the cache (seeded: the same
// parameters give the same files).
func (cfg *Config) generate(scale int, ui *progress) (*Workload, error) {
	start := time.Now()
	p := cfg.params(scale)
	dir := cfg.workloadDir(p)
	os.RemoveAll(dir)
	if err := os.MkdirAll(filepath.Join(dir, "events"), 0o755); err != nil {
		return nil, err
	}
	m := Manifest{Params: p, PerType: map[string]int{}, Source: "real"}
	seedRoots := []string{filepath.Join(cfg.Data, "feeds"), filepath.Join(cfg.Data, "stix", "v20"), filepath.Join(cfg.Data, "stix", "v21")}
	if p.Data == "" {
		seedRoots, m.Source = []string{filepath.Join(cfg.Root, "examples", "indicators")}, "fallback: examples/indicators, built-in CEF shapes, synthetic domains"
	}
	ui.phase("seeds")
	seeds, err := workload.LoadSeeds(seedRoots, cfg.Now)
	if err != nil {
		return nil, err
	}
	// Events arrive 125 ms apart (two interleaved CEF streams), so the span
	// is Events/8 seconds; DnsEvents and EmailUrlInfo cover the same span.
	m.End = cfg.Now.Add(time.Duration(cfg.Events) * 125 * time.Millisecond)
	ui.phase("indicators")
	recs, err := workload.BuildSet(seeds, workload.SetConfig{N: scale, Seed: cfg.Seed, Now: cfg.Now, Start: cfg.Now, End: m.End})
	if err != nil {
		return nil, err
	}
	seeds = nil
	sf, err := workload.WriteSet(filepath.Join(dir, "indicators"), recs)
	if err != nil {
		return nil, err
	}
	m.FeedDir, m.STIXDir, m.SideFile = sf.FeedDir, sf.STIXDir, sf.SideFile
	m.FeedIndicators, m.STIXObjects, m.Records = sf.FeedIndicators, sf.STIXObjects, len(recs)
	live := workload.Live(recs)
	m.Indicators = len(live)
	for i := range recs {
		if i < scale {
			m.PerType[recs[i].Type.String()]++
		}
	}
	for _, ok := range live {
		if ok {
			m.Live++
		}
	}
	m.UpdateFile = filepath.Join(dir, "update.json")
	if err := workload.WriteBundle(m.UpdateFile, workload.UpdateSet(recs, cfg.Updates, cfg.Seed, cfg.Now)); err != nil {
		return nil, err
	}
	pools := workload.PoolsFromRecords(recs, cfg.Seed)
	recs = nil
	var real []string
	if p.Data != "" {
		if pools.BenignDomains, err = workload.LoadBenignDomains(filepath.Join(cfg.Data, "benign", "misp-warninglist-cloudflare-top100k.json")); err != nil {
			return nil, err
		}
		if real, err = workload.LoadRealCEF(filepath.Join(cfg.Data, "logs", "cef")); err != nil {
			return nil, err
		}
	}
	if m.Events, err = cfg.writeEvents(dir, pools, real, ui); err != nil {
		return nil, err
	}
	m.GenSeconds = time.Since(start).Seconds()
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644); err != nil {
		return nil, err
	}
	return &Workload{Dir: dir, Manifest: m}, nil
}

// writeEvents writes the four event files of a workload.
func (cfg *Config) writeEvents(dir string, pools *workload.Pools, real []string, ui *progress) ([]EventFile, error) {
	half := max(cfg.Events/2, 1)
	files := []EventFile{
		{Table: "CommonSecurityLog", Format: "cef", Path: filepath.Join(dir, "events", "CommonSecurityLog.cef"), Rows: cfg.Events},
		{Table: "CommonSecurityLog", Format: "ndjson", Path: filepath.Join(dir, "events", "CommonSecurityLog.ndjson"), Rows: cfg.Events},
		{Table: "DnsEvents", Format: "ndjson", Path: filepath.Join(dir, "events", "DnsEvents.ndjson"), Rows: half},
		// The mails of the links: R05 and R37 join EmailEvents.
		{Table: "EmailUrlInfo", Format: "ndjson", Path: filepath.Join(dir, "events", "EmailUrlInfo+EmailEvents.ndjson"), Rows: 2 * half},
	}
	create := func(i int) (*os.File, io.Writer, error) {
		f, err := os.Create(files[i].Path)
		if err != nil {
			return nil, nil, err
		}
		return f, ui.lineCounter(f, int64(files[i].Rows), "generate "+filepath.Base(files[i].Path)), nil
	}
	wcfg := workload.Config{N: cfg.Events, HitRate: cfg.HitRate, Seed: cfg.Seed, Start: cfg.Now}
	cefF, cefW, err := create(0)
	if err != nil {
		return nil, err
	}
	ndF, err := os.Create(files[1].Path)
	if err != nil {
		return nil, err
	}
	hits, err := workload.WriteCSL(cefW, ndF, real, pools, wcfg)
	files[0].Hits, files[1].Hits = hits, hits
	for _, f := range []*os.File{cefF, ndF} {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return nil, fmt.Errorf("bench: CommonSecurityLog: %w", err)
	}
	gens := []func(io.Writer, *workload.Pools, workload.Config) (int, error){workload.GenerateDNS,
		func(w io.Writer, p *workload.Pools, c workload.Config) (int, error) {
			hits, mails, err := workload.GenerateEmail(w, p, c)
			files[3].Rows, files[3].Partners = half+mails, map[string]int{"EmailEvents": mails}
			return hits, err
		}}
	for i, gen := range gens {
		f, w, err := create(2 + i)
		if err != nil {
			return nil, err
		}
		c := wcfg
		c.N, c.Seed = half, cfg.Seed+uint64(2+i)
		files[2+i].Hits, err = gen(w, pools, c)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("bench: %s: %w", files[2+i].Table, err)
		}
	}
	for i := range files {
		st, err := os.Stat(files[i].Path)
		if err != nil {
			return nil, err
		}
		files[i].Bytes = st.Size()
	}
	return files, nil
}

// countLines counts '\n' in b (progress of a generated file).
func countLines(b []byte) int { return bytes.Count(b, []byte{'\n'}) }

// engineTypes lists the observable types in report order.
var engineTypes = []engine.ObservableType{engine.TypeIP, engine.TypeDomain, engine.TypeURL, engine.TypeEmail, engine.TypeFileHash}
