package engine

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// AppendURL appends the normalised form of a URL to dst (issue #2, RFC 3986
// §6 with timap's choices):
//   - refanged ("hxxp", "[.]", "[:]", "[://]");
//   - "http://" added when there is no "scheme://";
//   - the whole URL lower-cased (indicators and logs disagree on case far more
//     often than servers treat paths case-sensitively), the host converted to
//     ASCII (IDNA) when it is internationalised;
//   - the fragment dropped (never sent to a server), the scheme's default port
//     dropped (http 80, https 443);
//   - "." and ".." path segments resolved (RFC 3986 §5.2.4); an empty path
//     becomes "/".
//
// Errors: empty input, white space or control characters inside, no host.
func AppendURL(dst []byte, s string) ([]byte, error) {
	s = strings.TrimSpace(Refang(s))
	if s == "" {
		return dst, errors.New("empty URL")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return dst, errors.New("white space or control character in URL")
		}
	}
	scheme, rest := "http", s
	if i := schemeEnd(s); i > 0 {
		scheme, rest = s[:i], s[i+3:]
	} else if strings.HasPrefix(s, "//") {
		rest = s[2:]
	}
	auth, tail := rest, ""
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		auth, tail = rest[:j], rest[j:]
	}
	if k := strings.IndexByte(tail, '#'); k >= 0 {
		tail = tail[:k]
	}
	path, query := tail, ""
	if k := strings.IndexByte(tail, '?'); k >= 0 {
		path, query = tail[:k], tail[k:]
	}

	start := len(dst)
	dst = appendLower(dst, scheme)
	dst = append(dst, "://"...)
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		dst = appendLower(dst, auth[:at+1])
		auth = auth[at+1:]
	}
	host, port := splitHostPort(auth)
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return dst[:start], errors.New("URL has no host")
	}
	if isASCII(host) {
		dst = appendLower(dst, host)
	} else {
		a, err := domainProfile.ToASCII(host)
		if err != nil {
			return dst[:start], err
		}
		dst = append(dst, a...)
	}
	ls := strings.ToLower(scheme)
	if port != "" && !(port == "80" && ls == "http") && !(port == "443" && ls == "https") {
		dst = append(dst, ':')
		dst = append(dst, port...)
	}
	if path == "" {
		dst = append(dst, '/')
	} else if strings.Contains(path, "/.") {
		dst = appendLower(dst, removeDotSegments(path))
	} else {
		dst = appendLower(dst, path)
	}
	return appendLower(dst, query), nil
}

// schemeEnd returns the index of "://" when s starts with a syntactically
// valid scheme (RFC 3986 §3.1) followed by it, else -1.
func schemeEnd(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case c == ':' && i > 0 && strings.HasPrefix(s[i:], "://"):
			return i
		default:
			return -1
		}
	}
	return -1
}

// splitHostPort splits "host:port" and "[v6]:port"; port is "" when absent.
// The brackets of an IPv6 literal stay on the host, as they do in a URL.
func splitHostPort(hp string) (host, port string) {
	if strings.HasPrefix(hp, "[") {
		if end := strings.IndexByte(hp, ']'); end >= 0 {
			if strings.HasPrefix(hp[end+1:], ":") {
				return hp[:end+1], hp[end+2:]
			}
			return hp[:end+1], ""
		}
		return hp, ""
	}
	if i := strings.LastIndexByte(hp, ':'); i >= 0 {
		return hp[:i], hp[i+1:]
	}
	return hp, ""
}

// removeDotSegments implements RFC 3986 §5.2.4 for an absolute path.
func removeDotSegments(p string) string {
	var out []string
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		last := i == len(segs)-1
		switch seg {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	r := strings.Join(out, "/")
	if !strings.HasPrefix(r, "/") {
		r = "/" + r
	}
	return r
}

func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// URLHost returns the host of a normalised URL (as AppendURL writes it),
// without userinfo, port or IPv6 brackets; "" when there is none.
func URLHost(u []byte) []byte {
	i := indexBytes(u, "://")
	if i < 0 {
		return nil
	}
	rest := u[i+3:]
	end := len(rest)
	for j, c := range rest {
		if c == '/' || c == '?' {
			end = j
			break
		}
	}
	auth := rest[:end]
	for j := len(auth) - 1; j >= 0; j-- {
		if auth[j] == '@' {
			auth = auth[j+1:]
			break
		}
	}
	if len(auth) > 0 && auth[0] == '[' {
		for j, c := range auth {
			if c == ']' {
				return auth[1:j]
			}
		}
		return nil
	}
	for j := len(auth) - 1; j >= 0; j-- {
		if auth[j] == ':' {
			return auth[:j]
		}
	}
	return auth
}

func indexBytes(b []byte, sub string) int {
	for i := 0; i+len(sub) <= len(b); i++ {
		if string(b[i:i+len(sub)]) == sub {
			return i
		}
	}
	return -1
}
