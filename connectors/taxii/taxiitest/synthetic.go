package taxiitest

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"
)

// Synthetic names: the API root and collection of Synthetic data.
const (
	SyntheticRoot       = "bench"
	SyntheticCollection = "0b2c7a52-5a5e-4c3b-9d39-6d5ad7a7c0de"
)

// Synthetic builds server data (medallion layout) with n STIX indicators
// in the collection SyntheticCollection of API root SyntheticRoot: IPv4
// addresses, domains, URLs and SHA-256 hashes in turn, added one
// millisecond apart from start. version "2.0" writes STIX 2.0 objects
// and 2.0 manifest records, anything else STIX 2.1.
func Synthetic(version string, n int, start time.Time) []byte {
	objects := make([]map[string]any, 0, n)
	manifest := make([]map[string]any, 0, n)
	for i := range n {
		var pattern string
		switch i % 4 {
		case 0:
			pattern = fmt.Sprintf("[ipv4-addr:value = '45.%d.%d.%d']", 1+i>>16&0xff, i>>8&0xff, i&0xff)
		case 1:
			pattern = fmt.Sprintf("[domain-name:value = 'bench-%d.example.com']", i)
		case 2:
			pattern = fmt.Sprintf("[url:value = 'http://bench-%d.example.net/payload']", i)
		default:
			pattern = fmt.Sprintf("[file:hashes.'SHA-256' = '%x']", sha256.Sum256(fmt.Appendf(nil, "%d", i)))
		}
		id := fmt.Sprintf("indicator--%08x-0000-4000-8000-%012x", i, i)
		ts := start.Add(time.Duration(i) * time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z")
		obj := map[string]any{
			"type": "indicator", "id": id, "created": ts, "modified": ts, "name": fmt.Sprintf("bench %d", i),
			"pattern": pattern, "valid_from": ts, "confidence": i % 101,
		}
		entry := map[string]any{"id": id, "date_added": ts}
		if version == "2.0" {
			obj["labels"] = []string{"malicious-activity"}
			entry["versions"] = []string{ts}
			entry["media_types"] = []string{"application/vnd.oasis.stix+json; version=2.0"}
		} else {
			obj["spec_version"] = "2.1"
			obj["pattern_type"] = "stix"
			obj["indicator_types"] = []string{"malicious-activity"}
			entry["version"] = ts
			entry["media_type"] = "application/stix+json;version=2.1"
		}
		objects = append(objects, obj)
		manifest = append(manifest, entry)
	}
	data := map[string]any{
		"/discovery": map[string]any{"title": "synthetic", "api_roots": []string{"http://localhost:5000/" + SyntheticRoot + "/"}},
		SyntheticRoot: map[string]any{
			"information": map[string]any{"title": "synthetic", "versions": []string{"application/taxii+json;version=2.1"}, "max_content_length": 10485760},
			"collections": []any{map[string]any{
				"id": SyntheticCollection, "title": "synthetic indicators", "can_read": true, "can_write": false,
				"media_types": []string{"application/stix+json;version=2.1"}, "objects": objects, "manifest": manifest,
			}},
		},
	}
	b, err := json.Marshal(data)
	if err != nil {
		panic(err)
	}
	return b
}
