package content

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// appendCollapsedByByte is the plain definition of appendCollapsed: one
// byte at a time, the limit checked before each.
func appendCollapsedByByte(dst, t []byte, max int) []byte {
	space := len(dst) > 0 && dst[len(dst)-1] != ' '
	for i := 0; i < len(t) && len(dst) < max; i++ {
		c := t[i]
		if c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' {
			space = true
			continue
		}
		if space && len(dst) > 0 {
			dst = append(dst, ' ')
		}
		space = false
		dst = append(dst, c)
	}
	if len(dst) > 0 && dst[len(dst)-1] != ' ' {
		dst = append(dst, ' ')
	}
	return dst
}

// TestAppendCollapsed: the run-copying appendCollapsed agrees with the
// byte-by-byte definition, limits included.
func TestAppendCollapsed(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 40000 {
		// Half the inputs are mostly words and single spaces (the text
		// that is copied in runs), half any mix of white space.
		alphabet := []byte("ab \n\r\t\f\vé")
		if n%2 == 0 {
			alphabet = []byte("abcab abcab é\n")
		}
		dst := make([]byte, rng.IntN(6))
		for i := range dst {
			dst[i] = alphabet[rng.IntN(len(alphabet))]
		}
		src := make([]byte, rng.IntN(40))
		for i := range src {
			src[i] = alphabet[rng.IntN(len(alphabet))]
		}
		max := rng.IntN(50)
		want := appendCollapsedByByte(append([]byte(nil), dst...), src, max)
		got := appendCollapsed(append([]byte(nil), dst...), src, max)
		require.Equal(t, string(want), string(got), "dst %q src %q max %d", dst, src, max)
	}
}
