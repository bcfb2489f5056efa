package content

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/internal/testdata"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

// lexToken is one token as both lexers report it.
type lexToken struct {
	tt   html.TokenType
	raw  string
	text string // text, comment and doctype tokens
}

func xnetTokens(src string, max int) []lexToken {
	var out []lexToken
	z := html.NewTokenizer(strings.NewReader(src))
	for len(out) < max {
		tt := z.Next()
		t := lexToken{tt: tt, raw: string(z.Raw())}
		if tt == html.TextToken || tt == html.CommentToken || tt == html.DoctypeToken {
			t.text = string(z.Text())
		}
		out = append(out, t)
		if tt == html.ErrorToken {
			break
		}
	}
	return out
}

func ownTokens(z *htmlLexer, src string, max int) []lexToken {
	var out []lexToken
	z.reset(src)
	for len(out) < max {
		tt := z.Next()
		t := lexToken{tt: tt, raw: string(z.Raw())}
		if tt == html.TextToken || tt == html.CommentToken || tt == html.DoctypeToken {
			t.text = string(z.Text())
		}
		out = append(out, t)
		if tt == html.ErrorToken {
			break
		}
	}
	return out
}

// requireSameTokens checks that htmlLexer splits src exactly as x/net's
// Tokenizer does.
func requireSameTokens(t testing.TB, z *htmlLexer, src string) {
	t.Helper()
	const max = 1 << 20
	want, got := xnetTokens(src, max), ownTokens(z, src, max)
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] {
			t.Fatalf("token %d of %q:\nx/net %v %q text %q\nown   %v %q text %q", i, truncateRunes(src, 300),
				want[i].tt, want[i].raw, want[i].text, got[i].tt, got[i].raw, got[i].text)
		}
	}
	if len(want) != len(got) {
		t.Fatalf("%q: x/net gives %d tokens, htmlLexer %d", truncateRunes(src, 300), len(want), len(got))
	}
}

// lexerCases are the corners of HTML tokenization: every state that can
// end a token early, late or at the end of the input.
var lexerCases = []string{
	"", "a", "<", "<<", "a<", "a<b", "<a", "<a ", "<a>", "<A HREF=x>", "a < b > c", "1<2", "<3",
	"</", "a</", "</>", "</ >", "</a", "</a>", "</a b=c>", "</a x='>'>", "</1>", "</>x",
	"<!", "<!>", "<!>x", "<!x", "<!x>", "<!-", "<!--", "<!---", "<!---->", "<!-->", "<!--->", "<!-- x -->",
	"<!-- x --!>y", "<!-- x --!", "<!-- x --", "<!-- x -", "<!-- x --!-->", "<!-- a -- b -->", "<!--!>-->",
	"<!--x--!x-->", "<!--<!-- x -->", "<!doctype html>", "<!DOCTYPE>", "<!DOCTYPE", "<!DOCTYPE ", "<!DOCTYPE  x",
	"<!DOCTY", "<!DocType html PUBLIC \"x\">", "<![CDATA[x]]>", "<![CDATA[x>]]>", "<?xml version=1?>", "<?",
	"<br/>", "<br />", "<br/ >", "<p a=/>", "<p a='/'/>", "<p a=/ b/>", "<p a=x/>", "<p a/>", "<p a />",
	"<p a=/ a=/>", "<p a=x A=/ a=/>", "<p a=1 b=2 a=/>", "<p =a=b/>", "<p ==/>", "<p = />", "<p/a=b>",
	"<p a = 'x' b= \"y\" c =z>", "<p a='x>", "<p a=\"x", "<p a=x", "<p a=", "<p a", "<p a ", "<p a=>", "<p a= >",
	"<p a=x>y</p>", "<p\ta\n=\r'x'\f>", "<p\x00a=\x00>\x00</p\x00>", "<p a='1'b='2'>", "<p a=\"1\"/>",
	"<title>a<b>c</b>&amp;d</title>x", "<TITLE>a</Title >b", "<title></title>", "<title>", "<title>a</titl",
	"<title>a</title", "<title>a</titlex>b</title>", "<title>a</</title>", "<textarea>&lt;b&gt;\x00</textarea>",
	"<style>a{}</style>", "<style>@import url(x)</STYLE>", "<style>a</style/>", "<style>x<\x00/style>",
	"<xmp><b>&amp;</xmp>", "<iframe>x</iframe>", "<noembed>x</noembed>", "<noframes>x</noframes>",
	"<noscript><b>x</b></noscript>", "<plaintext><b>x</b></plaintext>", "<PLAINTEXT>", "<script/>x</script>",
	"<script>a</script>", "<script>a</script", "<script>a</scrip", "<script>a<", "<script>a</", "<script>",
	"<script><!--a</script>b", "<script><!-- <script>x</script> y</script>z", "<script><!-- <script>x</script> --></script>z",
	"<script><!--<script></script>--></script>", "<script><!-- a --> </script>", "<script><!- a</script>",
	"<script><!--><!--></script>x", "<script><!-- <scriptx </script>", "<script><!-- <scrip", "<script><!-- <script",
	"<script><!-- <script>", "<script><!-- <script> <", "<script><!-- <script> </", "<script><!-- <script> </script",
	"<script><!-- <script> --> </script>x", "<script><!-- <script> -x- </script> --> </script>x", "<script><!-- <b </script>",
	"<script><!-- </b> </script>", "<script><!-- -< </script>", "<script><!-- --< </script>", "<script><!-- <1 </script>",
	"<script><!-- <script/> </script> </script>", "<script><!-- <SCRIPT\t>--></script>x", "<script>\r\n\x00</script>",
	"a\r\nb\rc\r", "&amp;&lt;&#65;&#x42;&nbsp&nbsp;x&notit;&unknown;&", "a\x00b", "<a href=\"&amp;\">&copy</a>",
	"<p a=x b=y c=z d=w a=/>", "<div>\n<p>one<p>two</div>", "<a\n>", "<a/", "<a/>", "<a//>", "<a/ />", "<a b/ c/>",
	strings.Repeat("<p a=1 ", 40) + "/>", "<p " + strings.Repeat("a ", 40) + "b/>", "<p " + strings.Repeat("x ", 40) + "x=/>",
}

func TestHTMLLexerMatchesXNet(t *testing.T) {
	var z htmlLexer
	for _, src := range lexerCases {
		requireSameTokens(t, &z, src)
		// Every prefix: the end of the input may fall anywhere.
		for i := range len(src) {
			requireSameTokens(t, &z, src[:i])
		}
	}
}

// corpusHTML returns the HTML parts of the SpamAssassin corpus and test
// mails, by name.
func corpusHTML(t *testing.T) (names, docs []string) {
	dir := testdata.Dir(t, "corpus")
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		m, err := mailscore.NewMessage(mailscore.Envelope{}, stripMboxFrom(raw), mailscore.Limits{})
		if err != nil {
			return nil // not a message
		}
		for _, p := range m.MIME().Parts {
			if p.ContentType == "text/html" || bytes.Contains(bytes.ToLower([]byte(p.Text)), []byte("<html")) {
				names, docs = append(names, path+" "+p.Path), append(docs, p.Text)
			}
		}
		return nil
	})
	require.NoError(t, err)
	return names, docs
}

// TestHTMLLexerCorpus: on every HTML part of the shared corpora, htmlLexer
// gives x/net's tokens, and the walk over them the same statistics and
// visible text as the walk over x/net's tokens.
func TestHTMLLexerCorpus(t *testing.T) {
	names, docs := corpusHTML(t)
	require.NotEmpty(t, docs)
	var z htmlLexer
	for i, src := range docs {
		requireSameTokens(t, &z, src)
		var st, xst htmlStats
		var text, xtext []byte
		analyzeHTML(src, &st, &text)
		analyzeHTMLXNet(src, &xst, &xtext)
		require.Equal(t, xst, st, names[i])
		require.Equal(t, string(xtext), string(text), names[i])
	}
	t.Logf("%d HTML parts tokenized alike", len(docs))
}

// analyzeHTMLXNet is analyzeHTML driven by x/net's Tokenizer, without the
// tag memo and the last-host cache, as the reference for the walk.
func analyzeHTMLXNet(src string, st *htmlStats, text *[]byte) {
	w := htmlWalker{memoOff: true}
	w.begin(st, text)
	z := html.NewTokenizer(strings.NewReader(src))
	for n := 0; ; n++ {
		if n >= maxHTMLTokens {
			st.truncated = true
			break
		}
		tt := z.Next()
		if tt == html.ErrorToken {
			w.endHidden()
			return
		}
		switch tt {
		case html.TextToken:
			w.textToken(z.Text())
		case html.StartTagToken, html.SelfClosingTagToken:
			w.startTag(z.Raw(), tt == html.SelfClosingTagToken)
		case html.EndTagToken:
			w.endTagRaw(z.Raw())
		}
	}
	w.endHidden()
}

// FuzzHTMLWalk: on any input the walk (htmlLexer, tag memo, last-host
// cache) finds what the reference walk over x/net's tokens finds.
func FuzzHTMLWalk(f *testing.F) {
	for _, s := range append(append([]string(nil), lexerCases...), memoCases...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		var st, xst htmlStats
		var text, xtext []byte
		analyzeHTML(src, &st, &text)
		analyzeHTMLXNet(src, &xst, &xtext)
		require.Equal(t, xst, st)
		require.Equal(t, string(xtext), string(text))
	})
}

// FuzzHTMLLexer: on any input htmlLexer gives exactly x/net's tokens.
func FuzzHTMLLexer(f *testing.F) {
	for _, s := range lexerCases {
		f.Add(s)
	}
	var z htmlLexer
	f.Fuzz(func(t *testing.T, src string) {
		requireSameTokens(t, &z, src)
	})
}
