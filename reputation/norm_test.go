package reputation

import (
	"math"
	"math/rand/v2"
	"strconv"
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

func TestDomainByte(t *testing.T) {
	for c := range 256 {
		want := byte(0)
		switch {
		case c <= ' ' || c == 0x7f:
			want = 1
		case 'A' <= c && c <= 'Z':
			want = 2
		case c == '.':
			want = 3
		}
		require.Equal(t, want, domainByte[c], "octet %#x", c)
	}
}

func TestAppendInt(t *testing.T) {
	for _, n := range []int64{0, 1, 9, 10, 42, 99, 100, 101, 999, 1000, 12345, -1, -10, -999, math.MaxInt64, math.MinInt64} {
		require.Equal(t, strconv.FormatInt(n, 10), string(appendInt([]byte("x"), n))[1:], "%d", n)
	}
	for n := range int64(2000) {
		require.Equal(t, strconv.FormatInt(n, 10), string(appendInt(nil, n)))
	}
	r := rand.New(rand.NewPCG(3, 4))
	p := int64(1)
	for range 18 {
		p *= 10
		for _, n := range []int64{p - 1, p, p + 1, r.Int64N(p), -r.Int64N(p)} {
			require.Equal(t, strconv.FormatInt(n, 10), string(appendInt([]byte("ab"), n))[2:], "%d", n)
		}
	}
}

func TestRound(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	xs := []float64{0, math.Copysign(0, -1), 0.5, -0.5, 1.5, -1.5, 2.5, 0.49999999999999994, -0.49999999999999994,
		math.Nextafter(0.5, 0), math.Nextafter(0.5, 1), 4503599627370495.5, 4503599627370496, 1 << 53, -(1 << 60) - 0.5,
		math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.NaN()}
	for range 100000 {
		xs = append(xs, (r.Float64()-0.5)*math.Pow(2, float64(r.IntN(130)-60)), math.Float64frombits(r.Uint64()))
	}
	for _, x := range xs {
		if math.IsNaN(x) {
			require.True(t, math.IsNaN(round(x))) // the payload may be quieted
			continue
		}
		require.Equal(t, math.Float64bits(math.Round(x)), math.Float64bits(round(x)), "%v", x)
	}
}
