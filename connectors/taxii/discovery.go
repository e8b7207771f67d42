package taxii

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
)

// Discovery is a server's discovery resource (TAXII 2.1 §4.1, 2.0 §4.1).
type Discovery struct {
	// Title, Description and Contact describe the server (free text).
	Title       string `json:"title"`
	Description string `json:"description"`
	Contact     string `json:"contact"`
	// Default is the default API root's URL, resolved against the
	// discovery URL.
	Default string `json:"default"`
	// APIRoots are the API root URLs, resolved against the discovery URL.
	APIRoots []string `json:"api_roots"`
}

// APIRootInfo is an API root resource (TAXII 2.1 §4.2, 2.0 §4.2).
type APIRootInfo struct {
	// Title and Description describe the API root (free text).
	Title       string `json:"title"`
	Description string `json:"description"`
	// Versions lists the supported TAXII versions as media types
	// ("application/taxii+json;version=2.1") or, in 2.0, as "taxii-2.0".
	Versions []string `json:"versions"`
	// MaxContentLength is the largest request body accepted, in bytes.
	MaxContentLength int64 `json:"max_content_length"`
}

// Collection is a collection resource (TAXII 2.1 §5.2, 2.0 §5.2).
type Collection struct {
	// ID is what Source.Collection names; Alias (2.1) is an optional
	// human-friendly alternative the server also accepts.
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Alias       string `json:"alias"`
	// CanRead says whether these credentials may get objects (a pull of
	// an unreadable collection fails with 403); CanWrite whether they may
	// add them.
	CanRead  bool `json:"can_read"`
	CanWrite bool `json:"can_write"`
	// MediaTypes are the STIX media types the collection holds.
	MediaTypes []string `json:"media_types"`
}

// The conventional discovery paths (TAXII 2.1 §4.1 uses /taxii2/, the
// 2.0 examples /taxii/); servers may use others, and Discover takes the
// full URL.
const (
	DiscoveryPath21 = "/taxii2/"
	DiscoveryPath20 = "/taxii/"
)

// Discover reads the discovery resource at discoveryURL (e.g.
// "https://taxii.example/taxii2/"). src supplies the version, the
// credentials and TLS settings; its APIRoot and Collection are ignored.
func (c *Client) Discover(ctx context.Context, src Source, discoveryURL string) (*Discovery, error) {
	src.APIRoot, src.Collection = discoveryURL, ""
	if err := src.validate(false); err != nil {
		return nil, err
	}
	var d Discovery
	if err := c.getJSON(ctx, &op{src: &src, server: src.APIRoot}, src.APIRoot, &d); err != nil {
		return nil, err
	}
	base, _ := url.Parse(src.APIRoot)
	resolve := func(s string) string {
		if u, err := base.Parse(s); err == nil && s != "" {
			return u.String()
		}
		return s
	}
	d.Default = resolve(d.Default)
	for i, r := range d.APIRoots {
		d.APIRoots[i] = resolve(r)
	}
	return &d, nil
}

// APIRoot reads the information of src's API root.
func (c *Client) APIRoot(ctx context.Context, src Source) (*APIRootInfo, error) {
	if err := src.validate(false); err != nil {
		return nil, err
	}
	var info APIRootInfo
	err := c.getJSON(ctx, &op{src: &src, server: src.APIRoot}, src.APIRoot, &info)
	return &info, err
}

// Collections lists the collections of src's API root (TAXII 2.1 §5.1).
// src.Collection is ignored.
func (c *Client) Collections(ctx context.Context, src Source) ([]Collection, error) {
	src.Collection = ""
	if err := src.validate(false); err != nil {
		return nil, err
	}
	var list struct {
		Collections []Collection `json:"collections"`
	}
	err := c.getJSON(ctx, &op{src: &src, server: src.APIRoot}, src.APIRoot+"collections/", &list)
	return list.Collections, err
}

// Collection reads one collection resource (TAXII 2.1 §5.2): its title
// and whether it can be read.
func (c *Client) Collection(ctx context.Context, src Source) (*Collection, error) {
	if err := src.Validate(); err != nil {
		return nil, err
	}
	var coll Collection
	err := c.getJSON(ctx, &op{src: &src, server: src.APIRoot, collection: src.Collection}, src.collectionURL(), &coll)
	return &coll, err
}

// getJSON reads a TAXII resource into v.
func (c *Client) getJSON(ctx context.Context, o *op, u string, v any) error {
	accept := MediaTAXII21
	if o.src.Version == Version20 {
		accept = MediaTAXII20
	}
	resp, err := c.get(ctx, o, u, accept, nil)
	if err != nil {
		return err
	}
	if err := checkMediaType(resp.header.Get("Content-Type"), o.src.Version, resp.body); err != nil {
		return fmt.Errorf("taxii server %s%s: request %d (GET %s): %w", o.server, collLabel(o), o.requests, u, err)
	}
	if err := json.Unmarshal(resp.body, v); err != nil {
		return fmt.Errorf("taxii server %s%s: request %d (GET %s): %v: %s", o.server, collLabel(o), o.requests, u, err, snippet(resp.body))
	}
	return nil
}
