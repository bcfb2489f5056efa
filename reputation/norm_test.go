package reputation

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNormValidDomain(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"mail.example.com", "mail.example.com", true},
		{"mail.example.com.", "mail.example.com", true},
		{"Mail.Example.COM.", "mail.example.com", true},
		{"a.example..", "a.example.", false},
		{"", "", false},
		{".", "", false},
		{".a.example", ".a.example", false},
		{"a..b", "a..b", false},
		{"a b.example", "a b.example", false},
		{"a\x7f.example", "a\x7f.example", false},
		{strings.Repeat("a", 253), strings.Repeat("a", 253), true},
		{strings.Repeat("a", 254), strings.Repeat("a", 254), false},
		{"bücher.example", "bücher.example", true},
	}
	for _, tt := range tests {
		got, ok := normValidDomain(tt.in)
		require.Equal(t, tt.ok, ok, "%q", tt.in)
		if ok {
			require.Equal(t, tt.want, got, "%q", tt.in)
		}
	}
}

// FuzzNormValidDomain checks the one-pass normValidDomain against
// normDomain followed by validDomain.
func FuzzNormValidDomain(f *testing.F) {
	for _, s := range []string{"", ".", "..", "a.example..", "A.Example.", "a..b", "a b", "x\x7f", "é.EXAMPLE", "\xffA.b", "a.example", ".a", "a.", "Mail.Example.COM."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := normValidDomain(s)
		want := normDomain(s)
		require.Equal(t, validDomain(want), ok, "%q", s)
		if ok {
			require.Equal(t, want, got, "%q", s)
		}
	})
}
