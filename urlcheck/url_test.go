package urlcheck

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore/internal/testdata"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		raw     string
		want    string // String()
		domain  string
		icann   string
		flags   Flag
		display string
	}{
		// Plain forms.
		{"http://www.example.com/a?b#c", "http://www.example.com/a?b#c", "example.com", "example.com", 0, ""},
		{"HTTPS://WWW.Example.COM", "https://www.example.com/", "example.com", "example.com", 0, ""},
		{"https://example.com:443/x", "https://example.com/x", "example.com", "example.com", 0, ""},
		{"http://example.com:80/", "http://example.com/", "example.com", "example.com", 0, ""},
		{"http://example.com:0080/", "http://example.com/", "example.com", "example.com", 0, ""},
		{"http://example.com:8080/", "http://example.com:8080/", "example.com", "example.com", FlagPort, ""},
		{"ftp://files.example.org:21/x", "ftp://files.example.org/x", "example.org", "example.org", 0, ""},
		{"  http://example.com/\t\n ", "http://example.com/", "example.com", "example.com", 0, ""},
		{"http://exa\nmple.com/", "http://example.com/", "example.com", "example.com", 0, ""},
		{"http://example.com./", "http://example.com/", "example.com", "example.com", FlagTrailingDot, ""},
		{"//cdn.example.net/x.js", "https://cdn.example.net/x.js", "example.net", "example.net", 0, ""},
		{"www.example.co.uk/offer", "http://www.example.co.uk/offer", "example.co.uk", "example.co.uk", FlagBare, ""},
		// Public Suffix List: private section counted in Domain, not in ICANNDomain.
		{"https://a.tenant.pages.dev/x", "https://a.tenant.pages.dev/x", "tenant.pages.dev", "pages.dev", 0, ""},
		{"https://user.github.io/", "https://user.github.io/", "user.github.io", "github.io", 0, ""},
		{"http://foo.bar.unknowntld/", "http://foo.bar.unknowntld/", "bar.unknowntld", "bar.unknowntld", 0, ""},
		{"http://localhost/", "http://localhost/", "", "", 0, ""},
		{"http://co.uk/", "http://co.uk/", "", "", 0, ""},
		{"http://r3---sn-abc.googlevideo.com/v", "http://r3---sn-abc.googlevideo.com/v", "googlevideo.com", "googlevideo.com", 0, ""},
		// Numeric hosts (WHATWG IPv4 parser).
		{"http://66.92.69.222/", "http://66.92.69.222/", "", "", FlagNumericHost, ""},
		{"http://0x425c45de/", "http://66.92.69.222/", "", "", FlagNumericHost | FlagObfuscatedIP, ""},
		{"http://66.92.0x45.221/", "http://66.92.69.221/", "", "", FlagNumericHost | FlagObfuscatedIP, ""},
		{"http://1113343455/", "http://66.92.69.223/", "", "", FlagNumericHost | FlagObfuscatedIP, ""},
		{"http://2742879943/ATV", "http://163.125.6.199/ATV", "", "", FlagNumericHost | FlagObfuscatedIP, ""},
		{"http://0177.0.0.1/", "http://127.0.0.1/", "", "", FlagNumericHost | FlagObfuscatedIP, ""},
		{"http://0x7f.1/", "http://127.0.0.1/", "", "", FlagNumericHost | FlagObfuscatedIP, ""},
		{"http://127.1/", "http://127.0.0.1/", "", "", FlagNumericHost | FlagObfuscatedIP, ""},
		{"http://10.0.258/", "http://10.0.1.2/", "", "", FlagNumericHost | FlagObfuscatedIP, ""},
		{"http://0x0A.0.0.01/", "http://10.0.0.1/", "", "", FlagNumericHost | FlagObfuscatedIP, ""},
		{"http://1.2.3.4./", "http://1.2.3.4/", "", "", FlagNumericHost | FlagTrailingDot, ""},
		{"http:///path", "http://path/", "", "", FlagOddSlashes, ""},
		{"http://[2001:DB8::1]:8080/", "http://[2001:db8::1]:8080/", "", "", FlagNumericHost | FlagPort, ""},
		{"http://[::ffff:127.0.0.1]/", "http://[::ffff:127.0.0.1]/", "", "", FlagNumericHost | FlagObfuscatedIP, ""},
		// Userinfo.
		{"https://bank.example@evil.example/login", "https://evil.example/login", "evil.example", "evil.example", FlagUserinfo | FlagDeceptiveUserinfo, ""},
		{"http://slashdot.org@1113343456/", "http://66.92.69.224/", "", "", FlagNumericHost | FlagObfuscatedIP | FlagUserinfo | FlagDeceptiveUserinfo, ""},
		{"http://www%2epaypal%2ecom:pw@evil.example/", "http://evil.example/", "evil.example", "evil.example", FlagUserinfo | FlagDeceptiveUserinfo, ""},
		{"ftp://anonymous:x@ftp.example.org/", "ftp://ftp.example.org/", "example.org", "example.org", FlagUserinfo, ""},
		{"http://a@b@evil.example/", "http://evil.example/", "evil.example", "evil.example", FlagUserinfo, ""},
		// Percent-encoded and odd hosts.
		{"http://%65%76%69%6c.example/", "http://evil.example/", "evil.example", "evil.example", FlagPercentHost, ""},
		{"http://%31%32%37.0.0.1/", "http://127.0.0.1/", "", "", FlagPercentHost | FlagNumericHost, ""},
		{`http:/\evil.example\@bank.example/`, `http://evil.example\@bank.example/`, "evil.example", "evil.example", FlagOddSlashes, ""},
		{"http:evil.example/x", "http://evil.example/x", "evil.example", "evil.example", FlagOddSlashes, ""},
		{"http:////evil.example/", "http://evil.example/", "evil.example", "evil.example", FlagOddSlashes, ""},
		// IDNA.
		{"http://bücher.de/", "http://xn--bcher-kva.de/", "xn--bcher-kva.de", "xn--bcher-kva.de", FlagIDN, "bücher.de"},
		{"http://XN--BCHER-KVA.DE/", "http://xn--bcher-kva.de/", "xn--bcher-kva.de", "xn--bcher-kva.de", FlagIDN, "bücher.de"},
		{"http://b%C3%BCcher.de/", "http://xn--bcher-kva.de/", "xn--bcher-kva.de", "xn--bcher-kva.de", FlagIDN | FlagPercentHost, "bücher.de"},
		{"http://pаypal.com/", "http://xn--pypal-4ve.com/", "xn--pypal-4ve.com", "xn--pypal-4ve.com", FlagIDN, "pаypal.com"},
		{"http://ＥＸＡＭＰＬＥ。com/", "http://example.com/", "example.com", "example.com", FlagMappedHost, ""},
		// Mailto.
		{"mailto:Sales@Example.COM?subject=hi", "mailto:Sales@example.com", "example.com", "example.com", 0, ""},
		{"MAILTO:a%40b@example.org", "mailto:a@b@example.org", "example.org", "example.org", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			u, err := Normalize(tt.raw)
			require.NoError(t, err)
			require.Equal(t, tt.want, u.String())
			require.Equal(t, tt.domain, u.Domain, "Domain")
			require.Equal(t, tt.icann, u.ICANNDomain, "ICANNDomain")
			require.Equal(t, tt.flags.String(), u.Flags.String(), "flags")
			if tt.display != "" {
				require.Equal(t, tt.display, u.DisplayHost())
			} else {
				require.Equal(t, u.Host, u.DisplayHost())
			}
			require.Equal(t, u.Flags&FlagNumericHost != 0, u.IP.IsValid())
			// Normalizing again is stable.
			if u.Scheme != "mailto" && !strings.Contains(tt.want, `\`) {
				v, err := Normalize(u.String())
				require.NoError(t, err)
				require.Equal(t, u.String(), v.String())
			}
		})
	}
}

func TestNormalizeErrors(t *testing.T) {
	tests := []struct {
		raw  string
		want error
	}{
		{"javascript:alert(1)", ErrScheme},
		{"data:text/html,hi", ErrScheme},
		{"cid:part1@example.com", ErrScheme},
		{"file:///etc/passwd", ErrScheme},
		{"/relative/path", ErrNoHost},
		{"#top", ErrNoHost},
		{"", ErrNoHost},
		{"example.com", ErrNoHost}, // bare only with www.
		{"http://", ErrNoHost},
		{"http://user@/", ErrNoHost},
		{"mailto:nobody", ErrNoHost},
		{"http://evil.123/", ErrBadHost},         // ends in a number, not an address
		{"http://1.2.3.4.5/", ErrBadHost},        // five parts
		{"http://256.1.1.1/", ErrBadHost},        // part over 255
		{"http://1.2.3.0x1ff/", ErrBadHost},      // last part over 255
		{"http://4294967296/", ErrBadHost},       // over 2^32-1
		{"http://08.1.1.1/", ErrBadHost},         // bad octal
		{"http://exa mple.com/", ErrBadHost},     // space
		{"http://exa<mple.com/", ErrBadHost},     // forbidden code point
		{"http://a..b.com/", ErrBadHost},         // empty label
		{"http://%zz.com/", ErrBadHost},          // bad escape
		{"http://[::1/", ErrBadHost},             // unclosed bracket
		{"http://[fe80::1%25eth0]/", ErrBadHost}, // zone
		{"http://[1.2.3.4]/", ErrBadHost},        // not IPv6
		{"http://xn--a.com/", ErrBadHost},        // bad punycode
		{"http://" + strings.Repeat("a", 64) + ".com/", ErrBadHost},
		{"http://example.com:65536/", ErrBadPort},
		{"http://example.com:8o/", ErrBadPort},
		{"http://" + strings.Repeat("a", MaxURLLength) + ".com/", ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			_, err := Normalize(tt.raw)
			require.Error(t, err)
			require.True(t, errors.Is(err, tt.want), "got %v, want %v", err, tt.want)
		})
	}
}

func TestParseIPv4(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"0", "0.0.0.0"},
		{"0x", "0.0.0.0"},
		{"4294967295", "255.255.255.255"},
		{"0xffffffff", "255.255.255.255"},
		{"037777777777", "255.255.255.255"},
		{"1.2", "1.0.0.2"},
		{"1.2.3", "1.2.0.3"},
		{"1.0x10000", "1.1.0.0"},
		{"192.168.1", "192.168.0.1"},
		{"3232235777", "192.168.1.1"},
		{"0300.0250.01.01", "192.168.1.1"},
	}
	for _, tt := range tests {
		a, ok := parseIPv4(tt.in)
		require.True(t, ok, tt.in)
		require.Equal(t, tt.want, a.String(), tt.in)
	}
	for _, bad := range []string{"1.2.3.4.5", "1.16777216", "1.2.65536", "0x100000000", "09", "1..2", ""} {
		_, ok := parseIPv4(bad)
		require.False(t, ok, bad)
	}
}

func TestKnownTLD(t *testing.T) {
	require.True(t, knownTLD("example.com"))
	require.True(t, knownTLD("example.co.uk"))
	require.True(t, knownTLD("x.xn--p1ai"))
	require.False(t, knownTLD("example.invalidtld"))
	require.False(t, knownTLD("example.localhost"))
}

// TestPSLVectors checks URL.Domain (both sections of the Public Suffix
// List) against the list's official test vectors.
func TestPSLVectors(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(testdata.Dir(t, "dmarc", "psl"), "test_psl.txt"))
	require.NoError(t, err)
	re := regexp.MustCompile(`^checkPublicSuffix\((null|'[^']*'), (null|'[^']*')\);`)
	pass, total := 0, 0
	for line := range strings.SplitSeq(string(raw), "\n") {
		m := re.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil || m[1] == "null" {
			continue
		}
		in, want := strings.Trim(m[1], "'"), ""
		if m[2] != "null" {
			want, err = idnaProfile.ToASCII(strings.Trim(m[2], "'"))
			require.NoError(t, err)
		}
		total++
		u, _ := Normalize("http://" + in + "/")
		if u.Domain == want {
			pass++
		} else {
			t.Errorf("%s: Domain %q, want %q", in, u.Domain, want)
		}
	}
	t.Logf("%d of %d Public Suffix List test vectors pass", pass, total)
	require.Positive(t, total)
}
