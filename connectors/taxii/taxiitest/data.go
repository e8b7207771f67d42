package taxiitest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// store is the server's content, in the layout of medallion's
// default_data.json: "/discovery" plus one key per API root holding
// "information", "status" and "collections" (each collection with its
// "objects" and "manifest").
type store struct {
	discovery json.RawMessage
	roots     map[string]*apiRoot
}

type apiRoot struct {
	info        json.RawMessage
	collections []*collection
}

type collection struct {
	meta    map[string]any // the collection resource without objects/manifest
	id      string
	canRead bool
	objects []*object
}

// object is one version of a STIX object with its manifest data.
type object struct {
	id, typ, version, specVersion string
	vkey                          string // normTime(version), for ordering
	added                         time.Time
	raw                           json.RawMessage
}

func parseStore(data []byte) (*store, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("taxiitest: data: %w", err)
	}
	s := &store{discovery: top["/discovery"], roots: map[string]*apiRoot{}}
	for name, raw := range top {
		if strings.HasPrefix(name, "/") {
			continue
		}
		var r struct {
			Information json.RawMessage   `json:"information"`
			Collections []json.RawMessage `json:"collections"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("taxiitest: api root %s: %w", name, err)
		}
		root := &apiRoot{info: r.Information}
		for _, craw := range r.Collections {
			c, err := parseCollection(craw)
			if err != nil {
				return nil, fmt.Errorf("taxiitest: api root %s: %w", name, err)
			}
			root.collections = append(root.collections, c)
		}
		s.roots[name] = root
	}
	return s, nil
}

func parseCollection(raw json.RawMessage) (*collection, error) {
	var meta map[string]any
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, err
	}
	var parts struct {
		ID       string            `json:"id"`
		CanRead  bool              `json:"can_read"`
		Objects  []json.RawMessage `json:"objects"`
		Manifest []struct {
			ID        string   `json:"id"`
			DateAdded string   `json:"date_added"`
			Version   string   `json:"version"`
			Versions  []string `json:"versions"`
		} `json:"manifest"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, err
	}
	delete(meta, "objects")
	delete(meta, "manifest")
	delete(meta, "responses")
	c := &collection{meta: meta, id: parts.ID, canRead: parts.CanRead}
	// date_added per "id|version" (2.1) or per id (2.0, all versions).
	added := map[string]time.Time{}
	for _, m := range parts.Manifest {
		t, err := parseTime(m.DateAdded)
		if err != nil {
			return nil, fmt.Errorf("collection %s: manifest %s: %w", c.id, m.ID, err)
		}
		for _, v := range append(m.Versions, m.Version) {
			if v != "" {
				added[m.ID+"|"+normTime(v)] = t
			}
		}
		added[m.ID] = t
	}
	for _, oraw := range parts.Objects {
		o, err := newObject(oraw)
		if err != nil {
			return nil, fmt.Errorf("collection %s: %w", c.id, err)
		}
		var ok bool
		if o.added, ok = added[o.id+"|"+normTime(o.version)]; !ok {
			o.added = added[o.id]
		}
		c.objects = append(c.objects, o)
	}
	slices.SortStableFunc(c.objects, compareObjects)
	return c, nil
}

func newObject(raw json.RawMessage) (*object, error) {
	var h struct {
		ID          string `json:"id"`
		Type        string `json:"type"`
		Created     string `json:"created"`
		Modified    string `json:"modified"`
		SpecVersion string `json:"spec_version"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, err
	}
	o := &object{id: h.ID, typ: h.Type, version: h.Modified, specVersion: h.SpecVersion, raw: raw}
	if o.version == "" {
		o.version = h.Created
	}
	o.vkey = normTime(o.version)
	if o.specVersion == "" {
		o.specVersion = "2.0" // STIX 2.0 objects have no spec_version
	}
	return o, nil
}

// query is the filter of an objects or manifest request (TAXII 2.1
// §3.4.1, 2.0 §3.5.1).
type query struct {
	addedAfter                 time.Time
	ids, types, specs, version []string
}

// selectObjects applies q to c's objects, which are kept in date_added
// order (TAXII 2.1 §3.5).
func (c *collection) selectObjects(q query) []*object {
	var out []*object
	for _, o := range c.objects {
		if !o.added.After(q.addedAfter) ||
			(len(q.ids) > 0 && !slices.Contains(q.ids, o.id)) ||
			(len(q.types) > 0 && !slices.Contains(q.types, o.typ)) ||
			(len(q.specs) > 0 && !slices.Contains(q.specs, o.specVersion)) {
			continue
		}
		out = append(out, o)
	}
	mode := "last"
	if len(q.version) > 0 {
		mode = q.version[0]
	}
	if mode == "all" {
		return out
	}
	pick := make(map[string]*object, len(out)) // id → the chosen version
	for _, o := range out {
		cur := pick[o.id]
		switch {
		case mode == "last" && (cur == nil || o.vkey > cur.vkey),
			mode == "first" && (cur == nil || o.vkey < cur.vkey):
			pick[o.id] = o
		}
	}
	kept := out[:0]
	for _, o := range out {
		switch mode {
		case "last", "first":
			if pick[o.id] == o {
				kept = append(kept, o)
			}
		default: // explicit versions
			if slices.ContainsFunc(q.version, func(v string) bool { return normTime(v) == o.vkey }) {
				kept = append(kept, o)
			}
		}
	}
	return kept
}

// insert adds o keeping the objects sorted by date_added, then id and
// version.
func (c *collection) insert(o *object) {
	i, _ := slices.BinarySearchFunc(c.objects, o, compareObjects)
	c.objects = slices.Insert(c.objects, i, o)
}

func compareObjects(a, b *object) int {
	if c := a.added.Compare(b.added); c != 0 {
		return c
	}
	if c := strings.Compare(a.id, b.id); c != 0 {
		return c
	}
	return strings.Compare(a.version, b.version)
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err
}

// normTime renders a timestamp canonically so "…53.935Z" and
// "…53.935000Z" compare equal; unparsable text is kept as is.
func normTime(s string) string {
	t, err := parseTime(s)
	if err != nil {
		return s
	}
	return t.Format("2006-01-02T15:04:05.000000000Z")
}

// formatTime renders a date_added as medallion does (microseconds).
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}
