package urlcheck

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSkeleton(t *testing.T) {
	tests := []struct{ in, want string }{
		{"paypal.com", "paypal.com"},
		{"pаypal.com", "paypal.com"}, // Cyrillic а
		{"pаyраl.com", "paypal.com"}, // Cyrillic а, р, а
		{"paypa1.com", "paypal.com"},
		{"pàypal.com", "paypal.com"}, // a mark
		{"ｐａｙｐａｌ.com", "paypal.com"},
		{"rnicrosoft.com", "microsoft.com"},
		{"vvikipedia.org", "wikipedia.org"},
		{"gοοgle.com", "google.com"}, // Greek omicrons
		{"аррӏе.com", "apple.com"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, skeleton(tt.in), tt.in)
	}
}

func TestAllowedMix(t *testing.T) {
	require.True(t, allowedMix(nil))
	require.True(t, allowedMix([]string{"Cyrillic"}))
	require.True(t, allowedMix([]string{"Latin", "Han", "Hiragana", "Katakana"}))
	require.True(t, allowedMix([]string{"Latin", "Han", "Bopomofo"}))
	require.True(t, allowedMix([]string{"Han", "Hangul"}))
	require.False(t, allowedMix([]string{"Latin", "Cyrillic"}))
	require.False(t, allowedMix([]string{"Latin", "Greek"}))
	require.False(t, allowedMix([]string{"Hiragana", "Hangul"}))
	require.False(t, allowedMix([]string{"Bopomofo", "Katakana"}))
}

func TestScriptLookalike(t *testing.T) {
	tests := []struct{ host, kind string }{
		{"pаypal.com", "mixed-script"},
		{"аррӏе.com", "whole-script"},
		{"аррӏе.ru", ""},      // Cyrillic at home
		{"яндекс.рф", ""},     // not all letters pass for Latin
		{"пример.com", ""},    // idem
		{"日本語.jp", ""},        // Han
		{"ひらがなカタカナ漢字.jp", ""}, // Japanese mix
		{"ελληνικά.gr", ""},
		{"bücher.de", ""},
		{"example.com", ""},
	}
	for _, tt := range tests {
		u, err := Normalize("http://" + tt.host + "/")
		require.NoError(t, err, tt.host)
		la, ok := scriptLookalike(&u)
		require.Equal(t, tt.kind != "", ok, tt.host)
		require.Equal(t, tt.kind, la.Kind, tt.host)
	}
}

func TestProtectedLookalike(t *testing.T) {
	prot := prepareProtected([]string{"paypal.com", "MyBank.example", "bad name!", "co.uk", "x.io"})
	require.Len(t, prot, 3, "invalid names and public suffixes are dropped")
	tests := []struct{ host, kind, of string }{
		{"www.paypal.com", "", ""},
		{"paypal.com", "", ""},
		{"pаypal.com", "confusable", "paypal.com"},
		{"paypa1.com", "confusable", "paypal.com"},
		{"secure.paypa1.co.uk", "confusable", "paypal.com"}, // same label, other suffix, confusable letters
		{"paypal.co.uk", "other-suffix", "paypal.com"},
		{"mybank.example", "", ""},
		{"rnybank.example", "confusable", "mybank.example"},
		{"mybank.example.login-check.example", "embedded", "mybank.example"},
		{"paypal.com-secure.example", "", ""}, // not a label boundary: out of scope
		{"x.ie", "", ""},                      // protected labels shorter than 4 letters are matched whole only
		{"example.com", "", ""},
	}
	for _, tt := range tests {
		u, err := Normalize("http://" + tt.host + "/")
		require.NoError(t, err, tt.host)
		la, ok := protectedLookalike(&u, prot)
		require.Equal(t, tt.kind != "", ok, tt.host)
		require.Equal(t, tt.kind, la.Kind, tt.host)
		require.Equal(t, tt.of, la.Protected, tt.host)
	}
}
