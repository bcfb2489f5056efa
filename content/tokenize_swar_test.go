package content

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSWAR checks the eight-bytes-at-once helpers against their byte by
// byte definitions: every byte value in every position, among random
// neighbours.
func TestSWAR(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for pos := range 8 {
		for b := range 256 {
			for range 8 {
				var buf [8]byte
				for i := range buf {
					buf[i] = byte(rng.IntN(256))
				}
				buf[pos] = byte(b)
				x := load8(string(buf[:]), 0)

				want := 8
				for i, c := range buf {
					if isSpace(c) {
						want = i
						break
					}
				}
				require.Equal(t, want, firstSpace(x), "%q", buf)

				lx := lowerPacked(x)
				for i, c := range buf {
					require.Equal(t, lowerASCII[c], byte(lx>>(8*i)), "%q byte %d", buf, i)
				}
				for n := 0; n <= 8; n++ {
					require.Equal(t, fnvLower(fnvOffset, string(toValidASCII(buf[:n]))), fnvPacked(fnvOffset, lowerPacked(load8(string(toValidASCII(buf[:])), 0)), n))
				}
			}
		}
	}
}

// toValidASCII clears the high bit of every byte (fnvLower takes a
// different path for non-ASCII words; the fast path never hashes them).
func toValidASCII(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = c & 0x7f
	}
	return out
}

// textByWord is tokenizer.text without the fast path: every word goes to
// word.
func (tk *tokenizer) textByWord(ns uint8, s string) {
	if ns == nsBody {
		if tk.bodyBytes >= maxTokenText {
			return
		}
		if rem := maxTokenText - tk.bodyBytes; len(s) > rem {
			s = s[:rem]
		}
		tk.bodyBytes += len(s)
	}
	src, ok := tk.source(s)
	if !ok {
		return
	}
	for i := 0; i < len(s) && !tk.full; {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		j := i
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		if j > i {
			tk.word(ns, src, i, s[i:j])
		}
		i = j
	}
}

// FuzzTokenizerText: the fast path of text gives exactly the tokens that
// word gives, in the same order.
func FuzzTokenizerText(f *testing.F) {
	for _, s := range []string{
		"the quick Brown fox, (jumps) over \"the\" lazy dog.\r\n",
		"a an the of to in\tit\vis\fok\r\nNO yes... «ça» naïve Ünïcode 你好世界 ab\x00cd",
		"http://x.example/a www.example.com (https://y.example) user@example.com supercalifragilistic 1234567 12345678",
		"'quoted' [brackets] {braces} <angle> *star* `tick` ;semi: ?q? !bang! $19.99 don't",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, ns := range []uint8{nsBody, nsSubject} {
			var fast, slow tokenizer
			fast.text(ns, s)
			slow.textByWord(ns, s)
			require.Equal(t, slow.toks, fast.toks, "%q", s)
		}
	})
}
