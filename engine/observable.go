package engine

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ObservableType is the kind of value an indicator observes and a rule looks
// up. The names follow the ThreatIntelligenceIndicator columns they fill
// (spec §3.1).
type ObservableType uint8

// The observable types timap indexes.
const (
	// TypeIP is an IPv4/IPv6 address or CIDR range (NetworkIP,
	// NetworkSourceIP, NetworkDestinationIP, EmailSourceIpAddress,
	// NetworkCidrBlock).
	TypeIP ObservableType = iota + 1
	// TypeDomain is a DNS name (DomainName).
	TypeDomain
	// TypeURL is a URL (Url).
	TypeURL
	// TypeEmail is an e-mail address (EmailSenderAddress).
	TypeEmail
	// TypeFileHash is a file hash (FileHashValue with FileHashType).
	TypeFileHash
	// TypeFileName is a file name (FileName; STIX file:name), used by the
	// hunting queries.
	TypeFileName

	// LastType is the highest ObservableType, for loops over all types.
	LastType = TypeFileName
)

var typeNames = [...]string{TypeIP: "ip", TypeDomain: "domain", TypeURL: "url", TypeEmail: "email", TypeFileHash: "filehash", TypeFileName: "filename"}

// String returns the lower-case name used in rule files and summaries:
// "ip", "domain", "url", "email", "filehash".
func (t ObservableType) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return fmt.Sprintf("ObservableType(%d)", t)
}

// AppendFileName appends the normalised form of a file name: the part
// after the last "/" or "\\" (a path names the same file), lower-cased
// (Windows and most indicators ignore case). Empty names and names with
// control characters are errors.
func AppendFileName(dst []byte, s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	if s == "" || s == "." || s == ".." {
		return dst, errors.New("empty file name")
	}
	start := len(dst)
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return dst[:start], fmt.Errorf("control character %q in a file name", r)
		}
	}
	return append(dst, strings.ToLower(s)...), nil
}

// FileStem is a normalised file name without its last extension
// ("evil.sh" → "evil", "a.b.exe" → "a.b"); "" when it has none.
func FileStem(name string) string {
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		return name[:i]
	}
	return ""
}

// ParseObservableType is the inverse of ObservableType.String.
func ParseObservableType(s string) (ObservableType, error) {
	for t, name := range typeNames {
		if name != "" && name == s {
			return ObservableType(t), nil
		}
	}
	return 0, fmt.Errorf("unknown observable type %q (want ip, domain, url, email, filehash or filename)", s)
}

// HashType is a file-hash algorithm, named as Sentinel's FileHashType column
// names it.
type HashType uint8

// The hash algorithms timap recognises; the type of a value follows from its
// length in hex digits.
const (
	MD5    HashType = iota + 1 // 32 hex digits
	SHA1                       // 40 hex digits
	SHA256                     // 64 hex digits
	SHA512                     // 128 hex digits
)

var hashNames = [...]string{MD5: "MD5", SHA1: "SHA1", SHA256: "SHA256", SHA512: "SHA512"}

// String returns "MD5", "SHA1", "SHA256" or "SHA512".
func (h HashType) String() string {
	if int(h) < len(hashNames) && hashNames[h] != "" {
		return hashNames[h]
	}
	return ""
}

// Observable is one normalised value an indicator carries. It is a small
// value type: comparable, no pointers besides its strings.
type Observable struct {
	Type ObservableType
	// Value is the normalised text: an address or CIDR in canonical form
	// ("203.0.113.9", "2001:db8::/32"), a lower-case ASCII domain, a
	// normalised URL, a lower-case e-mail address, a lower-case hex hash.
	Value string
	// Prefix is the range of a TypeIP observable (a single address is a /32
	// or /128); zero for other types.
	Prefix netip.Prefix
	// Hash is the algorithm of a TypeFileHash observable.
	Hash HashType
	// Raw is the value as the source wrote it, when that differs from Value
	// (Sentinel compatibility mode compares raw strings, as KQL does).
	Raw string
	// Column is the ThreatIntelligenceIndicator column the value belongs to:
	// "NetworkIP", "NetworkSourceIP", "NetworkDestinationIP",
	// "EmailSourceIpAddress", "NetworkCidrBlock", "DomainName", "Url",
	// "EmailSenderAddress", "FileHashValue".
	Column string
}

// NewObservable normalises raw as a value of type t for TI column column and
// applies the indicator-side admission rules (non-routable addresses and
// over-broad ranges are refused). hashType may name the declared algorithm of
// a hash ("SHA-256", "sha1", "MD5"…; empty = infer from length).
//
// Errors are *RejectError values whose Reason is a short stable word for
// counting ("invalid-ip", "non-routable", …).
func NewObservable(t ObservableType, column, raw, hashType string) (Observable, error) {
	o := Observable{Type: t, Column: column}
	switch t {
	case TypeIP:
		p, err := ParsePrefix(raw)
		if err != nil {
			return o, reject("invalid-ip", raw, err)
		}
		if why := refuseRange(p); why != "" {
			return o, reject(why, raw, nil)
		}
		o.Prefix = p
		if p.IsSingleIP() {
			o.Value = p.Addr().String()
		} else {
			o.Value = p.String()
		}
		if column == "NetworkIP" && !p.IsSingleIP() {
			o.Column = "NetworkCidrBlock"
		}
	case TypeDomain:
		b, err := AppendDomain(nil, raw)
		if err != nil {
			return o, reject("invalid-domain", raw, err)
		}
		o.Value = string(b)
	case TypeURL:
		b, err := AppendURL(nil, raw)
		if err != nil {
			return o, reject("invalid-url", raw, err)
		}
		// A URL on a private or loopback address names a different host
		// in every network, like the address itself.
		if host, ok := ParseAddr(string(URLHost(b))); ok {
			if _, bad := NonRoutable(netip.PrefixFrom(host, host.BitLen())); bad {
				return o, reject("non-routable", raw, nil)
			}
		}
		o.Value = string(b)
	case TypeEmail:
		b, err := AppendEmail(nil, raw)
		if err != nil {
			return o, reject("invalid-email", raw, err)
		}
		o.Value = string(b)
	case TypeFileHash:
		b, h, err := AppendHash(nil, raw)
		if err != nil {
			return o, reject("invalid-hash", raw, err)
		}
		if hashType != "" {
			declared, err := ParseHashType(hashType)
			if err != nil {
				return o, reject("invalid-hash", raw, err)
			}
			if declared != h {
				return o, reject("hash-type-mismatch", raw, fmt.Errorf("declared %s but %d hex digits is %s", declared, len(b), h))
			}
		}
		o.Value, o.Hash = string(b), h
	case TypeFileName:
		b, err := AppendFileName(nil, raw)
		if err != nil {
			return o, reject("invalid-filename", raw, err)
		}
		o.Value = string(b)
	default:
		return o, reject("unsupported-type", raw, fmt.Errorf("observable type %d", t))
	}
	if raw != o.Value {
		o.Raw = raw
	}
	return o, nil
}

// RawValue is the value as the source wrote it.
func (o *Observable) RawValue() string {
	if o.Raw != "" {
		return o.Raw
	}
	return o.Value
}

// RejectError explains why a value was not admitted as an indicator
// observable. Reason is a stable short word used as a counter key.
type RejectError struct {
	Reason string
	Value  string
	Err    error
}

func (e *RejectError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s %q: %v", e.Reason, e.Value, e.Err)
	}
	return fmt.Sprintf("%s %q", e.Reason, e.Value)
}

func (e *RejectError) Unwrap() error { return e.Err }

func reject(reason, value string, err error) error {
	return &RejectError{Reason: reason, Value: value, Err: err}
}
