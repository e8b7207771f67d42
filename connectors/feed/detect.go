package feed

import (
	"strings"

	"timap/engine"
)

// Reasons this package gives to values that are no indicator value at all.
const (
	reasonUnrecognised = "unrecognised"
	reasonPathOnly     = "path-only"
	reasonTooLong      = "line-too-long"
	reasonPort         = "invalid-port"
)

// Detect tells which observable type a feed value is and returns the text to
// normalise with engine.NewObservable. The value is refanged first
// ("1[.]2[.]3[.]4", "hxxp://…"). In order:
//
//   - 32, 40, 64 or 128 hex digits: TypeFileHash;
//   - an IPv4 or IPv6 address, or a CIDR range: TypeIP (anything made only
//     of digits and dots, or hex digits and at least two colons, counts as
//     an address, so that "300.1.2.3" is refused as an invalid IP rather
//     than admitted as a domain);
//   - "ip:port" or "[v6]:port": TypeIP, returning the address alone;
//   - "scheme://…", or "host/path" / "host?query" without a scheme
//     (maltrail): TypeURL;
//   - "local@domain": TypeEmail;
//   - a name with at least one dot ("name:port" returns the name): TypeDomain.
//
// It returns type 0 for anything else: the empty string, text with white
// space, a bare path ("/izuku.arm7"), a word without a dot ("Apr-19"), a
// "host:port" whose port is not 1–65535 ("1.2.3.4:66086").
// Detect does not validate: the engine's normalisation does.
func Detect(value string) (engine.ObservableType, string) {
	t, v, _, _ := detect(value)
	return t, v
}

// detect is Detect that also returns the port of an "ip:port" value and,
// for type 0, the reject reason.
func detect(s string) (t engine.ObservableType, v, port, reason string) {
	s = engine.Refang(strings.TrimSpace(s))
	switch {
	case s == "" || strings.ContainsAny(s, " \t\r\n"):
		return 0, s, "", reasonUnrecognised
	case isHash(s):
		return engine.TypeFileHash, s, "", ""
	case isAddr(s):
		return engine.TypeIP, s, "", ""
	}
	if a, bits, ok := strings.Cut(s, "/"); ok && isAddr(a) && bits != "" && allDigits(bits) {
		return engine.TypeIP, s, "", ""
	}
	host, p, hasPort := cutPort(s)
	if hasPort && !validPort(p) {
		return 0, s, "", reasonPort
	}
	if hasPort && isAddr(host) {
		return engine.TypeIP, host, p, ""
	}
	switch {
	case hasScheme(s):
		return engine.TypeURL, s, "", ""
	case s[0] == '/':
		return 0, s, "", reasonPathOnly
	case strings.IndexAny(s, "/?") > 0:
		return engine.TypeURL, s, "", ""
	case strings.IndexByte(s, '@') >= 0:
		return engine.TypeEmail, s, "", ""
	}
	if hasPort {
		s = host
	}
	if strings.IndexByte(s, '.') < 0 {
		return 0, s, "", reasonUnrecognised
	}
	return engine.TypeDomain, s, p, ""
}

func isHash(s string) bool {
	switch len(s) {
	case 32, 40, 64, 128:
	default:
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

// isAddr reports whether s is shaped like an IP address (valid or not):
// digits and dots with a dot, or hex digits, colons and dots with at least
// two colons, optionally in brackets.
func isAddr(s string) bool {
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	dots, colons, letters := 0, 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			dots++
		case c == ':':
			colons++
		case '0' <= c && c <= '9':
		case isHex(c):
			letters = true
		default:
			return false
		}
	}
	if colons == 0 {
		return dots > 0 && !letters
	}
	return colons >= 2
}

// cutPort splits "host:digits" and "[v6]:digits".
func cutPort(s string) (host, port string, ok bool) {
	if s != "" && s[0] == '[' {
		i := strings.Index(s, "]:")
		if i < 0 {
			return "", "", false
		}
		host, port = s[1:i], s[i+2:]
	} else {
		i := strings.IndexByte(s, ':')
		if i <= 0 || strings.IndexByte(s[i+1:], ':') >= 0 {
			return "", "", false
		}
		host, port = s[:i], s[i+1:]
	}
	if port == "" || !allDigits(port) {
		return "", "", false
	}
	return host, port, true
}

// validPort reports a decimal port of 1–65535 without leading zeros.
func validPort(p string) bool {
	return p != "" && p[0] != '0' && (len(p) < 5 || len(p) == 5 && p <= "65535")
}

// hasScheme reports a leading RFC 3986 scheme followed by "://".
func hasScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return strings.HasPrefix(s[i:], "://")
		default:
			return false
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
