package engine

import (
	"errors"
	"net/netip"
	"testing"
)

func TestParsePrefix(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"203.0.113.9", "203.0.113.9/32"},
		{" 203.0.113.9 ", "203.0.113.9/32"},
		{"203[.]0[.]113[.]9", "203.0.113.9/32"},
		{"::ffff:203.0.113.9", "203.0.113.9/32"},
		{"2001:DB8:0:0:0:0:0:1", "2001:db8::1/128"},
		{"2001:db8::0:1", "2001:db8::1/128"},
		{"[2001:db8::1]", "2001:db8::1/128"},
		{"::ffff:203.0.113.0/120", "203.0.113.0/24"},
		{"2001:db8::/32", "2001:db8::/32"},
	}
	for _, tt := range tests {
		p, err := ParsePrefix(tt.in)
		if err != nil || p.String() != tt.want {
			t.Errorf("ParsePrefix(%q) = %v, %v; want %s", tt.in, p, err, tt.want)
		}
	}
	for _, bad := range []string{"", "1.2.3", "300.1.1.1", "evil.example", "1.2.3.4/33", "::ffff:0:0/64", "45.86.163.44/8", "203.0.113.77/24"} {
		if p, err := ParsePrefix(bad); err == nil {
			t.Errorf("ParsePrefix(%q) = %v, want error", bad, p)
		}
	}
}

func TestIPv6SpellingsEqual(t *testing.T) {
	a, _ := ParseAddr("2001:0DB8:0000:0000:0000:0000:0000:0010")
	b, _ := ParseAddr("2001:db8::10")
	c, _ := ParseAddr("[2001:db8::10]")
	if a != b || b != c {
		t.Fatalf("spellings differ: %v %v %v", a, b, c)
	}
	m, _ := ParseAddr("::ffff:198.51.100.7")
	if m != netip.MustParseAddr("198.51.100.7") {
		t.Fatalf("mapped address not unmapped: %v", m)
	}
}

func TestNonRoutableRejected(t *testing.T) {
	for _, v := range []string{
		"10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "127.0.0.1", "169.254.1.1",
		"0.0.0.0", "0.0.0.1", "100.64.0.1", "255.255.255.255", "198.18.0.1", "240.0.0.1",
		"64:ff9b::a00:1", "2002:a00:1::1", "224.0.0.1", "239.1.1.1", "fc00::1", "fd12::1", "::1", "fe80::1", "::", "ff02::1",
		"10.0.0.0/16", "192.168.0.0/16", "fe80::/64",
	} {
		_, err := NewObservable(TypeIP, "NetworkIP", v, "")
		var re *RejectError
		if !errors.As(err, &re) || re.Reason != "non-routable" {
			t.Errorf("%s: got %v, want non-routable", v, err)
		}
	}
	// Ranges that merely overlap private space are real indicators only
	// when they are not too broad; 8.0.0.0/6 covers 10/8 and is refused as
	// too broad, 172.15.0.0/16 sits next to 172.16/12 and is fine.
	if _, err := NewObservable(TypeIP, "NetworkIP", "8.0.0.0/6", ""); err == nil {
		t.Error("8.0.0.0/6 admitted")
	}
	for _, v := range []string{"172.15.0.1", "172.32.0.1", "100.128.0.1", "192.0.2.1", "203.0.113.9", "2001:db8::1", "1.10.16.0/20"} {
		if _, err := NewObservable(TypeIP, "NetworkIP", v, ""); err != nil {
			t.Errorf("%s rejected: %v", v, err)
		}
	}
}

func TestURLOnPrivateHostRefused(t *testing.T) {
	for _, u := range []string{"http://10.0.0.5/x", "http://[::1]/", "127.0.0.1:8080/a"} {
		if _, err := NewObservable(TypeURL, "Url", u, ""); err == nil {
			t.Errorf("%s admitted", u)
		}
	}
	if _, err := NewObservable(TypeURL, "Url", "http://203.0.113.9/x", ""); err != nil {
		t.Error(err)
	}
}

func TestObservableIPColumns(t *testing.T) {
	o, err := NewObservable(TypeIP, "NetworkIP", "203.0.113.0/24", "")
	if err != nil || o.Column != "NetworkCidrBlock" || o.Value != "203.0.113.0/24" {
		t.Fatalf("CIDR observable = %+v, %v", o, err)
	}
	o, err = NewObservable(TypeIP, "NetworkIP", "::ffff:203.0.113.9", "")
	if err != nil || o.Column != "NetworkIP" || o.Value != "203.0.113.9" {
		t.Fatalf("address observable = %+v, %v", o, err)
	}
}

func TestAppendDomain(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Evil.Example.COM", "evil.example.com"},
		{"evil.example.com.", "evil.example.com"},
		{"evil[.]example[.]com", "evil.example.com"},
		{"evil(.)example[dot]com", "evil.example.com"},
		{"bücher.example", "xn--bcher-kva.example"},
		{"BÜCHER.example", "xn--bcher-kva.example"},
		{"_dmarc.example.org", "_dmarc.example.org"},
	}
	for _, tt := range tests {
		b, err := AppendDomain(nil, tt.in)
		if err != nil || string(b) != tt.want {
			t.Errorf("AppendDomain(%q) = %q, %v; want %q", tt.in, b, err, tt.want)
		}
	}
	for _, bad := range []string{"", "localhost", "10.0.0.5", "203.0.113.9", "a..b", "evil example.com", "http://x.com/", ".com", "x.com..", "a/b.com"} {
		if b, err := AppendDomain(nil, bad); err == nil {
			t.Errorf("AppendDomain(%q) = %q, want error", bad, b)
		}
	}
}

func TestAppendURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://evil.example.com/p", "http://evil.example.com/p"},
		{"HTTP://Evil.Example.com/P", "http://evil.example.com/p"},
		{"evil.example.com/p", "http://evil.example.com/p"},
		{"evil.example.com", "http://evil.example.com/"},
		{"hxxp://evil[.]example[.]com/p", "http://evil.example.com/p"},
		{"hxxps[://]evil[.]example[.]com[:]8443/p", "https://evil.example.com:8443/p"},
		{"http://evil.example.com:80/p", "http://evil.example.com/p"},
		{"https://evil.example.com:443/p", "https://evil.example.com/p"},
		{"http://evil.example.com:443/p", "http://evil.example.com:443/p"},
		{"https://www.survey-xact.dk:443/smartdesigner.jpg", "https://www.survey-xact.dk/smartdesigner.jpg"},
		{"http://evil.example.com/a/./b/../c#frag", "http://evil.example.com/a/c"},
		{"http://evil.example.com/a/..", "http://evil.example.com/"},
		{"http://evil.example.com?q=1", "http://evil.example.com/?q=1"},
		{"http://evil.example.com/x?Q=A#f", "http://evil.example.com/x?q=a"},
		{"//evil.example.com/x", "http://evil.example.com/x"},
		{"http://user@evil.example.com:8080/x", "http://user@evil.example.com:8080/x"},
		{"http://[2001:db8::1]:80/x", "http://[2001:db8::1]/x"},
		{"http://bücher.example/x", "http://xn--bcher-kva.example/x"},
		{"103.14.120.121:8080/bins/x86", "http://103.14.120.121:8080/bins/x86"},
	}
	for _, tt := range tests {
		b, err := AppendURL(nil, tt.in)
		if err != nil || string(b) != tt.want {
			t.Errorf("AppendURL(%q) = %q, %v; want %q", tt.in, b, err, tt.want)
		}
	}
	for _, bad := range []string{"", "http://", "http:///x", "a b"} {
		if b, err := AppendURL(nil, bad); err == nil {
			t.Errorf("AppendURL(%q) = %q, want error", bad, b)
		}
	}
}

func TestURLHost(t *testing.T) {
	for in, want := range map[string]string{
		"http://evil.example.com/p":        "evil.example.com",
		"http://u:p@evil.example.com:81/p": "evil.example.com",
		"http://[2001:db8::1]:8080/":       "2001:db8::1",
		"https://evil.example.com?x":       "evil.example.com",
	} {
		if got := string(URLHost([]byte(in))); got != want {
			t.Errorf("URLHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAppendEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Bad@Evil.com", "bad@evil.com"},
		{"bad[@]evil[.]com", "bad@evil.com"},
		{"info@bücher.example", "info@xn--bcher-kva.example"},
	}
	for _, tt := range tests {
		b, err := AppendEmail(nil, tt.in)
		if err != nil || string(b) != tt.want {
			t.Errorf("AppendEmail(%q) = %q, %v; want %q", tt.in, b, err, tt.want)
		}
	}
	for _, bad := range []string{"", "bad", "@evil.com", "bad@", "a b@evil.com", "bad@localhost"} {
		if b, err := AppendEmail(nil, bad); err == nil {
			t.Errorf("AppendEmail(%q) = %q, want error", bad, b)
		}
	}
}

func TestHashes(t *testing.T) {
	b, h, err := AppendHash(nil, "44D88612FEA8A8F36DE82E1278ABB02F")
	if err != nil || string(b) != "44d88612fea8a8f36de82e1278abb02f" || h != MD5 {
		t.Fatalf("MD5: %q %v %v", b, h, err)
	}
	for n, want := range map[int]HashType{40: SHA1, 64: SHA256, 128: SHA512} {
		s := make([]byte, n)
		for i := range s {
			s[i] = 'A'
		}
		if _, h, err := AppendHash(nil, string(s)); err != nil || h != want {
			t.Errorf("%d digits: %v %v, want %v", n, h, err, want)
		}
	}
	if _, _, err := AppendHash(nil, "zz d88612fea8a8f36de82e1278abb02f"); err == nil {
		t.Error("non-hex accepted")
	}
	if _, err := NewObservable(TypeFileHash, "FileHashValue", "44d88612fea8a8f36de82e1278abb02f", "SHA-256"); err == nil {
		t.Error("declared SHA-256 on an MD5 accepted")
	} else if re := (*RejectError)(nil); !errors.As(err, &re) || re.Reason != "hash-type-mismatch" {
		t.Errorf("mismatch reason: %v", err)
	}
	o, err := NewObservable(TypeFileHash, "FileHashValue", "44d88612fea8a8f36de82e1278abb02f", "MD5")
	if err != nil || o.Hash != MD5 {
		t.Errorf("declared MD5: %+v %v", o, err)
	}
}

// TestNormalisationAllocs pins the event-side promise: normalising an
// already-normal value into a scratch buffer does not allocate.
func TestNormalisationAllocs(t *testing.T) {
	buf := make([]byte, 0, 256)
	n := testing.AllocsPerRun(100, func() {
		buf, _ = AppendDomain(buf[:0], "www.example.com")
		buf, _ = AppendURL(buf[:0], "http://www.example.com/a/b?c=d")
		buf, _ = AppendEmail(buf[:0], "someone@example.com")
		buf, _, _ = AppendHash(buf[:0], "44D88612FEA8A8F36DE82E1278ABB02F")
		ParseAddr("2001:db8::1")
	})
	if n != 0 {
		t.Errorf("allocations per run = %v, want 0", n)
	}
}
