package workload

import (
	"bufio"
	"container/heap"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"timap/connectors/cef"
	"timap/engine"
)

// WriteCSL writes cfg.N CommonSecurityLog rows twice: as CEF lines to cefW
// and, decoded by timap's CEF connector (every column), as NDJSON rows to
// ndW, so that both formats carry the same rows. With real lines, half
// the rows are built-in vendor shapes (Generate, benign domains) and half
// real corpus lines (GenerateFromReal), interleaved 125 ms apart so the
// stream stays in time order. It returns how many rows carry an indicator
// value.
func WriteCSL(cefW, ndW io.Writer, real []string, pools *Pools, cfg Config) (int, error) {
	type result struct {
		hits int
		err  error
	}
	start := func(n int, gen func(io.Writer, Config) (int, error), c Config) (*bufio.Reader, chan result) {
		pr, pw := io.Pipe()
		done := make(chan result, 1)
		c.N = n
		go func() {
			h, err := gen(pw, c)
			pw.CloseWithError(err)
			done <- result{h, err}
		}()
		return bufio.NewReaderSize(pr, 1<<20), done
	}
	n1 := cfg.N
	if len(real) > 0 {
		n1 = (cfg.N + 1) / 2
	}
	r1, d1 := start(n1, func(w io.Writer, c Config) (int, error) { return Generate(w, pools, c) }, cfg)
	readers, dones := []*bufio.Reader{r1}, []chan result{d1}
	if len(real) > 0 {
		c := cfg
		c.Start, c.Seed = cfg.Start.Add(125*time.Millisecond), cfg.Seed+1
		r2, d2 := start(cfg.N-n1, func(w io.Writer, c Config) (int, error) { return GenerateFromReal(w, real, pools, c) }, c)
		readers, dones = append(readers, r2), append(dones, d2)
	}
	cw, nw := bufio.NewWriterSize(cefW, 1<<20), bufio.NewWriterSize(ndW, 1<<20)
	p := cef.Parser{Now: cfg.Start}
	var ev engine.Event
	var row []byte
	for i := 0; i < cfg.N; i++ {
		line, err := readers[i%len(readers)].ReadBytes('\n')
		if err != nil {
			return 0, fmt.Errorf("workload: CEF row %d: %w", i+1, err)
		}
		cw.Write(line)
		ev.Reset(cef.Table)
		if err := p.Decode(line[:len(line)-1], &ev, nil); err != nil {
			return 0, fmt.Errorf("workload: CEF row %d: %w", i+1, err)
		}
		row = AppendRow(row[:0], &ev)
		nw.Write(row)
	}
	hits := 0
	for _, d := range dones {
		res := <-d
		if res.err != nil {
			return 0, res.err
		}
		hits += res.hits
	}
	if err := cw.Flush(); err != nil {
		return 0, err
	}
	return hits, nw.Flush()
}

// AppendRow appends ev as one NDJSON line: TimeGenerated (RFC 3339, UTC),
// Type, then the columns in the order they were set. Invalid UTF-8 is
// replaced, as JSON requires.
func AppendRow(dst []byte, ev *engine.Event) []byte {
	dst = append(dst, `{"TimeGenerated":"`...)
	dst = ev.TimeGenerated.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","Type":`...)
	dst = appendJSONString(dst, ev.Table)
	for _, f := range ev.Fields() {
		dst = append(dst, ',')
		dst = appendJSONString(dst, f.Column)
		dst = append(dst, ':')
		dst = appendJSONString(dst, f.Value)
	}
	return append(dst, "}\n"...)
}

func appendJSONString(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// rowWriter builds the NDJSON rows of the tables without a CEF form.
type rowWriter struct {
	w   *bufio.Writer
	ev  engine.Event
	buf []byte
}

func (rw *rowWriter) row(table string, t time.Time, kv ...string) {
	rw.ev.Reset(table)
	rw.ev.TimeGenerated = t
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			rw.ev.Set(kv[i], kv[i+1])
		}
	}
	rw.buf = AppendRow(rw.buf[:0], &rw.ev)
	rw.w.Write(rw.buf)
}

// GenerateDNS writes cfg.N DnsEvents rows (NDJSON, Sentinel column names
// Name, ClientIP, IPAddresses, SubType, QueryType, Computer), 250 ms
// apart: queries for benign domains answered by public addresses, 5%
// dynamic registrations (out of R29's scope, in R03's), answer lists
// joined by ", " and one in 20 by ",", and at cfg.HitRate a query for a
// bad domain (in any case, sometimes with a trailing dot) or an answer
// list holding a bad address. It returns the number of hit rows.
func GenerateDNS(w io.Writer, pools *Pools, cfg Config) (int, error) {
	r := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0xd1b54a32d192ed03))
	g := gen{r: r, p: pools}
	rw := rowWriter{w: bufio.NewWriterSize(w, 1<<20)}
	hits := 0
	for i := 0; i < cfg.N; i++ {
		t := cfg.Start.Add(time.Duration(i) * 250 * time.Millisecond)
		name, qtype, sub := g.benignDomain(), "A", "LookupQuery"
		switch k := r.IntN(20); {
		case k < 3:
			qtype = "AAAA"
		case k == 3:
			qtype = "MX"
		case k == 4:
			qtype = "TXT"
		}
		if r.IntN(20) == 0 {
			sub = "DynamicRegistration"
		}
		var ips []string
		for j := 0; j < 1+r.IntN(3) && (qtype == "A" || qtype == "AAAA"); j++ {
			if qtype == "A" {
				ips = append(ips, g.publicIP())
			} else {
				ips = append(ips, randomPrefix(r, false, 128).Addr().String())
			}
		}
		if r.Float64() < cfg.HitRate {
			switch {
			case r.IntN(2) == 0 && len(pools.Domains) > 0:
				name, hits = g.respell(g.pick(pools.Domains)), hits+1
			case len(pools.IPs) > 0:
				bad := g.pick(pools.IPs)
				if r.IntN(8) == 0 {
					bad = strings.ToUpper(bad)
				}
				ips = append(ips, bad)
				r.Shuffle(len(ips), func(a, b int) { ips[a], ips[b] = ips[b], ips[a] })
				hits++
			}
		}
		// DNS analytics writes ", "; other sources write "," (R29 splits
		// on ",", Sentinel's original on ", ").
		sep := ", "
		if r.IntN(20) == 0 {
			sep = ","
		}
		rw.row("DnsEvents", t, "Computer", fmt.Sprintf("dns-%02d.corp.example.com", r.IntN(4)), "ClientIP", g.privateIP(),
			"SubType", sub, "Name", name, "QueryType", qtype, "IPAddresses", strings.Join(ips, sep))
	}
	return hits, rw.w.Flush()
}

// respell writes a bad domain as a log might: in upper case or with a
// trailing dot now and then.
func (g *gen) respell(d string) string {
	switch g.r.IntN(6) {
	case 0:
		return strings.ToUpper(d)
	case 1:
		return d + "."
	}
	return d
}

// JoinWindow is the join window of R05 and R37 (EmailUrlInfo joined with
// EmailEvents on NetworkMessageId): the mail rows are placed around it.
const JoinWindow = time.Hour

// maxShift is the furthest a mail's EmailEvents rows lie from its first
// link; rows are held back this long so the file stays in time order.
const maxShift = 3 * time.Hour

// GenerateEmail writes cfg.N EmailUrlInfo rows (NDJSON, Sentinel column
// names Url, UrlDomain, NetworkMessageId, UrlLocation), 250 ms apart, and
// the EmailEvents rows of their mails (a Type key; NetworkMessageId,
// SenderFromAddress, SenderFromDomain, RecipientEmailAddress, Subject,
// DeliveryAction, DeliveryLocation, EmailDirection), all in time order in
// one stream, as a join reads them. A mail has one to three links and one
// EmailEvents row per recipient (one to three). Links go to benign
// domains; at cfg.HitRate a link is a bad URL (in another case, with a
// fragment or with the scheme's default port now and then) or a link on a
// bad domain. It returns the number of hit rows and of EmailEvents rows.
//
// Mail rows lie within two minutes of the first link, before or after it;
// one mail in 25 has none, one in 25 lies exactly JoinWindow away (the
// window is inclusive) and one in 25 further (no join). DeliveryAction is
// Delivered, Junked, Replaced or, for one mail in ten, Blocked; one
// recipient in ten of a mail gets another action than the first.
func GenerateEmail(w io.Writer, pools *Pools, cfg Config) (hits, mails int, err error) {
	r := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x94d049bb133111eb))
	g := gen{r: r, p: pools}
	rw := rowWriter{w: bufio.NewWriterSize(w, 1<<20)}
	var q rowQueue
	locations := []string{"Body", "Body", "Body", "Attachment", "QRCode"}
	for i := 0; i < cfg.N; {
		t0 := cfg.Start.Add(time.Duration(i) * 250 * time.Millisecond)
		// Rows earlier than anything still to come are final.
		q.flush(&rw, t0.Add(-maxShift))
		id := g.uuid()
		links := min(1+r.IntN(3), cfg.N-i)
		for j := 0; j < links; j++ {
			host := g.benignDomain()
			url := "https://" + host + g.path()
			if r.Float64() < cfg.HitRate {
				switch {
				case r.IntN(2) == 0 && len(pools.URLs) > 0:
					url = g.respellURL(g.pick(pools.URLs))
					if u, err := engine.AppendURL(nil, url); err == nil {
						host = string(engine.URLHost(u))
					}
					hits++
				case len(pools.Domains) > 0:
					host = g.respell(g.pick(pools.Domains))
					url, hits = "http://"+strings.TrimSuffix(host, ".")+g.path(), hits+1
				}
			}
			q.push("EmailUrlInfo", t0.Add(time.Duration(j)*250*time.Millisecond), "NetworkMessageId", id, "Url", url, "UrlDomain", host,
				"UrlLocation", locations[r.IntN(len(locations))])
		}
		mails += g.mail(&q, id, t0)
		i += links
	}
	q.flush(&rw, time.Time{})
	return hits, mails, rw.w.Flush()
}

var (
	firstNames = []string{"amy", "bob", "carla", "dinesh", "eva", "farid", "grace", "hugo", "ines", "jun", "kofi", "lena", "mateo", "nora", "omar", "priya"}
	lastNames  = []string{"adams", "baker", "chen", "diaz", "evans", "fischer", "garcia", "haddad", "ito", "jones", "kim", "lopez", "meyer", "nguyen", "okafor", "patel"}
	subjects   = []string{"Invoice %d", "Re: meeting notes", "Your parcel %d is on its way", "Password expiry notice", "Q%d report", "Shared document", "Re: Re: order %d", "Weekly newsletter"}
	actions    = []string{"Delivered", "Delivered", "Delivered", "Delivered", "Delivered", "Delivered", "Junked", "Replaced", "Delivered", "Blocked"}
	locationOf = map[string]string{"Delivered": "Inbox/folder", "Junked": "Junk folder", "Replaced": "Inbox/folder", "Blocked": "Quarantine"}
)

// mail queues the EmailEvents rows of the mail id whose first link is at t
// and returns how many.
func (g *gen) mail(q *rowQueue, id string, t time.Time) int {
	r := g.r
	var shift time.Duration
	switch k := r.IntN(25); k {
	case 0:
		return 0 // no EmailEvents row: the mail's links never match
	case 1:
		shift = JoinWindow
	case 2:
		shift = JoinWindow + time.Second + time.Duration(r.Int64N(int64(maxShift-JoinWindow-time.Second)/1e6))*time.Millisecond
	default:
		shift = time.Duration(r.Int64N(120_000)) * time.Millisecond
	}
	if r.IntN(2) == 0 {
		shift = -shift
	}
	sender := g.pick(firstNames) + "@" + g.benignDomain()
	_, senderDomain, _ := strings.Cut(sender, "@")
	subject := g.pick(subjects)
	if strings.Contains(subject, "%d") {
		subject = fmt.Sprintf(subject, 1+r.IntN(9999))
	}
	action, n := g.pick(actions), 1+r.IntN(3)
	dir := "Inbound"
	if r.IntN(10) == 0 {
		dir = "Intra-org"
	}
	for k := 0; k < n; k++ {
		a := action
		if k > 0 && r.IntN(10) == 0 {
			a = g.pick(actions)
		}
		to := g.pick(firstNames) + "." + g.pick(lastNames) + "@corp.example.com"
		q.push("EmailEvents", t.Add(shift), "NetworkMessageId", id, "SenderFromAddress", sender, "SenderFromDomain", senderDomain,
			"RecipientEmailAddress", to, "Subject", subject, "DeliveryAction", a, "DeliveryLocation", locationOf[a], "EmailDirection", dir)
	}
	return n
}

// rowQueue holds rows until no earlier row can come; rows of equal time
// keep the order they were pushed in.
type rowQueue struct {
	rows []queuedRow
	seq  int
}

type queuedRow struct {
	table string
	t     time.Time
	seq   int
	kv    []string
}

func (q *rowQueue) Len() int { return len(q.rows) }
func (q *rowQueue) Less(i, j int) bool {
	a, b := &q.rows[i], &q.rows[j]
	return a.t.Before(b.t) || a.t.Equal(b.t) && a.seq < b.seq
}
func (q *rowQueue) Swap(i, j int) { q.rows[i], q.rows[j] = q.rows[j], q.rows[i] }
func (q *rowQueue) Push(x any)    { q.rows = append(q.rows, x.(queuedRow)) }
func (q *rowQueue) Pop() any {
	x := q.rows[len(q.rows)-1]
	q.rows = q.rows[:len(q.rows)-1]
	return x
}

func (q *rowQueue) push(table string, t time.Time, kv ...string) {
	q.seq++
	heap.Push(q, queuedRow{table, t, q.seq, kv})
}

// flush writes the rows earlier than before, all of them when before is
// zero.
func (q *rowQueue) flush(rw *rowWriter, before time.Time) {
	for q.Len() > 0 && (before.IsZero() || q.rows[0].t.Before(before)) {
		x := heap.Pop(q).(queuedRow)
		rw.row(x.table, x.t, x.kv...)
	}
}

// respellURL writes a bad URL as a mail gateway might: upper case, a
// fragment, or the scheme's default port, each now and then.
func (g *gen) respellURL(u string) string {
	switch g.r.IntN(8) {
	case 0:
		return strings.ToUpper(u)
	case 1:
		return u + "#frag"
	case 2:
		i := strings.Index(u, "://")
		if i < 0 {
			return u
		}
		port := ":80"
		if strings.EqualFold(u[:i], "https") {
			port = ":443"
		}
		rest := u[i+3:]
		j := strings.IndexAny(rest, "/?")
		if j < 0 || strings.ContainsAny(rest[:j], ":@[") {
			return u
		}
		return u[:i+3] + rest[:j] + port + rest[j:]
	}
	return u
}

func (g *gen) uuid() string {
	a, b := g.r.Uint64(), g.r.Uint64()
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, a>>16&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}
