package content

import (
	"bytes"
	"github.com/mailscore/mailscore/internal/testdata"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

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

// hostBytesByPasses is hostBytes as first written, one pass per step.
func hostBytesByPasses(u []byte) []byte {
	u = bytes.TrimSpace(u)
	switch {
	case hasPrefixFoldBytes(u, "http://"):
		u = u[7:]
	case hasPrefixFoldBytes(u, "https://"):
		u = u[8:]
	case bytes.HasPrefix(u, []byte("//")):
		u = u[2:]
	default:
		return nil
	}
	for len(u) > 0 && (u[0] == '/' || u[0] == '\\') {
		u = u[1:]
	}
	if i := bytes.IndexAny(u, "/?#\\"); i >= 0 {
		u = u[:i]
	}
	if i := bytes.LastIndexByte(u, '@'); i >= 0 {
		u = u[i+1:]
	}
	if i := bytes.LastIndexByte(u, ':'); i >= 0 && bytes.IndexByte(u, ']') < 0 {
		u = u[:i]
	}
	for len(u) > 0 && u[len(u)-1] == '.' {
		u = u[:len(u)-1]
	}
	return u
}

// TestHostBytes: the one-pass hostBytes agrees with the step-by-step
// definition on URLs built from the characters that matter.
func TestHostBytes(t *testing.T) {
	for _, u := range []string{
		"http://a.example/x", "HTTPS://User:pw@Host.Example:8080/p?q#f", "//cdn.example", "http://[2001:db8::1]:80/",
		"http://a@b@c:1", "http://a:1@b", "http://x]:1", "https://h.example.", "http:///\\\\h/", " http://h ", "ftp://h", "",
	} {
		require.Equal(t, string(hostBytesByPasses([]byte(u))), string(hostBytes([]byte(u))), "%q", u)
	}
	parts := []string{"http://", "https://", "//", "/", "\\", "@", ":", "]", "[", ".", "?", "#", "a", "b1", " ", "HTTP://"}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 50000 {
		var u []byte
		for range rng.IntN(8) {
			u = append(u, parts[rng.IntN(len(parts))]...)
		}
		require.Equal(t, string(hostBytesByPasses(u)), string(hostBytes(u)), "%q", u)
	}
}

// memoCases repeat the same start tags where what they mean depends on
// the elements around them, and tags the memo must not keep.
var memoCases = []string{
	`<body bgcolor=black><div><font color=white>a</font></div><div bgcolor=white><font color=white>hidden</font></div><font color=white>b</font></body>`,
	`<p style="color:#fff">x</p><div style="background:#fff"><p style="color:#fff">hidden</p></div><p style="color:#fff">y</p>`,
	`<span onclick=go()>a</span><span onclick=go()>b</span><span onclick=go()>c</span>`,
	`<div style="display:none"><p>hidden</p></div><div style="display:none">more</div><p>shown</p><div hidden>h</div><div hidden>h</div>`,
	`<a href="http://x.example">bank.example</a><a href="http://x.example">bank.example</a><a>plain</a><a>plain</a>`,
	`<img src=http://t.example/p.gif width=1 height=1><img src=http://t.example/p.gif width=1 height=1><br><br/><br>`,
	`<div href="javascript:x()">a</div><div href="javascript:x()">b</div><form><input type=password><input type=password></form>`,
	`<table><tr><td bgcolor=#000><font color=#000>x</font><td bgcolor=#000><font color=#000>y</font><tr><td>z</table>`,
	`<title>t</title><title>t</title><style>@import url(x)</style><style>@import url(x)</style><p>` + strings.Repeat(`<p style="font-size:1px">tiny `, 30),
	`<body text=white bgcolor=white>w</body><body text=white bgcolor=white>w</body>`,
	strings.Repeat(`<div class="c`+strings.Repeat("x", 300)+`">long</div>`, 3),
	strings.Repeat(`<td style="width:0;overflow:hidden">z</td><td style="opacity:0.01">o</td><li>`, 70),
	// The last-host cache: same scheme and authority, or not quite.
	`<a href="http://a.example/x">1</a><a href="http://a.example/y">2</a><a href="http://a.example.evil/x">3</a><a href="http://a.example">4</a><a href="http://a.example:8080/">5</a>`,
	`<a href="http://">1</a><a href="http:///evil.example/">2</a><a href="http://\\evil.example">3</a><a href="//">4</a><a href="///x.example">5</a>`,
	`<a href="http://U@A.Example/x">1</a><a href="http://U@A.Example/y">2</a><a href=" http://U@A.Example?z ">3</a><a href="HTTP://u@a.example#f">4</a>`,
	`<img src="https://t.example/1.gif" width=1 height=1><a href="https://t.example">t.example</a><a href="https://t.example/">www.bank.example</a>`,
	`<a href="http://[2001:db8::1]:80/a">1</a><a href="http://[2001:db8::1]:80/b">2</a><a href="http://h:1@k/">3</a><a href="http://h:1@k?">4</a>`,
}

// TestTagMemo: the walk gives the same statistics and text with the tag
// memo as without, on documents made to trip it and on the shared corpora.
func TestTagMemo(t *testing.T) {
	docs := memoCases
	if _, ok := testdata.Root(); ok {
		_, corpus := corpusHTML(t)
		docs = append(docs, corpus...)
	}
	var z htmlLexer
	var with, without htmlWalker
	without.memoOff = true
	for _, src := range docs {
		var st, st0 htmlStats
		var text, text0 []byte
		with.analyze(&z, src, &st, &text)
		without.analyze(&z, src, &st0, &text0)
		require.Equal(t, st0, st, "%.200q", src)
		require.Equal(t, string(text0), string(text), "%.200q", src)
	}
}

// countVisibleByRune is countVisible's definition, one rune at a time.
func countVisibleByRune(t []byte) int {
	n := 0
	for i := 0; i < len(t); {
		r, size := utf8.DecodeRune(t[i:])
		if r < utf8.RuneSelf && t[i] > ' ' || r >= utf8.RuneSelf && !unicode.IsSpace(r) && r != '\u00a0' && !isInvisible(r) {
			n++
		}
		i += size
	}
	return n
}

// TestCountVisible: counting eight ASCII bytes at a time agrees with the
// rune-by-rune definition, whatever mix of ASCII, other scripts, invisible
// characters and broken UTF-8.
func TestCountVisible(t *testing.T) {
	pieces := []string{"a", "Z", " ", "\t", "\n", "\x00", "\x1f", "!", "~", "\x7f", "é", "\u00a0", "\u200b", "\u3000", "你", "\xff", "\xc3", "abcdefgh", "        "}
	rng := rand.New(rand.NewPCG(9, 10))
	for range 50000 {
		var b []byte
		for range rng.IntN(30) {
			b = append(b, pieces[rng.IntN(len(pieces))]...)
		}
		require.Equal(t, countVisibleByRune(b), countVisible(b), "%q", b)
	}
}
