package taxii

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// sourceKeys maps every accepted YAML key to the Source field it sets. The
// snake_case names are ours; the camelCase ones are the property names of
// Sentinel's ThreatIntelligenceTaxii data connector (spec §4.2), so a
// connector definition can be pasted in.
var sourceKeys = map[string]string{
	"name": "Name", "friendlyName": "Name", "friendly_name": "Name",
	"api_root": "APIRoot", "taxiiServer": "APIRoot", "taxii_server": "APIRoot",
	"collection": "Collection", "collectionId": "Collection", "collection_id": "Collection",
	"username": "Username", "userName": "Username", "user_name": "Username",
	"lookback": "Lookback", "taxiiLookbackPeriod": "Lookback", "taxii_lookback_period": "Lookback",
	"poll": "Poll", "pollingFrequency": "Poll", "polling_frequency": "Poll",
	"version": "Version", "password": "Password", "token": "Token",
	"api_key_header": "APIKeyHeader", "api_key": "APIKey",
	"client_cert": "ClientCert", "client_key": "ClientKey", "ca_file": "CAFile",
	"spec_versions": "SpecVersions",
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// LoadSources reads a YAML file of TAXII sources: either a list of
// sources or a mapping with one key, "sources", holding the list. Each
// source is a mapping of the keys
//
//	name (friendlyName, friendly_name), api_root (taxiiServer,
//	taxii_server), collection (collectionId, collection_id), version,
//	username (userName, user_name), password, token, api_key_header,
//	api_key, client_cert, client_key, ca_file, lookback
//	(taxiiLookbackPeriod, taxii_lookback_period), poll (pollingFrequency,
//	polling_frequency), spec_versions
//
// with string values. "${NAME}" in a value is replaced by the environment
// variable NAME, so secrets stay out of the file; an unset variable is an
// error. Parsing is strict: an unknown or repeated key, a non-string value
// or an invalid source is an error naming the file and line. Every source
// is validated (Source.Validate), and two sources with the same Name are
// refused.
func LoadSources(path string) ([]Source, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseSources(data, path)
}

// ParseSources is LoadSources on data already read; name labels errors.
func ParseSources(data []byte, name string) ([]Source, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: no sources", name)
	}
	list := doc.Content[0]
	if list.Kind == yaml.MappingNode {
		if len(list.Content) != 2 || list.Content[0].Value != "sources" {
			return nil, fmt.Errorf("%s:%d: want a list of sources or a mapping with the single key \"sources\"", name, list.Line)
		}
		list = list.Content[1]
	}
	if list.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s:%d: want a list of sources", name, list.Line)
	}
	var out []Source
	var errs []error
	names := map[string]int{}
	for _, item := range list.Content {
		src, err := parseSource(item, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := src.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", name, item.Line, err))
			continue
		}
		if line, dup := names[src.Name]; dup {
			errs = append(errs, fmt.Errorf("%s:%d: source name %q already used at line %d", name, item.Line, src.Name, line))
			continue
		}
		names[src.Name] = item.Line
		out = append(out, src)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no sources", name)
	}
	return out, nil
}

// parseSource reads one mapping node into a Source.
func parseSource(n *yaml.Node, file string) (Source, error) {
	var s Source
	if n.Kind != yaml.MappingNode {
		return s, fmt.Errorf("%s:%d: a source must be a mapping of keys to values", file, n.Line)
	}
	fields := map[string]*string{
		"Name": &s.Name, "APIRoot": &s.APIRoot, "Collection": &s.Collection, "Version": &s.Version,
		"Username": &s.Username, "Password": &s.Password, "Token": &s.Token,
		"APIKeyHeader": &s.APIKeyHeader, "APIKey": &s.APIKey, "ClientCert": &s.ClientCert,
		"ClientKey": &s.ClientKey, "CAFile": &s.CAFile, "Lookback": &s.Lookback, "Poll": &s.Poll,
		"SpecVersions": &s.SpecVersions,
	}
	seen := map[string]int{}
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field, ok := sourceKeys[k.Value]
		if !ok {
			errs = append(errs, fmt.Errorf("%s:%d: unknown key %q (known: %s)", file, k.Line, k.Value, knownKeys()))
			continue
		}
		if line, dup := seen[field]; dup {
			errs = append(errs, fmt.Errorf("%s:%d: key %q sets %s again (first set at line %d)", file, k.Line, k.Value, field, line))
			continue
		}
		seen[field] = k.Line
		if v.Kind != yaml.ScalarNode || (v.Tag != "!!str" && v.Tag != "!!int" && v.Tag != "!!float") {
			errs = append(errs, fmt.Errorf("%s:%d: %s: want a string", file, v.Line, k.Value))
			continue
		}
		val, err := expandEnv(v.Value)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %s: %w", file, v.Line, k.Value, err))
			continue
		}
		*fields[field] = val
	}
	return s, errors.Join(errs...)
}

// expandEnv replaces ${NAME} by the environment variable NAME.
func expandEnv(v string) (string, error) {
	var missing []string
	out := envRef.ReplaceAllStringFunc(v, func(ref string) string {
		name := envRef.FindStringSubmatch(ref)[1]
		val, ok := os.LookupEnv(name)
		if !ok {
			missing = append(missing, name)
		}
		return val
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("environment variable %s is not set", strings.Join(missing, ", "))
	}
	return out, nil
}

func knownKeys() string {
	var keys []string
	for k := range sourceKeys {
		if strings.ToLower(k) == k { // the snake_case spellings
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}
