package dkim

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// refBody is a plain, line-at-a-time reading of RFC 6376 sections 3.4.3
// and 3.4.4, to check the streaming canonicalizer against.
func refBody(body []byte, relaxed bool) []byte {
	var lines [][]byte
	for len(body) > 0 {
		j := bytes.IndexByte(body, '\n')
		if j < 0 {
			lines = append(lines, body)
			break
		}
		line := body[:j]
		line = bytes.TrimSuffix(line, []byte("\r"))
		lines = append(lines, line)
		body = body[j+1:]
	}
	if relaxed {
		for i, l := range lines {
			var out []byte
			space := false
			for _, c := range l {
				if c == ' ' || c == '\t' {
					space = true
					continue
				}
				if space {
					out = append(out, ' ')
					space = false
				}
				out = append(out, c)
			}
			lines[i] = out // trailing WSP dropped
		}
	}
	for len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	var out []byte
	for _, l := range lines {
		out = append(append(out, l...), '\r', '\n')
	}
	if len(out) == 0 && !relaxed {
		out = []byte("\r\n")
	}
	return out
}

// canonBody runs the streaming canonicalizer over body cut into the given
// chunks and returns what it hashed and the total length it counted.
func canonBody(body []byte, relaxed bool, limit int64, cuts []int) ([]byte, int64) {
	rec := &recorder{}
	hb := &hashBuf{h: rec}
	var bc bodyCanon
	bc.reset(hb, relaxed, limit)
	prev := 0
	for _, c := range cuts {
		bc.Write(body[prev:c])
		prev = c
	}
	bc.Write(body[prev:])
	bc.finish()
	return rec.Bytes(), bc.total
}

func TestBodyCanonicalization(t *testing.T) {
	for _, c := range []struct {
		name, in, simple, relaxed string
	}{
		// RFC 6376 section 3.4.6.
		{"rfc6376 example", " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n", " C\r\nD E\r\n"},
		{"empty", "", "\r\n", ""},
		{"only empty lines", "\r\n\r\n\r\n", "\r\n", ""},
		{"no final line break", "abc", "abc\r\n", "abc\r\n"},
		{"white space line", "a\r\n \t \r\n", "a\r\n \t \r\n", "a\r\n"},
		{"bare LF", "a\nb\n\n", "a\r\nb\r\n", "a\r\nb\r\n"},
		{"mixed endings", "a\r\nb\nc", "a\r\nb\r\nc\r\n", "a\r\nb\r\nc\r\n"},
		{"bare CR is content", "a\rb\r\n", "a\rb\r\n", "a\rb\r\n"},
		{"CR at end", "a\r", "a\r\r\n", "a\r\r\n"},
		{"inner empty lines kept", "a\r\n\r\n\r\nb\r\n", "a\r\n\r\n\r\nb\r\n", "a\r\n\r\n\r\nb\r\n"},
		{"leading space kept", "  x  y  \r\n", "  x  y  \r\n", " x y\r\n"},
		{"tabs", "\tx\t\ty\r\n", "\tx\t\ty\r\n", " x y\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, relaxed := range []bool{false, true} {
				want := c.simple
				if relaxed {
					want = c.relaxed
				}
				require.Equal(t, want, string(refBody([]byte(c.in), relaxed)), "reference, relaxed=%v", relaxed)
				got, total := canonBody([]byte(c.in), relaxed, -1, nil)
				require.Equal(t, want, string(got), "relaxed=%v", relaxed)
				require.Equal(t, int64(len(want)), total)
			}
		})
	}
}

// TestBodyCanonicalizationStreaming checks, on random bodies cut into
// random chunks, that streaming gives the reference result, and that l=
// hashes exactly a prefix of it.
func TestBodyCanonicalizationStreaming(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", " ", "  ", "\t", "\r\n", "\r\n", "\n", "\r", "xyz", "\r\n\r\n"}
	n := 3000
	if testing.Short() {
		n = 300
	}
	for range n {
		var b strings.Builder
		for range rng.IntN(40) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		body := []byte(b.String())
		var cuts []int
		for range rng.IntN(4) {
			cuts = append(cuts, rng.IntN(len(body)+1))
		}
		sortInts(cuts)
		for _, relaxed := range []bool{false, true} {
			want := refBody(body, relaxed)
			got, total := canonBody(body, relaxed, -1, cuts)
			require.Equal(t, string(want), string(got), "body %q cuts %v relaxed=%v", body, cuts, relaxed)
			require.Equal(t, int64(len(want)), total)
			limit := int64(rng.IntN(len(want) + 2))
			got, total = canonBody(body, relaxed, limit, cuts)
			require.Equal(t, string(want[:min(int(limit), len(want))]), string(got), "l=%d", limit)
			require.Equal(t, int64(len(want)), total)
		}
	}
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

func TestHeaderCanonicalization(t *testing.T) {
	for _, c := range []struct {
		name, raw, simple, relaxed string
	}{
		// RFC 6376 section 3.4.6.
		{"rfc6376 A", "A: X\r\n", "A: X\r\n", "a:X\r\n"},
		{"rfc6376 B", "B : Y\t\r\n\tZ  \r\n", "B : Y\t\r\n\tZ  \r\n", "b:Y Z\r\n"},
		{"bare LF folds", "Subject: a\n b\n", "Subject: a\r\n b\r\n", "subject:a b\r\n"},
		{"no line break", "X-A:  v", "X-A:  v\r\n", "x-a:v\r\n"},
		{"empty value", "X-Empty:\r\n", "X-Empty:\r\n", "x-empty:\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			name, value, _ := strings.Cut(c.raw, ":")
			rec := &recorder{}
			w := &hashBuf{h: rec}
			writeSimpleHeader(w, []byte(c.raw), true)
			w.flush()
			require.Equal(t, c.simple, rec.String())
			rec.Reset()
			writeRelaxedHeader(w, strings.TrimRight(name, " \t"), []byte(value), true)
			w.flush()
			require.Equal(t, c.relaxed, rec.String())
		})
	}
}

// TestRelaxedIdempotent: canonicalizing relaxed output again changes
// nothing.
func TestRelaxedIdempotent(t *testing.T) {
	in := []byte("  a \t b  \r\n\r\n\tc\r\n \r\n\r\n")
	once, _ := canonBody(in, true, -1, nil)
	twice, _ := canonBody(once, true, -1, nil)
	require.Equal(t, string(once), string(twice))
}
