package engine

// Normalisation: one function per observable type, used on both the
// indicator side (at load) and the event side (per row), so that nothing ever
// compares raw strings of IPs, domains, URLs, e-mails or hashes.
//
// The Append* functions write the normalised form into dst and return it, in
// the style of netip.Addr.AppendTo: the event path reuses one scratch buffer
// and looks the bytes up in a map without converting them to a string, so a
// row that matches nothing allocates nothing.

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// ParseAddr parses an event-side IP address: IPv4, any IPv6 spelling,
// optionally in brackets; an IPv4-mapped IPv6 address is unmapped to IPv4 and
// a zone is dropped. It does not allocate.
func ParseAddr(s string) (netip.Addr, bool) {
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// ParsePrefix parses an indicator IP value: a single address or a CIDR
// range ("203.0.113.0/24", "2001:db8::/32"), refanged ("1[.]2[.]3[.]4").
// IPv4-mapped IPv6 values are unmapped; host bits set in a CIDR
// are an error ("45.86.163.44/8": the range would be 45.0.0.0/8, most likely
// not what was meant). A single address is returned as a /32 or /128.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(Refang(s))
	if s == "" {
		return netip.Prefix{}, errors.New("empty")
	}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		a, bits := p.Addr(), p.Bits()
		if a.Is4In6() {
			if bits < 96 {
				return netip.Prefix{}, fmt.Errorf("IPv4-mapped prefix /%d is shorter than /96", bits)
			}
			a, bits = a.Unmap(), bits-96
		}
		m := netip.PrefixFrom(a, bits).Masked()
		if m.Addr() != a {
			// "45.86.163.44/8" is almost always a typo for a /32 or a /24;
			// widening it silently to 45.0.0.0/8 would alert on millions.
			return netip.Prefix{}, fmt.Errorf("host bits set: %s is not the start of a /%d (did you mean %s?)", a, bits, m)
		}
		return m, nil
	}
	a, ok := ParseAddr(s)
	if !ok {
		return netip.Prefix{}, fmt.Errorf("not an IP address")
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// nonRoutable are the ranges that are never indicators (issue #2): private,
// loopback, link-local, unspecified ("this network"), carrier-grade NAT
// shared space (RFC 6598), broadcast, multicast and unique-local space.
// The documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
// 2001:db8::/32) stay admitted: test data and examples use them as
// indicators. An
// address there names a different host in every network, so matching it
// would alert on the customer's own hosts.
var nonRoutable = []struct {
	p      netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("0.0.0.0/8"), "this-network"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared-address-space"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("fc00::/7"), "unique-local"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// Shortest ranges admitted as indicators. A /0 or /4 "indicator" would
// alert on a large part of the Internet; Spamhaus DROP's widest entries are
// /10 (IPv4) and /19 (IPv6).
const (
	minBits4 = 8
	minBits6 = 16
)

// NonRoutable reports whether p lies wholly inside a non-routable range, and
// which ("private", "loopback", "link-local", "unspecified", "multicast",
// "unique-local").
func NonRoutable(p netip.Prefix) (string, bool) {
	for _, n := range nonRoutable {
		if n.p.Bits() <= p.Bits() && n.p.Contains(p.Addr()) {
			return n.reason, true
		}
	}
	// IPv6 forms that embed an IPv4 address (NAT64 64:ff9b::/96, 6to4
	// 2002::/16) are as non-routable as the address they carry.
	if v4, bits, ok := embeddedV4(p); ok {
		return NonRoutable(netip.PrefixFrom(v4, bits))
	}
	return "", false
}

var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4 = netip.MustParsePrefix("2002::/16")
)

// embeddedV4 returns the IPv4 range a NAT64 or 6to4 prefix carries.
func embeddedV4(p netip.Prefix) (netip.Addr, int, bool) {
	a := p.Addr()
	if !a.Is6() {
		return netip.Addr{}, 0, false
	}
	b := a.As16()
	switch {
	case nat64.Contains(a) && p.Bits() >= 96:
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), p.Bits() - 96, true
	case sixTo4.Contains(a) && p.Bits() >= 48:
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), min(p.Bits()-16, 32), true
	}
	return netip.Addr{}, 0, false
}

// refuseRange returns the reject reason for an indicator range, or "".
func refuseRange(p netip.Prefix) string {
	if _, bad := NonRoutable(p); bad {
		return "non-routable"
	}
	if (p.Addr().Is4() && p.Bits() < minBits4) || (p.Addr().Is6() && p.Bits() < minBits6) {
		return "range-too-broad"
	}
	return ""
}

// Refang undoes the usual defanging of shared indicators: "[.]", "(.)",
// "{.}", "[dot]", "(dot)", "[:]", "[://]", "[@]", "[at]", "hxxp", "fxp".
// It returns s itself (no allocation) when there is nothing to undo.
func Refang(s string) string {
	if strings.IndexAny(s, "[({") < 0 && !containsFoldASCII(s, "hxxp") && !containsFoldASCII(s, "fxp") {
		return s
	}
	return refanger.Replace(s)
}

var refanger = strings.NewReplacer(
	"[.]", ".", "(.)", ".", "{.}", ".", "[dot]", ".", "(dot)", ".", "[DOT]", ".",
	"[://]", "://", "[:]", ":", "[@]", "@", "[at]", "@", "(at)", "@", "[AT]", "@",
	"hxxps", "https", "hxxp", "http", "HXXPS", "https", "HXXP", "http", "fxp", "ftp",
)

func containsFoldASCII(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// domainProfile maps (lower-cases, NFC) and converts to ASCII; it does not
// enforce STD3 rules because real names carry underscores (_dmarc,
// SRV-style labels) and must still match.
var domainProfile = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.StrictDomainName(false))

// AppendDomain appends the normalised form of a DNS name to dst: refanged,
// lower-case, one trailing dot removed, internationalised labels converted
// to their ASCII (xn--) form (RFC 5891). Names with an empty label, a label
// over 63 octets, a total over 253 octets, or characters that cannot occur
// in a host name are errors. A single-label name ("localhost") is an error:
// it is not an Internet domain.
func AppendDomain(dst []byte, s string) ([]byte, error) {
	s = strings.TrimSpace(Refang(s))
	s = strings.TrimSuffix(s, ".")
	start := len(dst)
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
		}
	} else {
		a, err := domainProfile.ToASCII(s)
		if err != nil {
			return dst[:start], err
		}
		dst = append(dst, a...)
	}
	if err := checkHostname(dst[start:]); err != nil {
		return dst[:start], err
	}
	return dst, nil
}

func checkHostname(h []byte) error {
	if len(h) == 0 {
		return errors.New("empty name")
	}
	if len(h) > 253 {
		return errors.New("name longer than 253 octets")
	}
	labels, labelLen := 1, 0
	for _, c := range h {
		switch {
		case c == '.':
			if labelLen == 0 {
				return errors.New("empty label")
			}
			labels, labelLen = labels+1, 0
			continue
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return fmt.Errorf("character %q not allowed in a host name", c)
		}
		if labelLen++; labelLen > 63 {
			return errors.New("label longer than 63 octets")
		}
	}
	if labelLen == 0 {
		return errors.New("empty label")
	}
	if labels < 2 {
		return errors.New("single-label name")
	}
	if labels == 4 && isDottedQuad(h) {
		return errors.New("an IPv4 address, not a domain name")
	}
	return nil
}

// isDottedQuad reports whether h consists of digits and dots only (four
// labels were already checked), as an IPv4 literal does.
func isDottedQuad(h []byte) bool {
	for _, c := range h {
		if c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// AppendEmail appends the normalised form of an e-mail address to dst:
// refanged ("[@]", "[.]"), lower-case, the domain part normalised as by
// AppendDomain. An address needs exactly one "@" with a non-empty local part
// of printable ASCII without spaces or angle brackets.
func AppendEmail(dst []byte, s string) ([]byte, error) {
	s = strings.TrimSpace(Refang(s))
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return dst, errors.New("not an address (local@domain)")
	}
	local, domain := s[:at], s[at+1:]
	start := len(dst)
	for i := 0; i < len(local); i++ {
		c := local[i]
		if c <= ' ' || c >= 0x7f || c == '@' || c == '<' || c == '>' || c == ',' || c == ';' {
			return dst[:start], fmt.Errorf("character %q not allowed in the local part", c)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	dst = append(dst, '@')
	out, err := AppendDomain(dst, domain)
	if err != nil {
		return dst[:start], err
	}
	return out, nil
}

// AppendHash appends the lower-case hex form of a file hash to dst and
// returns its algorithm, which follows from the length: 32 hex digits MD5,
// 40 SHA1, 64 SHA256, 128 SHA512. Other lengths or non-hex digits are
// errors.
func AppendHash(dst []byte, s string) ([]byte, HashType, error) {
	s = strings.TrimSpace(s)
	var h HashType
	switch len(s) {
	case 32:
		h = MD5
	case 40:
		h = SHA1
	case 64:
		h = SHA256
	case 128:
		h = SHA512
	default:
		return dst, 0, fmt.Errorf("%d characters is not an MD5, SHA1, SHA256 or SHA512 hex digest", len(s))
	}
	start := len(dst)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
		case 'A' <= c && c <= 'F':
			c += 'a' - 'A'
		default:
			return dst[:start], 0, fmt.Errorf("%q is not a hex digit", c)
		}
		dst = append(dst, c)
	}
	return dst, h, nil
}

// ParseHashType parses a declared hash algorithm as STIX ("MD5", "SHA-1",
// "SHA-256", "SHA-512"), Sentinel ("SHA256") or feeds ("sha256") write it.
func ParseHashType(s string) (HashType, error) {
	switch strings.ToUpper(strings.ReplaceAll(strings.Trim(s, "'\" "), "-", "")) {
	case "MD5":
		return MD5, nil
	case "SHA1":
		return SHA1, nil
	case "SHA256":
		return SHA256, nil
	case "SHA512":
		return SHA512, nil
	}
	return 0, fmt.Errorf("unsupported hash algorithm %q", s)
}
