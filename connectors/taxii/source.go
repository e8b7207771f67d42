package taxii

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Source is one TAXII collection to pull, configured as Microsoft
// Sentinel's "Threat intelligence – TAXII" connector configures a server
// entry (spec §4.2: friendlyName, taxiiServer, collectionId, userName,
// password, lookback, pollingFrequency), plus the authentication and TLS
// options Sentinel lacks.
//
// Call Validate (LoadSources does) before use: it checks the fields and
// fills the documented defaults.
type Source struct {
	// Name is the friendly name; it becomes the SourceSystem of every
	// indicator pulled. Default: the API root's host name.
	Name string
	// APIRoot is the API root URL (Sentinel's taxiiServer), e.g.
	// "https://taxii.example/api1/". Required; a trailing slash is added.
	APIRoot string
	// Collection is the collection id (Sentinel's collectionId). Required.
	Collection string
	// Version is the TAXII version: "2.1" (default) or "2.0".
	Version string
	// Username and Password select HTTP Basic authentication (TAXII 2.1
	// §1.6.9; what Sentinel uses). Password may be empty; Password
	// without Username is an error.
	Username, Password string
	// Token selects bearer authentication (Authorization: Bearer Token).
	// Exclusive with Username/Password.
	Token string
	// APIKeyHeader and APIKey send the key in a header of that name
	// (e.g. "X-API-Key"). Both or neither.
	APIKeyHeader, APIKey string
	// ClientCert and ClientKey are PEM files of a client certificate for
	// mutual TLS. Both or neither.
	ClientCert, ClientKey string
	// CAFile is a PEM file of the CA certificates that sign the server's
	// certificate. When set, only these CAs are trusted (not the system
	// pool), as curl --cacert does.
	CAFile string
	// Lookback bounds the first pull, when no checkpoint exists: "all"
	// (default, Sentinel's "All available"), "1d", "1w" or "1m" (one
	// calendar month). Sentinel's labels ("At most one day old", …) are
	// accepted too.
	Lookback string
	// Poll is how often the Poller pulls: "minute", "hour" (default) or
	// "day"; Sentinel's OnceAMinute / OnceAnHour / OnceADay are accepted.
	Poll string
	// SpecVersions is the match[spec_version] filter of a TAXII 2.1
	// request (§3.4.1): default "2.0,2.1", so collections holding STIX 2.0
	// indicators are read too; "any" sends no filter (the server then
	// returns each object's latest spec version). Ignored for TAXII 2.0.
	SpecVersions string
}

// The TAXII versions a Source may name.
const (
	Version20 = "2.0"
	Version21 = "2.1"
)

// lookbacks maps the accepted Lookback spellings to the canonical ones.
var lookbacks = map[string]string{
	"all": "all", "": "all", "all available": "all",
	"1d": "1d", "day": "1d", "at most one day old": "1d",
	"1w": "1w", "week": "1w", "at most one week old": "1w",
	"1m": "1m", "month": "1m", "at most one month old": "1m",
}

// polls maps the accepted Poll spellings to the canonical ones.
var polls = map[string]string{
	"minute": "minute", "onceaminute": "minute",
	"hour": "hour", "onceanhour": "hour", "": "hour",
	"day": "day", "onceaday": "day",
}

// Validate checks s and fills the defaults (Version "2.1", Lookback "all",
// Poll "hour", SpecVersions "2.0,2.1", Name = the API root's host, a
// trailing slash on APIRoot). Lookback and Poll are rewritten to their
// canonical spellings. The error lists every problem found.
func (s *Source) Validate() error { return s.validate(true) }

// validate is Validate; the collection may be left out for discovery.
func (s *Source) validate(needCollection bool) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s.APIRoot = strings.TrimSpace(s.APIRoot)
	s.Collection = strings.TrimSpace(s.Collection)
	if s.APIRoot == "" {
		bad("api_root is required")
	} else if u, err := url.Parse(s.APIRoot); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("api_root %q: want an absolute http(s) URL", s.APIRoot)
	} else {
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		s.APIRoot = u.String()
		if s.Name == "" {
			// Host plus collection: two collections of one server get
			// distinct names (and so distinct SourceSystems).
			s.Name = u.Hostname()
			if s.Collection != "" {
				s.Name += " " + s.Collection
			}
		}
	}
	if s.Collection == "" {
		if needCollection {
			bad("collection is required")
		}
	} else if strings.ContainsAny(s.Collection, "/?#") {
		bad("collection %q: an id, not a path", s.Collection)
	}
	switch s.Version {
	case "":
		s.Version = Version21
	case Version20, Version21:
	case "2", "20", "taxii-2.0":
		s.Version = Version20
	default:
		bad("version %q: want 2.0 or 2.1", s.Version)
	}
	if s.Password != "" && s.Username == "" {
		bad("password without username")
	}
	if s.Token != "" && s.Username != "" {
		bad("username/password and token both set: both use the Authorization header")
	}
	if (s.APIKeyHeader == "") != (s.APIKey == "") {
		bad("api_key_header and api_key go together")
	} else if s.APIKeyHeader != "" {
		if !validHeaderName(s.APIKeyHeader) {
			bad("api_key_header %q: not a valid header name", s.APIKeyHeader)
		} else if http.CanonicalHeaderKey(s.APIKeyHeader) == "Authorization" && (s.Username != "" || s.Token != "") {
			bad("api_key_header Authorization conflicts with username/token")
		}
	}
	if (s.ClientCert == "") != (s.ClientKey == "") {
		bad("client_cert and client_key go together")
	}
	if l, ok := lookbacks[strings.ToLower(strings.TrimSpace(s.Lookback))]; ok {
		s.Lookback = l
	} else {
		bad("lookback %q: want all, 1d, 1w or 1m", s.Lookback)
	}
	if p, ok := polls[strings.ToLower(strings.TrimSpace(s.Poll))]; ok {
		s.Poll = p
	} else {
		bad("poll %q: want minute, hour or day", s.Poll)
	}
	if s.SpecVersions == "" {
		s.SpecVersions = "2.0,2.1"
	}
	if len(errs) > 0 {
		return fmt.Errorf("taxii source %s: %w", s.label(), errors.Join(errs...))
	}
	return nil
}

// label names the source in errors before and after validation.
func (s *Source) label() string {
	switch {
	case s.Name != "":
		return fmt.Sprintf("%q", s.Name)
	case s.APIRoot != "":
		return s.APIRoot + " " + s.Collection
	}
	return "(unnamed)"
}

// Interval is how often the Poller pulls s: one minute, hour or day.
func (s *Source) Interval() time.Duration {
	switch s.Poll {
	case "minute":
		return time.Minute
	case "day":
		return 24 * time.Hour
	}
	return time.Hour
}

// LookbackStart is the added_after of a first pull at now: zero (all
// objects) for "all", else now minus one day, week or calendar month.
func (s *Source) LookbackStart(now time.Time) time.Time {
	switch s.Lookback {
	case "1d":
		return now.AddDate(0, 0, -1)
	case "1w":
		return now.AddDate(0, 0, -7)
	case "1m":
		return now.AddDate(0, -1, 0)
	}
	return time.Time{}
}

// Key identifies the checkpoint of s: the API root and the collection id.
// Two sources reading the same collection with different credentials share
// it, since the server's date_added does not depend on who reads.
func (s *Source) Key() string { return s.APIRoot + " " + s.Collection }

// collectionURL is {api_root}/collections/{id}/.
func (s *Source) collectionURL() string {
	return s.APIRoot + "collections/" + url.PathEscape(s.Collection) + "/"
}

func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}
