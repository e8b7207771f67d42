// Package workload builds reproducible event streams for benchmarks and
// examples: CEF lines in the shapes real firewalls, proxies and anti-virus
// products send (Palo Alto PAN-OS, Fortinet, Check Point, Trend Micro),
// filled with benign values and, at a set rate, with values of real
// indicators so that a known fraction of rows should alert.
package workload

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"timap/engine"
)

// Pools are the values events are filled with.
type Pools struct {
	// Bad values by type: taken from indicators, so rows using them must
	// match.
	IPs, Domains, URLs, Emails, Hashes []string
	// BenignDomains are popular domains (or synthetic ones).
	BenignDomains []string
}

// AddIndicators adds the observables of inds to the bad pools.
func (p *Pools) AddIndicators(inds []*engine.Indicator) {
	for _, ind := range inds {
		if !ind.Active {
			continue
		}
		for _, o := range ind.Observables {
			switch o.Type {
			case engine.TypeIP:
				if o.Prefix.IsSingleIP() {
					p.IPs = append(p.IPs, o.Value)
				} else {
					p.IPs = append(p.IPs, o.Prefix.Addr().Next().String())
				}
			case engine.TypeDomain:
				p.Domains = append(p.Domains, o.Value)
			case engine.TypeURL:
				p.URLs = append(p.URLs, o.Value)
			case engine.TypeEmail:
				p.Emails = append(p.Emails, o.Value)
			case engine.TypeFileHash:
				p.Hashes = append(p.Hashes, o.Value)
			}
		}
	}
}

// Sort orders the pools so that generation does not depend on load order.
func (p *Pools) Sort() {
	for _, s := range []*[]string{&p.IPs, &p.Domains, &p.URLs, &p.Emails, &p.Hashes, &p.BenignDomains} {
		slices.Sort(*s)
		*s = slices.Compact(*s)
	}
}

// LoadBenignDomains reads a MISP warninglist JSON ({"list": [...]}), such
// as the Cloudflare top-100k list.
func LoadBenignDomains(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var wl struct {
		List []string `json:"list"`
	}
	if err := json.Unmarshal(data, &wl); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return wl.List, nil
}

// Config configures Generate.
type Config struct {
	// N is the number of lines.
	N int
	// HitRate is the fraction of rows that carry a bad value (0.01 = 1%).
	HitRate float64
	// Seed makes the stream reproducible.
	Seed uint64
	// Start is the rt of the first row; rows are 250 ms apart.
	Start time.Time
}

// Generate writes cfg.N CEF lines to w and returns how many carry a bad
// value.
func Generate(w io.Writer, pools *Pools, cfg Config) (int, error) {
	r := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	g := gen{r: r, p: pools}
	bw := bufio.NewWriter(w)
	hits := 0
	for i := 0; i < cfg.N; i++ {
		t := cfg.Start.Add(time.Duration(i) * 250 * time.Millisecond)
		hit := r.Float64() < cfg.HitRate
		line, used := g.line(t, hit)
		if used {
			hits++
		}
		bw.WriteString(line)
		bw.WriteByte('\n')
	}
	return hits, bw.Flush()
}

type gen struct {
	r *rand.Rand
	p *Pools
}

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

// publicIP is a random address outside private and reserved space.
func (g *gen) publicIP() string {
	for {
		a := netip.AddrFrom4([4]byte{byte(1 + g.r.IntN(222)), byte(g.r.IntN(256)), byte(g.r.IntN(256)), byte(1 + g.r.IntN(254))})
		if _, bad := engine.NonRoutable(netip.PrefixFrom(a, 32)); !bad {
			return a.String()
		}
	}
}

func (g *gen) privateIP() string {
	return fmt.Sprintf("10.%d.%d.%d", g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254))
}

func (g *gen) benignDomain() string {
	if len(g.p.BenignDomains) > 0 {
		d := g.pick(g.p.BenignDomains)
		if g.r.IntN(2) == 0 {
			return "www." + d
		}
		return d
	}
	return fmt.Sprintf("www.site%d.example.org", g.r.IntN(100000))
}

func (g *gen) randomHash() string {
	b := make([]byte, []int{16, 20, 32}[g.r.IntN(3)])
	for i := range b {
		b[i] = byte(g.r.IntN(256))
	}
	return hex.EncodeToString(b)
}

func (g *gen) path() string {
	return []string{"/", "/index.html", "/api/v1/status", "/login.php", "/static/app.js", "/download/setup.exe"}[g.r.IntN(6)]
}

// line renders one row of a kind picked at random; hit asks for a bad value
// (granted when the pool for that kind has one).
func (g *gen) line(t time.Time, hit bool) (string, bool) {
	rt := t.UnixMilli()
	switch k := g.r.IntN(20); {
	case k < 9: // firewall traffic: Fortinet or Check Point style
		src, dst := g.privateIP(), g.publicIP()
		used := false
		if hit && len(g.p.IPs) > 0 {
			used = true
			if g.r.IntN(4) == 0 {
				src, dst = g.pick(g.p.IPs), g.privateIP() // inbound
			} else {
				dst = g.pick(g.p.IPs)
			}
		}
		if k%2 == 0 {
			return fmt.Sprintf("CEF:0|Fortinet|Fortigate|v7.2.4|00013|traffic:forward close|3|rt=%d deviceExternalId=FGT60F0000000001 src=%s spt=%d dst=%s dpt=443 proto=6 act=close app=HTTPS out=1532 in=4821 dvchost=fw-branch-01",
				rt, src, 40000+g.r.IntN(20000), dst), used
		}
		return fmt.Sprintf("<134>%s gw-hq-01 CEF:0|Check Point|VPN-1 & FireWall-1|Check Point|Log|Accept|Unknown|act=Accept rt=%d src=%s spt=%d dst=%s dpt=%d proto=6 deviceDirection=1 ifname=eth1 cs2Label=Rule Name cs2=Outbound web",
			t.Format(time.Stamp), rt, src, 40000+g.r.IntN(20000), dst, []int{80, 443, 8080}[g.r.IntN(3)]), used
	case k < 15: // Palo Alto URL filtering
		host, path, used := g.benignDomain(), g.path(), false
		url, app := host+path, "web-browsing"
		if g.r.IntN(3) == 0 {
			app = "ssl"
		}
		if hit {
			switch {
			case len(g.p.URLs) > 0 && g.r.IntN(2) == 0:
				// PAN-OS logs the URL without its scheme; the scheme
				// comes back from the application (ssl → https).
				u := g.pick(g.p.URLs)
				url, used, app = strings.TrimPrefix(u, "http://"), true, "web-browsing"
				if rest, ok := strings.CutPrefix(u, "https://"); ok {
					url, app = rest, "ssl"
				}
			case len(g.p.Domains) > 0:
				url, used = g.pick(g.p.Domains)+path, true
			}
		}
		return fmt.Sprintf("CEF:0|Palo Alto Networks|PAN-OS|10.2.4|url|THREAT|1|rt=%d deviceExternalId=013201001234 src=%s dst=%s sourceTranslatedAddress=198.51.100.20 destinationTranslatedAddress=%s cs1Label=Rule cs1=allow-web suser=corp\\\\user%d app=%s cs3Label=Virtual System cs3=vsys1 spt=%d dpt=443 act=alert request=\"%s\" cs2Label=URL Category cs2=computer-and-internet-info requestMethod=get dvchost=pa-edge-01",
			rt, g.privateIP(), g.publicIP(), g.publicIP(), g.r.IntN(500), app, 40000+g.r.IntN(20000), url), used
	case k < 18: // anti-virus: Trend Micro Deep Security style
		h, used := g.randomHash(), false
		if hit && len(g.p.Hashes) > 0 {
			h, used = g.pick(g.p.Hashes), true
			if g.r.IntN(2) == 0 {
				h = strings.ToUpper(h)
			}
		}
		return fmt.Sprintf("CEF:0|Trend Micro|Deep Security Agent|20.0.877|4000000|Malware detected|6|rt=%d cn1Label=Host ID cn1=%d dvchost=srv-app-%02d filePath=C:\\\\Users\\\\Public\\\\Downloads\\\\invoice.exe act=Quarantine msg=Realtime fileHash=%s suser=CORP\\\\svc_app",
			rt, 1+g.r.IntN(300), g.r.IntN(40), h), used
	default: // Palo Alto WildFire mail
		to, used := fmt.Sprintf("user%d@corp.example.com", g.r.IntN(500)), false
		if hit && len(g.p.Emails) > 0 {
			to, used = g.pick(g.p.Emails), true
		}
		return fmt.Sprintf("CEF:0|Palo Alto Networks|PAN-OS|10.2.4|wildfire|THREAT|5|rt=%d src=%s dst=%s app=smtp duid=%s cs2Label=URL Category cs2=any act=alert fname=attachment.docx dvchost=pa-edge-01",
			rt, g.publicIP(), g.privateIP(), to), used
	}
}
