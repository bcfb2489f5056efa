package mailscore

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/mailscore/mailscore/internal/testdata"
	"github.com/stretchr/testify/require"
)

func mustMsg(t testing.TB, raw string, lim Limits) *Message {
	t.Helper()
	m, err := NewMessage(Envelope{}, []byte(raw), lim)
	require.NoError(t, err)
	return m
}

// partSummary is what the table tests compare.
type partSummary struct {
	Path, Type, Charset, Encoding, Disposition, Filename, Text string
	Depth                                                      int
}

func summarize(ps []Part) []partSummary {
	var out []partSummary
	for _, p := range ps {
		out = append(out, partSummary{p.Path, p.ContentType, p.Charset, p.Encoding, p.Disposition, p.Filename, p.Text, p.Depth})
	}
	return out
}

const nestedMessage = "From: a@example.com\r\n" +
	"Subject: nested\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n" +
	"\r\n" +
	"This is the preamble; it is ignored.\r\n" +
	"--outer\r\n" +
	"Content-Type: multipart/alternative;\r\n boundary=inner\r\n" +
	"\r\n" +
	"--inner\r\n" +
	"Content-Type: text/plain; charset=iso-8859-1\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Caf=E9 au lait, soft=\r\nbreak, trailing   \r\n" +
	"--inner\r\n" +
	"Content-Type: text/html; charset=\"utf-8\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"PHA+Q2Fmw6k8L3A+\r\n" +
	"--inner--\r\n" +
	"--outer\r\n" +
	"Content-Type: application/pdf;\r\n name*0*=utf-8''%E2%82%AC;\r\n name*1=\"rate.pdf\"\r\n" +
	"Content-Disposition: attachment\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"JVBERi0xLjQKJeLjz9MK\r\n" +
	"--outer\r\n" +
	"Content-Type: message/rfc822\r\n" +
	"\r\n" +
	"Subject: forwarded\r\n" +
	"Content-Type: text/plain; charset=koi8-r\r\n" +
	"\r\n" +
	"\xf0\xd2\xc9\xd7\xc5\xd4\r\n" +
	"--outer--\r\n" +
	"epilogue, ignored\r\n"

func TestMIMENested(t *testing.T) {
	m := mustMsg(t, nestedMessage, Limits{})
	mi := m.MIME()
	require.Empty(t, mi.Defects)
	require.False(t, mi.Limited)
	require.Equal(t, []partSummary{
		{"1.1", "text/plain", "iso-8859-1", "quoted-printable", "", "", "Café au lait, softbreak, trailing", 2},
		{"1.2", "text/html", "utf-8", "base64", "", "", "<p>Café</p>", 2},
		{"2", "application/pdf", "", "base64", "attachment", "€rate.pdf", "", 1},
		{"3.1", "text/plain", "koi8-r", "", "", "", "Привет", 2},
	}, summarize(mi.Parts))
	require.Equal(t, "application/pdf", mi.Parts[2].SniffedType)
	require.Equal(t, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", string(mi.Parts[2].Body))
	require.Equal(t, "", mi.Parts[0].SniffedType, "text parts without a filename are not sniffed")
	require.Same(t, mi, m.MIME(), "decoded once")
}

func TestMIMESinglePart(t *testing.T) {
	tests := []struct {
		name, raw string
		want      partSummary
		defects   []string
	}{
		{"no MIME at all", "Subject: x\n\nhello\n",
			partSummary{Path: "1", Type: "text/plain", Text: "hello\n"}, nil},
		{"no header at all", "just a body line\nmore\n",
			partSummary{Path: "1", Type: "text/plain", Text: "just a body line\nmore\n"}, nil},
		{"invalid type (RFC 2045 section 5.2)", "Content-Type: text plain\n\ntotally <br> natural\n",
			partSummary{Path: "1", Type: "text/plain", Text: "totally <br> natural\n"},
			[]string{`part 1: invalid Content-Type "text plain"; read as text/plain (RFC 2045 section 5.2)`}},
		{"latin-1 body", "Content-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: 8bit\n\nna\xefve caf\xe9\n",
			partSummary{Path: "1", Type: "text/plain", Charset: "iso-8859-1", Encoding: "8bit", Text: "naïve café\n"}, nil},
		{"cp1252 body", "Content-Type: text/plain; charset=windows-1252\n\n\x93quoted\x94 \x80\n",
			partSummary{Path: "1", Type: "text/plain", Charset: "windows-1252", Text: "\u201cquoted\u201d €\n"}, nil},
		{"gb2312 body", "Content-Type: text/plain; charset=gb2312\nContent-Transfer-Encoding: base64\n\nxOO6ww==\n",
			partSummary{Path: "1", Type: "text/plain", Charset: "gb2312", Encoding: "base64", Text: "你好"}, nil},
		{"iso-2022-jp body", "Content-Type: text/plain; charset=\"ISO-2022-JP\"\nContent-Transfer-Encoding: 7bit\n\n\x1b$B$3$s$K$A$O\x1b(B\n",
			partSummary{Path: "1", Type: "text/plain", Charset: "iso-2022-jp", Encoding: "7bit", Text: "こんにちは\n"}, nil},
		{"broken utf-8", "Content-Type: text/plain; charset=utf-8\n\nok \xff\xfe and \xe2\x82 end\n",
			partSummary{Path: "1", Type: "text/plain", Charset: "utf-8", Text: "ok \uFFFD and \uFFFD end\n"}, nil},
		{"utf-16 body", "Content-Type: text/plain; charset=utf-16\nContent-Transfer-Encoding: base64\n\n//5IAGkA\n",
			partSummary{Path: "1", Type: "text/plain", Charset: "utf-16", Encoding: "base64", Text: "Hi"}, nil},
		{"html meta charset", "Content-Type: text/html\n\n<meta charset=\"koi8-r\"><p>\xf0\xd2\xc9\xd7\xc5\xd4</p>\n",
			partSummary{Path: "1", Type: "text/html", Text: "<meta charset=\"koi8-r\"><p>Привет</p>\n"}, nil},
		{"undeclared 8-bit", "Subject: x\n\ncaf\xe9\n",
			partSummary{Path: "1", Type: "text/plain", Text: "café\n"}, nil},
		{"unknown charset", "Content-Type: text/plain; charset=x-martian\n\nabc\n",
			partSummary{Path: "1", Type: "text/plain", Charset: "x-martian", Text: "abc\n"},
			[]string{`part 1: mailscore: unknown charset "x-martian"`}},
		{"unknown transfer encoding (RFC 2045 section 6.4)", "Content-Type: text/plain\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 x\n",
			partSummary{Path: "1", Type: "application/octet-stream", Encoding: "x-uuencode"},
			[]string{`part 1: unknown Content-Transfer-Encoding "x-uuencode"; part treated as application/octet-stream (RFC 2045 section 6.4)`}},
		{"bad base64 is decoded around", "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\naGVs*bG8g!d29y\nbGQ=\n",
			partSummary{Path: "1", Type: "text/plain", Encoding: "base64", Text: "hello world"},
			[]string{"part 1: base64 body has 2 bytes outside the base64 alphabet (RFC 2045 section 6.8); they were skipped"}},
		{"truncated base64", "Content-Transfer-Encoding: base64\n\naGVsbG8gd\n",
			partSummary{Path: "1", Type: "text/plain", Encoding: "base64", Text: "hello "},
			[]string{"part 1: base64 body has 1 bytes outside the base64 alphabet (RFC 2045 section 6.8); they were skipped"}},
		{"quoted-printable rules", "Content-Transfer-Encoding: Quoted-Printable\n\na=3db=3D=20 \nsoft=  \nline =ZZ end=\n",
			partSummary{Path: "1", Type: "text/plain", Encoding: "quoted-printable", Text: "a=b= \nsoftline =ZZ end"},
			[]string{"part 1: quoted-printable body has 1 invalid = escapes (RFC 2045 section 6.7); they were kept as written"}},
		{"rfc2047 filename and rfc2231 charset", "Content-Type: application/octet-stream; name=\"=?utf-8?q?r=C3=A9sum=C3=A9.exe?=\"\nContent-Disposition: attachment; filename*=iso-8859-1'fr'r%E9sum%E9.pdf.exe\nContent-Transfer-Encoding: base64\n\nTVqQAAMAAAAEAAAA\n",
			partSummary{Path: "1", Type: "application/octet-stream", Encoding: "base64", Disposition: "attachment", Filename: "résumé.pdf.exe"}, nil},
		{"rfc2047 name only", "Content-Type: application/octet-stream; name=\"=?utf-8?q?r=C3=A9sum=C3=A9.exe?=\"\n\nx\n",
			partSummary{Path: "1", Type: "application/octet-stream", Filename: "résumé.exe"}, nil},
		{"lenient parameters", "Content-Type:TEXT/Plain ;CharSet = \"UTF-8\" format=flowed\n\nx\n",
			partSummary{Path: "1", Type: "text/plain", Charset: "utf-8", Text: "x\n"},
			[]string{`part 1: missing ';' after parameter "charset"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mi := mustMsg(t, tt.raw, Limits{}).MIME()
			require.Len(t, mi.Parts, 1)
			require.Equal(t, tt.want, summarize(mi.Parts)[0])
			require.Equal(t, tt.defects, mi.Defects)
			require.True(t, utf8.ValidString(mi.Parts[0].Text))
		})
	}
}

func TestMIMEBrokenMultipart(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		types   []string
		texts   []string
		defects []string
	}{
		{"unterminated",
			"Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n",
			[]string{"text/plain", "text/plain"}, []string{"one", "two\n"},
			[]string{"multipart/mixed has no close delimiter (message cut short?); its last part runs to the end"}},
		{"no boundary parameter",
			"Content-Type: multipart/mixed\n\n--b\n\none\n",
			[]string{"text/plain"}, []string{"--b\n\none\n"},
			[]string{"part 1: multipart/mixed has no boundary parameter; its body is read as text/plain"}},
		{"boundary never appears",
			"Content-Type: multipart/alternative; boundary=\"zzz\"\n\nhello\n",
			[]string{"text/plain"}, []string{"hello\n"},
			[]string{`part 1: multipart/alternative boundary "zzz" never appears; the body is read as text/plain`}},
		{"second Content-Type holds the boundary",
			"Content-Type: multipart/related; boundary=bar\nContent-Type: multipart/alternative; boundary=\"foo\"\nX: y\n\n--foo\nContent-Type: text/html\n\n<b>hi</b>\n--foo--\n",
			[]string{"text/html"}, []string{"<b>hi</b>"},
			[]string{"2 Content-Type fields; the first one is used", `boundary "bar" never appears; the boundary of a later Content-Type field is used`}},
		{"boundary prefix is not a delimiter; padding allowed",
			"Content-Type: multipart/mixed; boundary=ab\n\n--ab \t\n\nx\n--abc\ny\n--ab--  \n",
			[]string{"text/plain"}, []string{"x\n--abc\ny"}, nil},
		{"part without blank line",
			"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\nhello there\n--b--\n",
			[]string{"text/plain"}, []string{"hello there"},
			[]string{"part 1: part header not ended by a blank line"}},
		{"base64 multipart (RFC 2045 section 6.4)",
			"Content-Type: multipart/mixed; boundary=b\nContent-Transfer-Encoding: base64\n\n" + b64("--b\n\nsecret\n--b--\n") + "\n",
			[]string{"text/plain"}, []string{"secret"},
			[]string{"multipart/mixed part has Content-Transfer-Encoding base64, which RFC 2045 section 6.4 forbids"}},
		{"digest defaults to message/rfc822 (RFC 2046 section 5.1.5)",
			"Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nfirst\n--d\n\nSubject: two\nContent-Type: text/html\n\n<i>second</i>\n--d--\n",
			[]string{"text/plain", "text/html"}, []string{"first", "<i>second</i>"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mi := mustMsg(t, tt.raw, Limits{}).MIME()
			var types, texts []string
			for _, p := range mi.Parts {
				types = append(types, p.ContentType)
				texts = append(texts, p.Text)
			}
			require.Equal(t, tt.types, types)
			require.Equal(t, tt.texts, texts)
			require.Equal(t, tt.defects, mi.Defects)
			require.False(t, mi.Limited)
		})
	}
}

func nestedMultiparts(n int) string {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=b0\n\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n", i-1, i)
	}
	fmt.Fprintf(&b, "--b%d\n\ninnermost\n", n-1)
	for i := n - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\n", i)
	}
	return b.String()
}

func TestMIMELimits(t *testing.T) {
	t.Run("depth", func(t *testing.T) {
		mi := mustMsg(t, nestedMultiparts(40), Limits{}).MIME()
		require.True(t, mi.Limited)
		require.Len(t, mi.Parts, 1)
		require.Equal(t, DefaultMaxMIMEDepth, mi.Parts[0].Depth)
		require.Equal(t, "application/octet-stream", mi.Parts[0].ContentType)
		require.Contains(t, strings.Join(mi.Defects, "\n"), "MIME nesting deeper than 16")

		mi = mustMsg(t, nestedMultiparts(10), Limits{}).MIME()
		require.False(t, mi.Limited)
		require.Equal(t, "innermost", mi.Parts[0].Text)
		require.Equal(t, 10, mi.Parts[0].Depth)
		require.Equal(t, strings.TrimSuffix(strings.Repeat("1.", 10), "."), mi.Parts[0].Path)
	})
	t.Run("parts", func(t *testing.T) {
		raw := "Content-Type: multipart/mixed; boundary=b\n\n" + strings.Repeat("--b\n\nx\n", 1000) + "--b--\n"
		mi := mustMsg(t, raw, Limits{MaxParts: 10}).MIME()
		require.True(t, mi.Limited)
		require.Len(t, mi.Parts, 9) // the multipart itself counts
		require.Contains(t, mi.Defects, "more than 10 MIME parts (Limits.MaxParts): the rest of the message was not decoded")
		require.Len(t, mustMsg(t, raw, Limits{}).MIME().Parts, DefaultMaxParts-1)
		require.Len(t, mustMsg(t, raw, Limits{MaxParts: -1}).MIME().Parts, 1000)
	})
	t.Run("decoded size", func(t *testing.T) {
		payload := b64(strings.Repeat("A", 3000))
		raw := "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Transfer-Encoding: base64\n\n" + payload +
			"\n--b\nContent-Transfer-Encoding: base64\n\n" + payload + "\n--b\n\nlast\n--b--\n"
		mi := mustMsg(t, raw, Limits{MaxDecodedSize: 4000}).MIME()
		require.True(t, mi.Limited)
		require.Len(t, mi.Parts, 2, "decoding stops at the limit")
		require.Len(t, mi.Parts[0].Body, 3000)
		require.LessOrEqual(t, len(mi.Parts[1].Body), 1000)
		require.LessOrEqual(t, mi.Decoded, 4000)
		require.Contains(t, mi.Parts[1].Defects, "decoded body cut short at the decoded-size limit")

		mi = mustMsg(t, raw, Limits{}).MIME()
		require.False(t, mi.Limited)
		require.Len(t, mi.Parts, 3)
		require.Equal(t, 3000+3000+len("last"), mi.Decoded)
	})
	t.Run("quoted-printable size", func(t *testing.T) {
		raw := "Content-Transfer-Encoding: quoted-printable\n\n" + strings.Repeat("=41", 5000) + "\n"
		mi := mustMsg(t, raw, Limits{MaxDecodedSize: 100}).MIME()
		require.True(t, mi.Limited)
		require.Len(t, mi.Parts[0].Body, 100)
	})
}

func TestMIMESniff(t *testing.T) {
	tests := []struct {
		body []byte
		want string
	}{
		{[]byte("MZ\x90\x00\x03"), "application/x-msdownload"},
		{[]byte("\x7fELF\x02\x01"), "application/x-elf"},
		{[]byte("PK\x03\x04\x14\x00"), "application/zip"},
		{[]byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00"), "application/x-ole-storage"},
		{[]byte("%PDF-1.7\n"), "application/pdf"},
		{[]byte("Rar!\x1a\x07\x00"), "application/vnd.rar"},
		{[]byte("\x89PNG\r\n\x1a\n\x00"), "image/png"},
		{[]byte("GIF89a"), "image/gif"},
		{[]byte("hello"), "text/plain"},
		{nil, ""},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, SniffType(tt.body), "%q", tt.body)
	}
	// A "text/plain" attachment holding a Windows executable is sniffed.
	raw := "Content-Type: text/plain; name=readme.txt\nContent-Transfer-Encoding: base64\n\n" + b64("MZ\x90\x00rest") + "\n"
	p := mustMsg(t, raw, Limits{}).MIME().Parts[0]
	require.Equal(t, "readme.txt", p.Filename)
	require.Equal(t, "application/x-msdownload", p.SniffedType)
	require.True(t, p.IsAttachment())
}

func TestMIMEConcurrent(t *testing.T) {
	m := mustMsg(t, nestedMessage, Limits{})
	var wg sync.WaitGroup
	got := make([]*MIME, 16)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = m.MIME()
		}()
	}
	wg.Wait()
	for _, g := range got {
		require.Same(t, got[0], g)
	}
	require.Len(t, got[0].Parts, 4)
}

func TestParseParams(t *testing.T) {
	tests := []struct {
		in      string
		value   string
		params  map[string]string
		defects int
	}{
		{`text/plain; charset=us-ascii (Plain text)`, "text/plain", map[string]string{"charset": "us-ascii"}, 0},
		{`attachment; filename="a \"b\".txt"`, "attachment", map[string]string{"filename": `a "b".txt`}, 0},
		{`multipart/related; boundary =bar; other=foo`, "multipart/related", map[string]string{"boundary": "bar", "other": "foo"}, 0},
		{`multipart/alternative; boundary=----=_NextPart_000_0003`, "multipart/alternative", map[string]string{"boundary": "----=_NextPart_000_0003"}, 0},
		{`multipart/mixed;boundary= "Z_MULTI"`, "multipart/mixed", map[string]string{"boundary": "Z_MULTI"}, 0},
		// RFC 2231 section 3 and 4.1 examples.
		{`message/external-body; access-type=URL; URL*0="ftp://"; URL*1="cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"`,
			"message/external-body", map[string]string{"access-type": "URL", "url": "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"}, 0},
		{`application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A`,
			"application/x-stuff", map[string]string{"title": "This is ***fun***"}, 0},
		{`application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2="isn't it!"`,
			"application/x-stuff", map[string]string{"title": "This is even more ***fun*** isn't it!"}, 0},
		{`a/b; x*0=one; x*2=three`, "a/b", map[string]string{"x": "one"}, 1},
		{`a/b; x=1; x=2`, "a/b", map[string]string{"x": "1"}, 1},
		{`a/b; x="unterminated`, "a/b", map[string]string{"x": "unterminated"}, 1},
		{`a/b; novalue; y=2`, "a/b", map[string]string{"y": "2"}, 1},
	}
	for _, tt := range tests {
		v, p, _, d := parseParams(tt.in, true)
		require.Equal(t, tt.value, v, tt.in)
		require.Equal(t, tt.params, p, tt.in)
		require.Len(t, d, tt.defects, "%s: %v", tt.in, d)
	}
}

// TestMIMESpamAssassinSamples walks SpamAssassin's test mails, broken MIME
// included: no panic, valid UTF-8 text, limits respected, and the known
// broken ones report defects.
func TestMIMESpamAssassinSamples(t *testing.T) {
	dir := testdata.Dir(t, "corpus", "sa-tdata")
	broken := map[string]bool{"badmime.txt": false, "badmime2.txt": true, "badmime3.txt": true, "badctype1": true}
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.HasPrefix(raw, []byte("From ")) {
			if i := bytes.IndexByte(raw, '\n'); i >= 0 {
				raw = raw[i+1:]
			}
		}
		m, err := NewMessage(Envelope{}, raw, Limits{})
		if err != nil {
			return nil // empty or over a limit: NewMessage said so
		}
		mi := m.MIME()
		n++
		for _, p := range mi.Parts {
			require.True(t, utf8.ValidString(p.Text), path)
		}
		if want, ok := broken[d.Name()]; ok && want {
			require.NotEmpty(t, mi.Defects, path)
		}
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, n, 50)
}

// BenchmarkMessageMIME parses a small nested message and walks its MIME
// tree (a fresh Message each time: the result is cached per message).
func BenchmarkMessageMIME(b *testing.B) {
	raw := []byte(nestedMessage)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := NewMessage(Envelope{}, raw, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if len(m.MIME().Parts) != 4 {
			b.Fatal("want 4 parts")
		}
	}
}

// BenchmarkMIMEBase64 decodes a 1 MB base64 attachment.
func BenchmarkMIMEBase64(b *testing.B) {
	data := bytes.Repeat([]byte("0123456789abcdefghij"), 1<<20/20)
	enc := b64(string(data))
	var body strings.Builder
	for len(enc) > 76 {
		body.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	body.WriteString(enc + "\r\n")
	raw := []byte("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body.String())
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := NewMessage(Envelope{}, raw, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if len(m.MIME().Parts[0].Body) != len(data) {
			b.Fatal("bad decode")
		}
	}
}
