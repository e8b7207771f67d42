package workload

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"timap/connectors/cef"
)

// LoadRealCEF collects the CEF lines of the public parser test corpora
// under dir (../shared/data/logs/cef: Elastic Beats, jc, Graylog,
// netty-codec-syslog, liblognorm and SEKOIA fixtures) that parse as CEF.
func LoadRealCEF(dir string) ([]string, error) {
	var lines []string
	add := func(s string) {
		for _, l := range strings.Split(s, "\n") {
			if strings.Contains(l, "CEF:") {
				lines = append(lines, strings.TrimRight(l, "\r "))
			}
		}
	}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		switch {
		case strings.HasSuffix(p, ".log"), strings.HasSuffix(p, ".out"):
			add(string(data))
		case strings.HasSuffix(p, ".json"):
			var v any
			if json.Unmarshal(data, &v) == nil {
				walkStrings(v, add)
			}
		}
		return nil
	})
	var p cef.Parser
	var rec cef.Record
	kept := lines[:0]
	for _, l := range lines {
		if p.ParseString(l, &rec) == nil {
			kept = append(kept, l)
		}
	}
	return kept, err
}

// walkStrings calls f on every string in a decoded JSON value that looks
// like an input line ("input", "message", "testString" fields and the
// like: any string containing "CEF:").
func walkStrings(v any, f func(string)) {
	switch x := v.(type) {
	case string:
		if strings.HasPrefix(strings.TrimSpace(x), "CEF:") || strings.Contains(x, " CEF:") {
			f(x)
		}
	case []any:
		for _, e := range x {
			walkStrings(e, f)
		}
	case map[string]any:
		for k, e := range x {
			if k == "expected" {
				continue // parsed output, not input
			}
			walkStrings(e, f)
		}
	}
}

// GenerateFromReal writes cfg.N lines made from the real lines: each row
// is a real line with its rt set to the row's time and its addresses
// replaced by fresh benign ones; a hit row also gets an indicator value in
// one column the line carries (dst/src, request, fileHash, duid). It returns
// how many rows carry an indicator value.
func GenerateFromReal(w io.Writer, real []string, pools *Pools, cfg Config) (int, error) {
	if len(real) == 0 {
		return 0, fmt.Errorf("no real CEF lines")
	}
	r := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5851f42d4c957f2d))
	g := gen{r: r, p: pools}
	var p cef.Parser
	var rec cef.Record
	bw := bufio.NewWriter(w)
	hits := 0
	for i := 0; i < cfg.N; i++ {
		if err := p.ParseString(real[r.IntN(len(real))], &rec); err != nil {
			return hits, err
		}
		t := cfg.Start.Add(time.Duration(i) * 250 * time.Millisecond)
		set(&rec, "rt", strconv.FormatInt(t.UnixMilli(), 10))
		for _, k := range []string{"src", "dst"} {
			if _, ok := rec.Get(k); ok {
				set(&rec, k, g.publicIP())
			}
		}
		if r.Float64() < cfg.HitRate && g.hit(&rec) {
			hits++
		}
		bw.WriteString(render(&rec))
		bw.WriteByte('\n')
	}
	return hits, bw.Flush()
}

// hit puts an indicator value into one column rec carries.
func (g *gen) hit(rec *cef.Record) bool {
	var options []func() bool
	try := func(key string, pool []string) {
		if _, ok := rec.Get(key); ok && len(pool) > 0 {
			options = append(options, func() bool { set(rec, key, g.pick(pool)); return true })
		}
	}
	try("dst", g.p.IPs)
	try("src", g.p.IPs)
	try("fileHash", g.p.Hashes)
	try("duid", g.p.Emails)
	if _, ok := rec.Get("request"); ok {
		try("request", g.p.URLs)
		if len(g.p.Domains) > 0 {
			options = append(options, func() bool { set(rec, "request", "http://"+g.pick(g.p.Domains)+g.path()); return true })
		}
	}
	if len(options) == 0 {
		return false
	}
	return options[g.r.IntN(len(options))]()
}

// set replaces (or adds) an extension key.
func set(rec *cef.Record, key, value string) {
	for i := range rec.Extensions {
		if rec.Extensions[i].Key == key {
			rec.Extensions[i].Value = value
			return
		}
	}
	rec.Extensions = append(rec.Extensions, cef.KV{Key: key, Value: value})
}

var (
	headerEscaper = strings.NewReplacer(`\`, `\\`, `|`, `\|`)
	valueEscaper  = strings.NewReplacer(`\`, `\\`, `=`, `\=`, "\n", `\n`, "\r", `\r`)
)

// render writes rec back as a CEF line (no syslog header), escaping as the
// CEF standard requires.
func render(rec *cef.Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CEF:%d", rec.Version)
	for _, h := range []string{rec.DeviceVendor, rec.DeviceProduct, rec.DeviceVersion, rec.DeviceEventClassID, rec.Name, rec.Severity} {
		b.WriteByte('|')
		b.WriteString(headerEscaper.Replace(h))
	}
	b.WriteByte('|')
	for i, kv := range rec.Extensions {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(kv.Key)
		b.WriteByte('=')
		b.WriteString(valueEscaper.Replace(kv.Value))
	}
	return b.String()
}
