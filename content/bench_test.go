package content

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mailscore/mailscore"
)

// newsletter builds a multipart/alternative HTML newsletter of about size
// bytes: a plain-text part and an HTML part with tables, styles, links and
// images, quoted-printable encoded as mailers send it.
func newsletter(size int) []byte {
	words := strings.Fields(`the quarterly report shows strong growth in all regions and our team
		would like to thank every customer for their continued support during this year we launched
		three new products improved delivery times and opened offices in Berlin Lisbon and Toronto
		please read the full story on our website where you can also update your preferences`)
	var plain, html strings.Builder
	for i := 0; plain.Len() < size/4; i++ {
		plain.WriteString(words[i%len(words)])
		if i%12 == 11 {
			plain.WriteString(".\r\n")
		} else {
			plain.WriteByte(' ')
		}
	}
	html.WriteString(`<html><head><style>p{margin:0}</style></head><body bgcolor="#ffffff">` +
		`<table width="600" cellpadding="0" cellspacing="0"><tr><td style="color:#333333;font-family:Arial">`)
	for i := 0; html.Len() < size*5/8; i++ {
		fmt.Fprintf(&html, `<p style="font-size:14px">%s <a href="https://news.example.com/story/%d?utm_source=mail">read more</a></p>`,
			strings.Join(words[i%10:i%10+12], " "), i)
		if i%5 == 0 {
			fmt.Fprintf(&html, `<img src="https://img.example.com/pic%d.png" width="300" height="120" alt="picture %d">`, i, i)
		}
	}
	html.WriteString(`</td></tr></table><img src="https://t.example.com/open.gif" width="1" height="1"></body></html>`)

	var b strings.Builder
	b.WriteString("Return-Path: <news@example.com>\r\n" +
		"Received: from mail.example.com (mail.example.com [192.0.2.10]) by mx.example.org with ESMTPS id 4Xy; Tue, 3 Sep 2024 10:00:00 +0000\r\n" +
		"From: Example News <news@example.com>\r\nTo: reader@example.org\r\n" +
		"Subject: =?utf-8?q?Quarterly_update_=E2=80=93_what=27s_new?=\r\n" +
		"Date: Tue, 3 Sep 2024 10:00:00 +0000\r\nMessage-ID: <20240903100000.12345@mail.example.com>\r\n" +
		"List-Unsubscribe: <https://news.example.com/unsub>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=\"b1_abc\"\r\n\r\n" +
		"--b1_abc\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	b.WriteString(qpEncode(plain.String()))
	b.WriteString("\r\n--b1_abc\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	b.WriteString(qpEncode(html.String()))
	b.WriteString("\r\n--b1_abc--\r\n")
	return []byte(b.String())
}

// qpEncode is a minimal quoted-printable encoder (RFC 2045 section 6.7)
// for building test messages.
func qpEncode(s string) string {
	var b strings.Builder
	line := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			b.WriteString("\r\n")
			i++
			line = 0
			continue
		}
		var enc string
		if c == '=' || c >= 0x7f || c < ' ' {
			enc = fmt.Sprintf("=%02X", c)
		} else {
			enc = string(c)
		}
		if line+len(enc) > 75 {
			b.WriteString("=\r\n")
			line = 0
		}
		b.WriteString(enc)
		line += len(enc)
	}
	return b.String()
}

// trainedChecker returns a checker that has learned enough of both classes
// to classify (synthetic messages; enough for the store to be non-trivial).
func trainedChecker(tb testing.TB) *Checker {
	c, err := New(Options{})
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 300; i++ {
		for _, tc := range []struct {
			label mailscore.Label
			body  string
		}{
			{mailscore.Ham, fmt.Sprintf("Subject: meeting %d\r\n\r\nthe quarterly report for region %d is attached, see you at the meeting", i, i)},
			{mailscore.Spam, fmt.Sprintf("Subject: cheap pills %d\r\n\r\nbuy cheap pills now, limited offer number %d, click here", i, i)},
		} {
			m, err := mailscore.NewMessage(mailscore.Envelope{}, []byte(tc.body), mailscore.Limits{})
			if err != nil {
				tb.Fatal(err)
			}
			if err := c.Learn(ctx, m, mailscore.Feedback{Label: tc.label}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return c
}

// BenchmarkCheck10KB is the full content check of a 10 KB multipart HTML
// message with a trained classifier; the message is parsed once, as in the
// engine, where every check shares the decoded MIME tree.
func BenchmarkCheck10KB(b *testing.B) {
	raw := newsletter(10 << 10)
	c := trainedChecker(b)
	m, err := mailscore.NewMessage(mailscore.Envelope{}, raw, mailscore.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	m.MIME()
	ctx := context.Background()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Check(ctx, m, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheck10KBFresh includes parsing and the MIME walk: what one
// message costs end to end.
func BenchmarkCheck10KBFresh(b *testing.B) {
	raw := newsletter(10 << 10)
	c := trainedChecker(b)
	ctx := context.Background()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := mailscore.NewMessage(mailscore.Envelope{}, raw, mailscore.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Check(ctx, m, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMessageMIME10KB is Message.MIME on the same 10 KB message (a
// fresh Message each time, since the result is cached).
func BenchmarkMessageMIME10KB(b *testing.B) {
	raw := newsletter(10 << 10)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := mailscore.NewMessage(mailscore.Envelope{}, raw, mailscore.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if len(m.MIME().Parts) != 2 {
			b.Fatal("want 2 parts")
		}
	}
}

// BenchmarkCorpusThroughput checks every message of the SpamAssassin
// corpus (parse, MIME walk, analysis, classification with a classifier
// trained on the corpus) on one goroutine; MB/s is the throughput.
func BenchmarkCorpusThroughput(b *testing.B) {
	corpus := loadCorpus(b)
	c, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	total := 0
	raws := make([][]byte, len(corpus))
	for i, m := range corpus {
		if err := c.Learn(ctx, m.msg, mailscore.Feedback{Label: m.label}); err != nil {
			b.Fatal(err)
		}
		raws[i] = m.msg.Raw()
		total += len(raws[i])
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		for _, raw := range raws {
			m, err := mailscore.NewMessage(mailscore.Envelope{}, raw, mailscore.Limits{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Check(ctx, m, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}
