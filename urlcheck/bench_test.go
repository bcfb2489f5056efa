package urlcheck

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mailscore/mailscore"
)

// newsletterHTML builds a 10 KB HTML part shaped like a marketing mail: a
// style block, a table layout, tracking links with entity-encoded query
// strings spread over a few hosts, images, prose and a footer.
func newsletterHTML(size int) string {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0"><title>Spring sale</title>
<style type="text/css">body{margin:0;padding:0;background:#f4f4f4 url(https://cdn.shop-mail.example/bg.png)}
table{border-collapse:collapse}.btn a{color:#ffffff;text-decoration:none}@media only screen and (max-width:600px){.col{width:100%!important}}</style>
</head><body style="margin:0;padding:0"><center><table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" bgcolor="#f4f4f4">
<tr><td align="center" style="padding:20px 0"><a href="https://click.shop-mail.example/ls/click?upn=AbC123&amp;id=0" target="_blank">
<img src="https://cdn.shop-mail.example/logo.png" width="180" height="48" alt="Shop" style="display:block;border:0"></a></td></tr>
`)
	hosts := []string{"click.shop-mail.example", "www.shop.example", "click.shop-mail.example", "blog.shop.example", "click.shop-mail.example"}
	for i := 0; b.Len() < size-900; i++ {
		h := hosts[i%len(hosts)]
		fmt.Fprintf(&b, `<tr><td class="col" style="padding:10px 24px;font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:22px;color:#333333">
<a href="https://%s/ls/click?upn=Xy%dZ&amp;utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=spring" style="color:#0066cc">
<img src="https://cdn.shop-mail.example/products/%d.jpg" width="260" height="180" alt="Product %d" style="display:block;border:0"></a>
<p style="margin:8px 0">Our new item number %d is here. It is lighter, faster and cheaper than last year's model, and it ships free this week.
Read more about it on our site.</p></td></tr>
`, h, i, i, i, i)
	}
	b.WriteString(`<tr><td align="center" style="padding:24px;font-size:12px;color:#888888;font-family:Arial,sans-serif">
You receive this mail because you subscribed at www.shop.example. <a href="https://click.shop-mail.example/unsubscribe?u=abc&amp;e=x" style="color:#888888">Unsubscribe</a> |
<a href="mailto:help@shop.example">help@shop.example</a><br>Shop Inc., 1 Main Street, Springfield.</td></tr></table></center></body></html>
`)
	return b.String()
}

func BenchmarkExtractHTML10K(b *testing.B) {
	doc := newsletterHTML(10 << 10)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n = len(ExtractHTML(doc, ExtractOptions{}))
	}
	b.ReportMetric(float64(n), "links")
}

func BenchmarkNormalize(b *testing.B) {
	urls := []string{
		"https://click.shop-mail.example/ls/click?upn=Xy1Z&utm_source=newsletter",
		"http://WWW.Example.COM:80/path/to/page.html",
		"https://a.tenant.pages.dev/index.html",
		"http://0x425c45de/",
		"https://bank.example@evil.example/login",
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := Normalize(urls[i%len(urls)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// plainText builds a 10 KB plain-text part: prose with a link every few
// lines, like the text alternative of a newsletter.
func plainText(size int) string {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "Item %d: our new model is lighter, faster and cheaper than last year's, and it ships free.\n", i)
		if i%3 == 0 {
			fmt.Fprintf(&b, "Read more: https://click.shop-mail.example/ls/click?upn=Xy%dZ&utm_source=newsletter\n", i)
		}
	}
	return b.String()
}

func BenchmarkExtractText10K(b *testing.B) {
	text := plainText(10 << 10)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n = len(ExtractText(text, ExtractOptions{}))
	}
	b.ReportMetric(float64(n), "links")
}

// BenchmarkCheckNoDNS is the Checker on a multipart message with the 10 KB
// HTML part and its text alternative, without DNS: extraction, the
// checks on the links themselves, and the reputation lookups.
func BenchmarkCheckNoDNS(b *testing.B) {
	raw := "From: news@shop.example\r\nSubject: sale\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=x\r\n\r\n" +
		"--x\r\nContent-Type: text/plain\r\n\r\n" + plainText(4<<10) + "\r\n--x\r\nContent-Type: text/html\r\n\r\n" + newsletterHTML(10<<10) + "\r\n--x--\r\n"
	c, err := New(nil, Options{Protected: []string{"paypal.com", "shop.example"}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		msg, err := mailscore.NewMessage(mailscore.Envelope{}, []byte(raw), mailscore.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Check(ctx, msg, nil); err != nil {
			b.Fatal(err)
		}
	}
}
