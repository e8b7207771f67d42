package taxii

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"timap/connectors/stix"
	"timap/engine"
)

// PullResult is what one Pull fetched.
type PullResult struct {
	// Source is the validated source pulled.
	Source Source
	// Indicators are the indicator objects, one per id (the newest
	// modified wins across pages), converted by stix.Load with
	// SourceSystem = Source.Name, sorted by IndicatorId.
	Indicators []*engine.Indicator
	// Requests counts HTTP requests (retries not counted), Pages the
	// object pages read.
	Requests, Pages int
	// Objects counts the STIX objects received by type, versions
	// included; ObjectsSeen is their total.
	Objects     map[string]int
	ObjectsSeen int
	// PerType counts the observables of Indicators, PerReason the
	// problems by reason; Unsupported and Partial are as in stix.Result.
	PerType              map[engine.ObservableType]int
	PerReason            map[string]int
	Unsupported, Partial int
	// Problems are objects or values that were not loaded, by page.
	Problems []Problem
	// Warnings are conditions that did not stop the pull (no checkpoint
	// could be read, so the next pull starts where this one did).
	Warnings []string
	// AddedAfter is the added_after the pull started from (zero: all).
	AddedAfter time.Time
	// Checkpoint is the added_after of the next pull: the last
	// X-TAXII-Date-Added-Last the server sent, else the newest
	// date_added of the received versions in the manifest, else
	// AddedAfter. It never moves backwards.
	Checkpoint time.Time
	// CheckpointFrom says where Checkpoint came from: "header",
	// "manifest" or "unchanged".
	CheckpointFrom string
}

// Problem is a stix.Problem with the page (1-based) its object came in.
type Problem struct {
	Page int
	stix.Problem
}

func (p Problem) Error() string { return fmt.Sprintf("page %d: %s", p.Page, p.Problem.Error()) }

// Pull fetches the indicators src's collection received after since
// (zero: everything, or src's lookback from now when Lookback is not
// "all") and converts them.
//
// TAXII 2.1 (§5.4 Get Objects): GET {api_root}/collections/{id}/objects/
// with added_after, limit (Options.PageSize), match[type]=indicator and
// match[spec_version] (Source.SpecVersions), following the envelope's
// next with the same added_after while more is true; when more is true
// without next, it continues with added_after = X-TAXII-Date-Added-Last
// (§3.5). TAXII 2.0 (§5.3): the objects endpoint returns a STIX bundle and
// pages with "Range: items a-b" / "Content-Range: items a-b/total".
//
// A server that serves the same page again (the same next, identical
// objects, a Content-Range that does not advance) stops the pull with an
// error naming server and collection.
//
// On error the result is still returned: it holds what the completed
// pages gave, and Checkpoint covers those pages only (servers return
// objects in date_added order, TAXII 2.1 §3.5), so a caller may keep the
// progress.
func (c *Client) Pull(ctx context.Context, src Source, since time.Time) (*PullResult, error) {
	if err := src.Validate(); err != nil {
		return nil, err
	}
	now := c.opts.Now().UTC()
	if since.IsZero() {
		since = src.LookbackStart(now)
	}
	p := &puller{
		c:      c,
		o:      &op{src: &src, server: src.APIRoot, collection: src.Collection},
		now:    now,
		newest: map[string]*engine.Indicator{},
		got:    map[string]bool{},
		pages:  map[uint64]int{},
		res: &PullResult{Source: src, Objects: map[string]int{}, PerType: map[engine.ObservableType]int{},
			PerReason: map[string]int{}, AddedAfter: since.UTC(), Checkpoint: since.UTC(), CheckpointFrom: "unchanged"},
	}
	var err error
	if src.Version == Version20 {
		err = p.pull20(ctx)
	} else {
		err = p.pull21(ctx)
	}
	if err == nil && p.res.CheckpointFrom == "unchanged" && len(p.got) > 0 {
		if merr := p.manifestCheckpoint(ctx); merr != nil {
			p.res.Warnings = append(p.res.Warnings, fmt.Sprintf(
				"no X-TAXII-Date-Added-Last header and the manifest fallback failed, checkpoint not advanced: %v", merr))
		}
	}
	p.finish()
	return p.res, err
}

// puller is the state of one Pull.
type puller struct {
	c      *Client
	o      *op
	now    time.Time
	res    *PullResult
	newest map[string]*engine.Indicator
	// got holds "id|modified" of every indicator version received, for
	// the manifest fallback.
	got map[string]bool
	// pages maps the hash of each page's content to its page number.
	pages map[uint64]int
}

// where prefixes errors about the content of a response.
func (p *puller) where(page int) string {
	return fmt.Sprintf("taxii server %s collection %s: request %d (page %d)", p.o.server, p.o.collection, p.o.requests, page)
}

// objectsQuery is the filter of the objects and manifest endpoints.
func (p *puller) objectsQuery(paged bool) url.Values {
	q := url.Values{}
	if !p.res.AddedAfter.IsZero() {
		q.Set("added_after", formatTime(p.res.AddedAfter))
	}
	if paged {
		q.Set("limit", strconv.Itoa(p.c.opts.PageSize))
	}
	q.Set("match[type]", "indicator")
	if sv := p.o.src.SpecVersions; p.o.src.Version == Version21 && sv != "any" {
		q.Set("match[spec_version]", sv)
	}
	return q
}

func (p *puller) pull21(ctx context.Context) error {
	q := p.objectsQuery(true)
	base := p.o.src.collectionURL() + "objects/"
	seenNext := map[string]bool{}
	next, empty := "", 0
	for page := 1; ; page++ {
		if page > p.c.opts.MaxPages {
			return fmt.Errorf("%s: more than %d pages; stopping", p.where(page), p.c.opts.MaxPages)
		}
		qq := cloneValues(q)
		if next != "" {
			qq.Set("next", next)
		}
		resp, err := p.c.get(ctx, p.o, base+"?"+qq.Encode(), MediaTAXII21, nil)
		if err != nil {
			return err
		}
		if err := checkMediaType(resp.header.Get("Content-Type"), Version21, resp.body); err != nil {
			return fmt.Errorf("%s: %w", p.where(page), err)
		}
		env, err := decodeEnvelope(resp.body)
		if err != nil {
			return fmt.Errorf("%s: not a TAXII envelope: %v", p.where(page), err)
		}
		sig, n, err := p.addPage(page, env.Objects)
		if err != nil {
			return err
		}
		last, hasLast := p.dateHeaders(resp.header)
		if !env.More {
			return nil
		}
		if first, seen := p.repeats(sig, n, page); seen {
			return fmt.Errorf("%s: the server returned the %d objects of page %d again (more=true, next %q); stopping to avoid an endless loop",
				p.where(page), n, first, env.Next)
		}
		if n > 0 {
			empty = 0
		} else if empty++; empty > 10 {
			return fmt.Errorf("%s: %d empty pages in a row with more=true; stopping", p.where(page), empty)
		}
		if env.Next != "" {
			if seenNext[env.Next] {
				return fmt.Errorf("%s: the server returned next %q again; stopping to avoid an endless loop", p.where(page), env.Next)
			}
			seenNext[env.Next] = true
			next = env.Next
			continue
		}
		// §3.5: more without next: continue after the last date added.
		cur, _ := parseTime(q.Get("added_after"))
		if !hasLast || !last.After(cur) {
			return fmt.Errorf("%s: more=true without next, and X-TAXII-Date-Added-Last does not advance; cannot page", p.where(page))
		}
		q.Set("added_after", resp.header.Get("X-TAXII-Date-Added-Last"))
		next = ""
	}
}

func (p *puller) pull20(ctx context.Context) error {
	q := p.objectsQuery(false)
	u := p.o.src.collectionURL() + "objects/?" + q.Encode()
	size := p.c.opts.PageSize
	start := 0
	for page := 1; ; page++ {
		if page > p.c.opts.MaxPages {
			return fmt.Errorf("%s: more than %d pages; stopping", p.where(page), p.c.opts.MaxPages)
		}
		hdr := http.Header{"Range": {fmt.Sprintf("items %d-%d", start, start+size-1)}}
		resp, err := p.c.get(ctx, p.o, u, MediaSTIX20, hdr)
		if err != nil {
			return err
		}
		if resp.status == http.StatusRequestedRangeNotSatisfiable {
			return nil // past the end (an empty collection answers so)
		}
		if err := checkMediaType(resp.header.Get("Content-Type"), Version20, resp.body); err != nil {
			return fmt.Errorf("%s: %w", p.where(page), err)
		}
		sig, n, err := p.addPage(page, resp.body)
		if err != nil {
			return err
		}
		p.dateHeaders(resp.header)
		if resp.status != http.StatusPartialContent {
			return nil // the whole result in one response
		}
		first, lastItem, total, ok := parseContentRange(resp.header.Get("Content-Range"))
		if !ok {
			return fmt.Errorf("%s: 206 Partial Content without a valid Content-Range (%q)", p.where(page), resp.header.Get("Content-Range"))
		}
		if first != start || lastItem < first {
			return fmt.Errorf("%s: asked for items %d-%d, got Content-Range %q; stopping to avoid an endless loop",
				p.where(page), start, start+size-1, resp.header.Get("Content-Range"))
		}
		if first, seen := p.repeats(sig, n, page); seen {
			return fmt.Errorf("%s: the server returned the %d objects of page %d again for items %d-%d; stopping to avoid an endless loop",
				p.where(page), n, first, start, start+size-1)
		}
		if (total >= 0 && lastItem+1 >= total) || (total < 0 && n < size) || n == 0 {
			return nil
		}
		start = lastItem + 1
	}
}

// envelope is a TAXII 2.1 envelope (§3.7) with its objects still raw.
type envelope struct {
	More    bool            `json:"more"`
	Next    string          `json:"next"`
	Objects json.RawMessage `json:"objects"`
}

// decodeEnvelope reads an envelope with a streaming decoder: the objects
// array, nearly all of the page, is scanned once here (json.Unmarshal
// would validate and then scan it) and decoded once by stix.Load.
func decodeEnvelope(body []byte) (envelope, error) {
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return env, fmt.Errorf("want a JSON object: %s", snippet(body))
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return env, err
		}
		var dst any = new(json.RawMessage)
		switch tok {
		case "more":
			dst = &env.More
		case "next":
			dst = &env.Next
		case "objects":
			dst = &env.Objects
		}
		if err := dec.Decode(dst); err != nil {
			return env, fmt.Errorf("%v: %w", tok, err)
		}
	}
	_, err := dec.Token()
	return env, err
}

// addPage converts one page (a JSON array, an envelope or a bundle),
// merges its indicators and returns a signature of its content and its
// object count.
func (p *puller) addPage(page int, doc []byte) (string, int, error) {
	p.res.Pages++
	if len(doc) == 0 || string(doc) == "null" {
		return "", 0, nil
	}
	r, err := stix.Load(doc, stix.Options{SourceSystem: p.o.src.Name, Now: p.now})
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", p.where(page), err)
	}
	n := 0
	for t, k := range r.Objects {
		p.res.Objects[t] += k
		n += k
	}
	p.res.ObjectsSeen += n
	sig := make([]string, 0, len(r.Indicators)+len(r.Problems))
	for _, ind := range r.Indicators {
		v := ind.IndicatorId + "|" + ind.Modified.Format(time.RFC3339Nano)
		sig = append(sig, v)
		p.got[v] = true
		if old := p.newest[ind.IndicatorId]; old == nil || ind.Modified.After(old.Modified) {
			p.newest[ind.IndicatorId] = ind
		}
	}
	for _, pr := range r.Problems {
		sig = append(sig, pr.ID+"!"+pr.Reason)
		p.res.Problems = append(p.res.Problems, Problem{Page: page, Problem: pr})
		p.res.PerReason[pr.Reason]++
	}
	slices.Sort(sig)
	return strings.Join(sig, "\n"), n, nil
}

// repeats reports whether a non-empty page with signature sig came
// before, and which page that was. Signatures are kept as 64-bit hashes,
// so remembering every page of a large collection costs little.
func (p *puller) repeats(sig string, n, page int) (int, bool) {
	if n == 0 {
		return 0, false
	}
	h := fnv.New64a()
	h.Write([]byte(sig))
	key := h.Sum64()
	if first, ok := p.pages[key]; ok {
		return first, true
	}
	p.pages[key] = page
	return 0, false
}

// dateHeaders advances the checkpoint to X-TAXII-Date-Added-Last.
func (p *puller) dateHeaders(h http.Header) (time.Time, bool) {
	last, err := parseTime(h.Get("X-TAXII-Date-Added-Last"))
	if err != nil || last.IsZero() {
		return time.Time{}, false
	}
	if last.After(p.res.Checkpoint) {
		p.res.Checkpoint, p.res.CheckpointFrom = last, "header"
	} else if p.res.CheckpointFrom == "unchanged" {
		p.res.CheckpointFrom = "header"
	}
	return last, true
}

// finish sorts the merged indicators and counts them.
func (p *puller) finish() {
	r := p.res
	r.Requests = p.o.requests
	r.Indicators = make([]*engine.Indicator, 0, len(p.newest))
	for _, ind := range p.newest {
		r.Indicators = append(r.Indicators, ind)
		if len(ind.Observables) == 0 {
			r.Unsupported++
		}
		if ind.PartiallyEnforced {
			r.Partial++
		}
		for _, o := range ind.Observables {
			r.PerType[o.Type]++
		}
	}
	slices.SortFunc(r.Indicators, func(a, b *engine.Indicator) int { return strings.Compare(a.IndicatorId, b.IndicatorId) })
}

// formatTime renders a TAXII timestamp: UTC, microseconds (what
// Python-based servers such as medallion parse). Truncating a finer time
// only makes added_after earlier, so nothing is skipped.
func formatTime(t time.Time) string {
	return t.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.000000Z")
}

// parseTime parses a TAXII timestamp (RFC 3339, any fraction); "" is the
// zero time.
func parseTime(s string) (time.Time, error) {
	if s = strings.TrimSpace(s); s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err
}

// parseContentRange parses "items a-b/total" (total "*" gives -1).
func parseContentRange(v string) (first, last, total int, ok bool) {
	unit, rest, found := strings.Cut(strings.TrimSpace(v), " ")
	if !found || !strings.EqualFold(unit, "items") {
		return 0, 0, 0, false
	}
	span, tot, found := strings.Cut(strings.TrimSpace(rest), "/")
	if !found {
		return 0, 0, 0, false
	}
	a, b, found := strings.Cut(span, "-")
	var err1, err2, err3 error
	first, err1 = strconv.Atoi(strings.TrimSpace(a))
	last, err2 = strconv.Atoi(strings.TrimSpace(b))
	total = -1
	if tot = strings.TrimSpace(tot); tot != "*" {
		total, err3 = strconv.Atoi(tot)
	}
	return first, last, total, found && err1 == nil && err2 == nil && err3 == nil && first >= 0
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q)+1)
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}
