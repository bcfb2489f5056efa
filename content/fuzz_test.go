package content

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mailscore/mailscore"
)

// FuzzAnalyzeHTML: any markup is analysed without panic, with counts that
// add up and visible text no longer than the limit.
func FuzzAnalyzeHTML(f *testing.F) {
	for _, s := range []string{
		`<html><body bgcolor=#fff><font color=white>hidden</font><p style="display:none">x</p></body></html>`,
		`<a href="http://www.paypal.com@evil.example/">www.paypal.com</a><img src=http://t/x.gif width=1 height=1>`,
		`<form><input type=password></form><script>alert(1)</script><style>@import url(x)</style>`,
		`<table><tr><td bgcolor="black"><font color="#000">text</td></tr>`,
		`<p style="font-size:0.1em;color:rgb(255,255,255);background:#FFF url(x)">a</p>`,
		`<a href=&#104;ttp://x.example>y.example</a><<<>>></a></a></p></div>`,
		strings.Repeat("<div>", 1000) + "deep" + strings.Repeat("</div>", 10),
		"<!-- comment --><![CDATA[x]]><title>t</title><textarea><b>raw</b></textarea>\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		var st htmlStats
		var text []byte
		analyzeHTML(src, &st, &text)
		if st.visibleChars < 0 || st.hiddenChars < 0 || st.images < st.remoteImages+st.inlineImages {
			t.Fatalf("inconsistent stats %+v", st)
		}
		if len(text) > maxVisibleText+1 || len(st.linkHosts) > maxHTMLLinks || len(st.tags) > maxHTMLTags {
			t.Fatalf("limits not kept: %d text, %d hosts, %d tags", len(text), len(st.linkHosts), len(st.tags))
		}
		if st.visibleChars > len(src) || st.hiddenChars > len(src) {
			t.Fatalf("more characters counted than the input holds")
		}
		if utf8.ValidString(src) && !utf8.Valid(text) {
			t.Fatalf("valid input gave invalid visible text %q", text)
		}
	})
}

// FuzzCheck: any message is checked without panic and every signal is
// well-formed.
func FuzzCheck(f *testing.F) {
	f.Add(mail("", "hello"))
	f.Add(altMail("plain", `<p><a href="http://evil.example">www.bank.example</a></p>`))
	f.Add(mail("Content-Type: multipart/mixed; boundary=b\r\n", "--b\r\nContent-Type: application/zip; name=a.zip\r\nContent-Transfer-Encoding: base64\r\n\r\nUEsDBBQAAAAAAA==\r\n--b--\r\n"))
	f.Add("Subject: =?utf-8?q?P=D0=B0yPal?=\r\nDate: 31 Feb 2024\r\n\r\nV\u200bi\u200bagra")
	// A small store, so learning across inputs stays cheap.
	c, err := New(Options{Store: NewMemoryStore(MemoryOptions{MaxTokens: 5000})})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		m, err := mailscore.NewMessage(mailscore.Envelope{}, []byte(raw), mailscore.Limits{MaxParts: 64, MaxDecodedSize: 1 << 20})
		if err != nil {
			return
		}
		sigs, err := c.Check(context.Background(), m, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sigs {
			if s.Symbol == "" || s.Reason == "" || !utf8.ValidString(s.Reason) || s.Value < -1 || s.Value > 1 || s.Confidence < 0 || s.Confidence > 1 {
				t.Fatalf("bad signal %+v", s)
			}
		}
		if err := c.Learn(context.Background(), m, mailscore.Feedback{Label: mailscore.Spam}); err != nil {
			t.Fatal(err)
		}
	})
}
