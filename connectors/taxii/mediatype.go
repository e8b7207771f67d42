package taxii

import (
	"bytes"
	"fmt"
	"strings"
)

// Media types sent in Accept headers.
const (
	// MediaTAXII21 is the TAXII 2.1 media type of every 2.1 endpoint,
	// objects included (TAXII 2.1 §1.6.8.1).
	MediaTAXII21 = "application/taxii+json;version=2.1"
	// MediaTAXII20 is the TAXII 2.0 media type of discovery, API root,
	// collection and manifest resources (TAXII 2.0 §1.4.7.1).
	MediaTAXII20 = "application/vnd.oasis.taxii+json; version=2.0"
	// MediaSTIX20 is the media type of a TAXII 2.0 objects response, a
	// STIX 2.0 bundle (TAXII 2.0 §1.4.7.2).
	MediaSTIX20 = "application/vnd.oasis.stix+json; version=2.0"
)

// mediaType is a parsed Content-Type: lower-case type and parameters.
type mediaType struct {
	typ    string
	params map[string]string
}

// parseMediaType parses a Content-Type leniently: parameters in any
// order, any spacing, quoted or not, empty ones (a trailing ";") ignored.
// mime.ParseMediaType refuses some of what real servers send.
func parseMediaType(v string) mediaType {
	parts := strings.Split(v, ";")
	mt := mediaType{typ: strings.ToLower(strings.TrimSpace(parts[0])), params: map[string]string{}}
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = strings.Trim(strings.TrimSpace(val), `"'`)
		mt.params[k] = val
	}
	return mt
}

// jsonTypes are the Content-Types accepted for a TAXII response body.
// Servers label STIX content as TAXII and the reverse, and some send
// plain application/json: all are JSON and the body is checked anyway.
var jsonTypes = map[string]bool{
	"application/taxii+json":           true,
	"application/stix+json":            true,
	"application/vnd.oasis.taxii+json": true,
	"application/vnd.oasis.stix+json":  true,
	"application/json":                 true,
	"text/json":                        true,
}

// checkMediaType reports whether a successful response's Content-Type and
// body are a TAXII/STIX JSON document of the wanted TAXII version. A
// missing Content-Type is accepted when the body looks like JSON; an
// explicit version parameter must match (a 2.0 server answering a 2.1
// request is a configuration error worth naming).
func checkMediaType(contentType, version string, body []byte) error {
	if strings.TrimSpace(contentType) == "" {
		if b := bytes.TrimSpace(body); len(b) > 0 && (b[0] == '{' || b[0] == '[') {
			return nil
		}
		return fmt.Errorf("response has no Content-Type and is not JSON: %s", snippet(body))
	}
	mt := parseMediaType(contentType)
	if !jsonTypes[mt.typ] {
		return fmt.Errorf("response is %s, not TAXII JSON: %s", mt.typ, snippet(body))
	}
	v, ok := mt.params["version"]
	if !ok || v == version || (mt.typ == "application/vnd.oasis.stix+json" || mt.typ == "application/stix+json") {
		// The version of a STIX media type is the STIX version, which a
		// TAXII 2.1 server may serve as 2.0 or 2.1.
		return nil
	}
	return fmt.Errorf("server answered with %s version %s to a TAXII %s request; set the source's version to %s", mt.typ, v, version, v)
}
