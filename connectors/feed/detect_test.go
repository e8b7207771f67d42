package feed

import (
	"testing"

	"timap/engine"
)

func TestDetect(t *testing.T) {
	for _, c := range []struct {
		in   string
		want engine.ObservableType
		val  string
		port string
		why  string
	}{
		{"77.90.185.20", engine.TypeIP, "77.90.185.20", "", ""},
		{"2400:6180:0:d0::1008:2001", engine.TypeIP, "2400:6180:0:d0::1008:2001", "", ""},
		{"1.10.16.0/20", engine.TypeIP, "1.10.16.0/20", "", ""},
		{"2a12:2640::/29", engine.TypeIP, "2a12:2640::/29", "", ""},
		{"66.210.228.178:443", engine.TypeIP, "66.210.228.178", "443", ""},
		{"[2001:db8::1]:8443", engine.TypeIP, "2001:db8::1", "8443", ""},
		{"1[.]2[.]3[.]4", engine.TypeIP, "1.2.3.4", "", ""},
		{"300.1.2.3", engine.TypeIP, "300.1.2.3", "", ""}, // the engine refuses it as invalid-ip
		{"http://regionsnews.net/OEqhU8Lg5", engine.TypeURL, "http://regionsnews.net/OEqhU8Lg5", "", ""},
		{"hxxp://evil[.]example/a", engine.TypeURL, "http://evil.example/a", "", ""},
		{"hwthurmann.de/wp/chromium/", engine.TypeURL, "hwthurmann.de/wp/chromium/", "", ""},
		{"crmweb.info:443/bitrix/rc9XjtwF/", engine.TypeURL, "crmweb.info:443/bitrix/rc9XjtwF/", "", ""},
		{"evil.example?q=1", engine.TypeURL, "evil.example?q=1", "", ""},
		{"Phish@Evil.Example", engine.TypeEmail, "Phish@Evil.Example", "", ""},
		{"phish[@]evil[.]example", engine.TypeEmail, "phish@evil.example", "", ""},
		{"f211694aaf443b12b2eca9f5e7f25407", engine.TypeFileHash, "f211694aaf443b12b2eca9f5e7f25407", "", ""},
		{"ff7b2c3938306261881c42e78d0df51d9bcdd574", engine.TypeFileHash, "ff7b2c3938306261881c42e78d0df51d9bcdd574", "", ""},
		{"5332BA6BABF7437E6EAB5E2C9F10B14A7C6440EEE282F3312033D17CCC87EE6D", engine.TypeFileHash, "5332BA6BABF7437E6EAB5E2C9F10B14A7C6440EEE282F3312033D17CCC87EE6D", "", ""},
		{"sg1932.craftum.io", engine.TypeDomain, "sg1932.craftum.io", "", ""},
		{"evil.example:8080", engine.TypeDomain, "evil.example", "8080", ""},
		{"/izuku.arm7", 0, "/izuku.arm7", "", reasonPathOnly},
		{"Jan-19", 0, "Jan-19", "", reasonUnrecognised},
		{"18.197.239.109:66086", 0, "18.197.239.109:66086", "", reasonPort},
		{"74.119.194.180:0", 0, "74.119.194.180:0", "", reasonPort},
		{"two words", 0, "two words", "", reasonUnrecognised},
		{"", 0, "", "", reasonUnrecognised},
	} {
		typ, val, port, why := detect(c.in)
		if typ != c.want || val != c.val || port != c.port || why != c.why {
			t.Errorf("detect(%q) = %v %q %q %q, want %v %q %q %q", c.in, typ, val, port, why, c.want, c.val, c.port, c.why)
		}
		if typ, val := Detect(c.in); typ != c.want || val != c.val {
			t.Errorf("Detect(%q) = %v %q", c.in, typ, val)
		}
	}
}

func TestSplitLine(t *testing.T) {
	for _, c := range []struct {
		in   string
		want entry
	}{
		{"77.90.185.20\t10", entry{value: "77.90.185.20", count: "10"}},
		{"129.82.138.12 # pinger1a.netsec.colostate.edu", entry{value: "129.82.138.12", comment: "pinger1a.netsec.colostate.edu"}},
		{"71.6.135.131   # census7.shodan.io", entry{value: "71.6.135.131", comment: "census7.shodan.io"}},
		{"1.10.16.0/20 ; SBL256894", entry{value: "1.10.16.0/20", comment: "SBL256894"}},
		{"ce58;Dark Caracal - PE32 executable (GUI) Intel 80386", entry{value: "ce58", comment: "Dark Caracal - PE32 executable (GUI) Intel 80386"}},
		{"176.123.5.126;65", entry{value: "176.123.5.126", score: "65"}},
		{"/tmp;rm+-rf+*;wget+0.0.0.0", entry{value: "/tmp;rm+-rf+*;wget+0.0.0.0"}},
		{"http://x.example/a;jsessionid=1", entry{value: "http://x.example/a;jsessionid=1"}},
		{"0.0.0.0 evil.example", entry{value: "evil.example"}},
		{"evil.example phishing kit", entry{value: "evil.example", comment: "phishing kit"}},
	} {
		if got := splitLine(c.in); got != c.want {
			t.Errorf("splitLine(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}
