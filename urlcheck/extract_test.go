package urlcheck

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/internal/testdata"
	"github.com/stretchr/testify/require"
)

// show renders links as "origin url" for table comparisons.
func show(links []Link) []string {
	out := make([]string, len(links))
	for i, l := range links {
		out[i] = l.Origin.String() + " " + l.String()
	}
	return out
}

func TestExtractText(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"scheme URLs", "See http://example.com/a and HTTPS://Shop.Example.NET/b?c=d.",
			[]string{"text http://example.com/a", "text https://shop.example.net/b?c=d"}},
		{"punctuation around", "(http://example.com/x), <https://example.org/>; \"http://example.net/q?a=1\"!",
			[]string{"text http://example.com/x", "text https://example.org/", "text http://example.net/q?a=1"}},
		{"balanced parens kept", "http://en.example.org/wiki/Foo_(bar) and (see http://example.com/y)",
			[]string{"text http://en.example.org/wiki/Foo_(bar)", "text http://example.com/y"}},
		{"prefix before scheme", "URL:http://example.com/ link=https://example.org/",
			[]string{"text http://example.com/", "text https://example.org/"}},
		{"www without scheme", "Visit www.Example.co.uk/offer today.",
			[]string{"www http://www.example.co.uk/offer"}},
		{"bare domains need a known TLD", "cut and paste spamassassin.org; not file.txt, setup.py or e.g. this; nor foo.invalidtld",
			[]string{"bare http://spamassassin.org/"}},
		{"mail addresses", "write to Sales@Example.com or mailto:info@example.org?subject=x",
			[]string{"mailto mailto:Sales@example.com", "mailto mailto:info@example.org"}},
		{"obfuscated numeric hosts", "http://0x425c45de/ http://1113343455/ http://66.92.0x45.221/",
			[]string{"text http://66.92.69.222/", "text http://66.92.69.223/", "text http://66.92.69.221/"}},
		{"userinfo trick", "https://www.bank.example@evil.example/login",
			[]string{"text https://evil.example/login"}},
		{"no-break space ends a word", "http://example.com/a\u00a0next http://example.org/\u200bx",
			[]string{"text http://example.com/a", "text http://example.org/"}},
		{"redirector query", "http://tracker.example/c?u=https%3A%2F%2Fevil.example%2Fland&x=1",
			[]string{"text http://tracker.example/c?u=https%3A%2F%2Fevil.example%2Fland&x=1", "redirect https://evil.example/land"}},
		{"google amp", "https://www.google.com/amp/s/spamassassin.apache.org/news.html",
			[]string{"text https://www.google.com/amp/s/spamassassin.apache.org/news.html", "redirect https://spamassassin.apache.org/news.html"}},
		{"percent-encoded path redirector", "http://drs.yahoo.com/__//*%68ttp://x.org%40evil.example/a/",
			[]string{"text http://drs.yahoo.com/__//*%68ttp://x.org%40evil.example/a/", "redirect http://evil.example/a/"}},
		{"duplicates", "http://example.com/ http://EXAMPLE.com/ http://example.com:80/",
			[]string{"text http://example.com/"}},
		{"unsupported schemes", "javascript:alert(1) file:///etc/passwd tel:123 cid:x@y", nil},
		{"prose", "Hello. This is a sentence.Another one... And numbers 1.5 and 3.14159.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := show(ExtractText(tt.in, ExtractOptions{}))
			if tt.want == nil {
				require.Empty(t, got)
				return
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestExtractHTML(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"attributes and origins", `<a href="http://a.example/1">x</a><img src='http://img.example/i.png'>
			<form action=https://form.example/post><input formaction="https://fa.example/"></form>
			<table background="http://bg.example/b.gif"><video poster="http://poster.example/p.jpg"></video>
			<object data="http://obj.example/o.swf"></object><link rel=stylesheet href="http://css.example/s.css">`,
			[]string{"href http://a.example/1", "action https://form.example/post", "action https://fa.example/",
				"src http://img.example/i.png", "src http://bg.example/b.gif", "src http://poster.example/p.jpg",
				"src http://obj.example/o.swf", "src http://css.example/s.css"}},
		{"srcset", `<img srcset="http://s.example/1.png 1x, http://s.example/2.png 2x,http://s.example/3.png">`,
			[]string{"src http://s.example/1.png", "src http://s.example/2.png", "src http://s.example/3.png"}},
		{"css", `<div style="background:URL( 'http://css.example/a.png' )"></div><style>p{background:url(http://css.example/b.png)} @import url("https://css.example/c.css");</style>`,
			[]string{"css http://css.example/a.png", "css http://css.example/b.png", "css https://css.example/c.css"}},
		{"meta refresh", `<meta http-equiv="Refresh" content="0; URL='http://refresh.example/go'">`,
			[]string{"refresh http://refresh.example/go"}},
		{"entities and case", `<A HREF="&#104;ttp://evil.example/?a=1&amp;b=2">x</A>`,
			[]string{"href http://evil.example/?a=1&b=2"}},
		{"whitespace inside URL", "<a href=\"ht\ntp://ev\til.example/\">x</a>",
			[]string{"href http://evil.example/"}},
		{"text links", `<p>Go to http://text.example/ or www.www.example today&nbsp;http://nbsp.example/</p>`,
			[]string{"text http://text.example/", "text http://nbsp.example/", "www http://www.www.example/"}},
		{"mailto", `<a href="mailto:boss@example.com">mail</a>`,
			[]string{"mailto mailto:boss@example.com"}},
		{"comments and scripts hide nothing clickable", `<!-- <a href="http://comment.example/"> --><script>var u="http://script.example/";</script><a href="http://real.example/">r</a>`,
			[]string{"href http://real.example/"}},
		{"base href", `<base href="https://base.example/dir/"><a href="page.html">p</a><a href="/root">r</a>`,
			[]string{"href https://base.example/dir/page.html", "href https://base.example/root"}},
		{"relative without base ignored", `<a href="page.html">p</a><a href="#top">t</a>`, nil},
		{"VML button href", `<v:roundrect href="http://vml.example/buy"></v:roundrect>`,
			[]string{"href http://vml.example/buy"}},
		{"obfuscated hosts in href", `<a href=http://0x425c45de/>a</a><a href="http://slashdot.org@1113343456/">b</a>`,
			[]string{"href http://66.92.69.222/", "href http://66.92.69.224/"}},
		{"unterminated attribute", `<a href="http://cut.example/`, []string{"href http://cut.example/"}},
		{"unterminated comment", `<a href="http://before.example/">x</a><!-- <a href="http://after.example/">`,
			[]string{"href http://before.example/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := show(ExtractHTML(tt.in, ExtractOptions{}))
			if tt.want == nil {
				require.Empty(t, got)
				return
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestExtractPriorityAndCaps(t *testing.T) {
	var b strings.Builder
	// Bare domains and images first in the document, the clickable link last.
	for i := range 30 {
		fmt.Fprintf(&b, `<img src="http://img%d.example/i.png"> mention%d.com `, i, i)
	}
	b.WriteString(`<a href="http://click.example/buy">buy</a>`)
	links := ExtractHTML(b.String(), ExtractOptions{MaxLinks: 10})
	require.Len(t, links, 10)
	require.Equal(t, "href http://click.example/buy", show(links)[0], "clickable links are kept first")
	for _, l := range links[1:] {
		require.Equal(t, OriginSrc, l.Origin)
	}

	// One domain cannot crowd out the others.
	b.Reset()
	for i := range 50 {
		fmt.Fprintf(&b, "http://spam.example/track/%d ", i)
	}
	b.WriteString("http://other.example/")
	links = ExtractText(b.String(), ExtractOptions{MaxPerDomain: 5})
	require.Len(t, links, 6)
	require.Equal(t, "http://other.example/", links[5].String())

	// A link seen as an image and as a link keeps the better origin.
	links = ExtractHTML(`<img src="http://x.example/a"><a href="http://x.example/a">a</a>`, ExtractOptions{})
	require.Equal(t, []string{"href http://x.example/a"}, show(links))
}

func TestExtractMaxBytes(t *testing.T) {
	text := strings.Repeat("padding words here ", 1000) + " http://late.example/"
	require.Len(t, ExtractText(text, ExtractOptions{}), 1)
	e := newExtractor(ExtractOptions{MaxBytes: 1000})
	e.text(text)
	x := e.finish()
	require.True(t, x.Truncated)
	require.Empty(t, x.Links)
}

func newTestMessage(t testing.TB, raw string) *mailscore.Message {
	t.Helper()
	m, err := mailscore.NewMessage(mailscore.Envelope{}, []byte(strings.ReplaceAll(raw, "\n", "\r\n")), mailscore.Limits{})
	require.NoError(t, err)
	return m
}

func TestExtractMessage(t *testing.T) {
	m := newTestMessage(t, `From: a@example.com
Subject: parts
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: multipart/alternative; boundary="c"

--c
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Plain link http://plain.example/p=3D1 and www.bare.example
--c
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

PGEgaHJlZj0iaHR0cDovL2h0bWwuZXhhbXBsZS9oIj5oPC9hPg==
--c--
--b
Content-Type: text/plain
Content-Disposition: attachment; filename="notes.txt"

http://attachment.example/ignored
--b--
`)
	x := ExtractMessage(m, ExtractOptions{})
	require.Equal(t, []string{"href http://html.example/h", "text http://plain.example/p=1", "www http://www.bare.example/"}, show(x.Links))
	require.Equal(t, "1.2", x.Links[0].Part)
	require.Equal(t, "1.1", x.Links[1].Part)
}

// TestExtractCorpus runs extraction on SpamAssassin's spam test mails,
// including its redirector and URL-shortener samples and the obfuscated
// numeric hosts of spam/009.
func TestExtractCorpus(t *testing.T) {
	dir := testdata.Dir(t, "corpus", "sa-tdata", "spam")
	got := map[string][]Link{}
	files, total := 0, 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		m, err := mailscore.NewMessage(mailscore.Envelope{}, raw, mailscore.Limits{})
		if err != nil {
			return nil // not a message (a few data files live here)
		}
		rel, _ := filepath.Rel(dir, p)
		got[filepath.ToSlash(rel)] = ExtractMessage(m, ExtractOptions{}).Links
		files++
		total += len(got[filepath.ToSlash(rel)])
		return nil
	})
	require.NoError(t, err)
	t.Logf("%d messages, %d links", files, total)
	has := func(file, url string, flags Flag) {
		t.Helper()
		for _, l := range got[file] {
			if l.String() == url {
				require.Equal(t, flags.String(), (l.Flags & (FlagObfuscatedIP | FlagDeceptiveUserinfo | FlagNumericHost)).String(), url)
				return
			}
		}
		require.Failf(t, "link not found", "%s: %s not in %v", file, url, show(got[file]))
	}
	num, obf, dec := FlagNumericHost, FlagNumericHost|FlagObfuscatedIP, FlagNumericHost|FlagObfuscatedIP|FlagDeceptiveUserinfo
	has("009", "http://62.16.101.59/livesex.htm", num)
	has("009", "http://66.92.69.222/", obf)     // 0x425c45de
	has("009", "http://66.92.69.221/", obf)     // 66.92.0x45.221
	has("009", "http://66.92.69.223/", obf)     // 1113343455
	has("009", "http://66.92.69.224/", dec)     // slashdot.org@1113343456
	has("009", "http://163.125.6.199/ATV", obf) // 2742879943
	has("009", "http://spamassassin.org/", 0)   // bare domain in text
	has("009", "mailto:address@foo.net", 0)     // mail address in text
	has("003", "http://163.125.6.199/ATV", obf)
	has("redirectors/base.eml", "https://spamassassin.apache.org/news.html", 0)
	has("redirectors/base.eml", "https://community.apache.org/404", 0)
	has("redirectors/base2.eml", "https://spamassassin.org/news.html", 0)
	has("badmime2.txt", "http://-.softhere.com/a/", FlagDeceptiveUserinfo) // "--..org@" before the host
	has("badmime3.txt", "http://harder-please.com/forward/LSU.htm", 0)
	has("decodeshorturl/chain.eml", "http://bit.ly/3qDCt8z", 0)
	has("decodeshorturl/base.eml", "https://sadecodetest.page.link/news", 0)
	has("phishing_phishtank.eml", "https://www.anatolialamps.com/wp-content/themes/sketch/fopo/fur50/signin.php?locale.x=en&_token=MTUzNTUxMzAxOQ=message-id:", 0)
	has("phishing_openphish.eml", "https://ehawkerbd.com/wp/wp-admin/js/office365/auth.php", 0)
	for _, l := range got["redirectors/base.eml"] {
		if l.Host == "spamassassin.apache.org" && l.Scheme == "https" {
			require.Equal(t, OriginRedirect, l.Origin)
			require.Equal(t, "https://www.google.com/amp/spamassassin.apache.org/news.html", l.Via)
		}
	}
	// Shorteners keep their path (the Follower needs it).
	var short []string
	for _, l := range got["decodeshorturl/doubleslash.eml"] {
		short = append(short, l.String())
	}
	require.True(t, slices.Contains(short, "http://bit.ly//3qDCt8z"), short)
}

// TestCorpusStaticSignals runs the Checker without DNS on the
// SpamAssassin public corpus (2,500 ham, 500 spam) and compares how often
// the signals that links show by themselves fire on ham and on spam.
func TestCorpusStaticSignals(t *testing.T) {
	base := testdata.Dir(t, "corpus", "spamassassin")
	c := newChecker(t, nil, Options{})
	rate := map[string]map[string]float64{}
	for _, dir := range []string{"easy_ham", "spam"} {
		files, err := filepath.Glob(filepath.Join(base, dir, "*"))
		require.NoError(t, err)
		counts := map[string]int{}
		n, links := 0, 0
		for i := range files {
			raw, err := os.ReadFile(files[i])
			require.NoError(t, err)
			m, err := mailscore.NewMessage(mailscore.Envelope{}, raw, mailscore.Limits{})
			if err != nil {
				continue
			}
			n++
			sigs, err := c.Check(context.Background(), m, nil)
			require.NoError(t, err)
			for _, s := range sigs {
				if s.Confidence > 0 {
					counts[s.Symbol]++
				}
				if s.Symbol == SymDomainReputation {
					links += len(s.Keys)
				}
			}
		}
		rate[dir] = map[string]float64{}
		for sym, k := range counts {
			rate[dir][sym] = float64(k) / float64(n)
		}
		t.Logf("%s: %d messages, %d linked domains (summed over messages); signals: %v", dir, n, links, counts)
	}
	require.Less(t, rate["easy_ham"][SymNumericHost], 0.01)
	require.Greater(t, rate["spam"][SymNumericHost], 0.10)
	require.Zero(t, rate["easy_ham"][SymUserinfo])
	require.Positive(t, rate["spam"][SymUserinfo])
	require.Zero(t, rate["easy_ham"][SymMixedScript])
}
