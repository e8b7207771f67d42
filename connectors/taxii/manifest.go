package taxii

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// manifestEntry is one manifest record: TAXII 2.1 §5.3 has one version
// per record, TAXII 2.0 §5.6 a list.
type manifestEntry struct {
	ID        string   `json:"id"`
	DateAdded string   `json:"date_added"`
	Version   string   `json:"version"`
	Versions  []string `json:"versions"`
}

// manifestCheckpoint is the checkpoint fallback for servers that send no
// X-TAXII-Date-Added-Last: the newest date_added, in the manifest, of the
// versions this pull received. Only received versions count, so an
// object added between the objects request and this one is not skipped.
func (p *puller) manifestCheckpoint(ctx context.Context) error {
	v21 := p.o.src.Version == Version21
	q := p.objectsQuery(v21)
	base := p.o.src.collectionURL() + "manifest/"
	var newest time.Time
	seenNext := map[string]bool{}
	next, start, size := "", 0, p.c.opts.PageSize
	for page := 1; page <= p.c.opts.MaxPages; page++ {
		qq := cloneValues(q)
		accept, hdr := MediaTAXII21, http.Header(nil)
		if next != "" {
			qq.Set("next", next)
		}
		if !v21 {
			accept = MediaTAXII20
			hdr = http.Header{"Range": {fmt.Sprintf("items %d-%d", start, start+size-1)}}
		}
		resp, err := p.c.get(ctx, p.o, base+"?"+qq.Encode(), accept, hdr)
		if err != nil {
			return err
		}
		if resp.status == http.StatusRequestedRangeNotSatisfiable {
			break
		}
		if err := checkMediaType(resp.header.Get("Content-Type"), p.o.src.Version, resp.body); err != nil {
			return fmt.Errorf("manifest: %w", err)
		}
		var m struct {
			More    bool            `json:"more"`
			Next    string          `json:"next"`
			Objects []manifestEntry `json:"objects"`
		}
		if err := json.Unmarshal(resp.body, &m); err != nil {
			return fmt.Errorf("manifest page %d: not a TAXII manifest: %v", page, err)
		}
		for _, e := range m.Objects {
			added, err := parseTime(e.DateAdded)
			if err != nil || !added.After(newest) {
				continue
			}
			for _, v := range append(e.Versions, e.Version) {
				if t, err := parseTime(v); err == nil && !t.IsZero() && p.got[e.ID+"|"+t.Format(time.RFC3339Nano)] {
					newest = added
					break
				}
			}
		}
		if v21 {
			if !m.More || m.Next == "" || seenNext[m.Next] {
				break
			}
			seenNext[m.Next] = true
			next = m.Next
			continue
		}
		first, last, total, ok := parseContentRange(resp.header.Get("Content-Range"))
		if resp.status != http.StatusPartialContent || !ok || first != start || last < first ||
			(total >= 0 && last+1 >= total) || len(m.Objects) == 0 {
			break
		}
		start = last + 1
	}
	if newest.IsZero() {
		return fmt.Errorf("none of the %d received versions is in the manifest", len(p.got))
	}
	if newest.After(p.res.Checkpoint) {
		p.res.Checkpoint = newest
	}
	p.res.CheckpointFrom = "manifest"
	return nil
}
