package urlcheck

import (
	"bytes"
	"strings"
	"testing"
)

var fuzzURLs = []string{
	"http://www.example.com/a?b#c", "HTTPS://Bank.Example@EVIL.example:443/x", "http://0x425c45de/",
	"http://66.92.0x45.221/", "http://1113343455/", "http://slashdot.org@1113343456/", "http://%65vil.com/",
	`http:/\evil.example\@bank.example/`, "http://[::ffff:127.0.0.1]:80/", "http://bücher.de/",
	"http://ＥＸＡＭＰＬＥ。com/", "mailto:a%40b@example.org?x", "www.example.co.uk/x", "//cdn.example/x",
	"http://a.b.pages.dev/", "http://xn--a.com/", "http://1.2.3.4.5/", "http://[fe80::1%25eth0]/", "ftp://u:p@h:21/",
}

// FuzzNormalize: Normalize never panics, and what it accepts is
// consistent and stable under normalizing again.
func FuzzNormalize(f *testing.F) {
	for _, s := range fuzzURLs {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := Normalize(raw)
		if err != nil {
			return
		}
		if u.Host == "" || len(u.Host) > 253 {
			t.Fatalf("%q: bad host %q", raw, u.Host)
		}
		if u.IP.IsValid() != (u.Flags&FlagNumericHost != 0) {
			t.Fatalf("%q: IP %v but flags %v", raw, u.IP, u.Flags)
		}
		if !u.IP.IsValid() && !validASCIIHost(u.Host) {
			t.Fatalf("%q: host %q is not a valid ASCII name", raw, u.Host)
		}
		if u.Domain != "" && !strings.HasSuffix(u.Host, u.Domain) || !strings.HasSuffix(u.Domain, u.ICANNDomain) {
			t.Fatalf("%q: host %q, domain %q, ICANN domain %q", raw, u.Host, u.Domain, u.ICANNDomain)
		}
		if u.Scheme == "mailto" {
			return
		}
		s := u.String()
		v, err := Normalize(s)
		if err != nil {
			t.Fatalf("%q normalized to %q, which does not normalize: %v", raw, s, err)
		}
		if v.String() != s || v.Host != u.Host || v.Domain != u.Domain {
			t.Fatalf("%q: %q then %q", raw, s, v.String())
		}
	})
}

func checkLinks(t *testing.T, links []Link, opts ExtractOptions) {
	t.Helper()
	if len(links) > opts.resolved().MaxLinks {
		t.Fatalf("%d links, more than the cap", len(links))
	}
	for _, l := range links {
		if l.Host == "" {
			t.Fatalf("link without a host: %+v", l)
		}
		if l.Scheme == "mailto" {
			continue
		}
		if _, err := Normalize(l.String()); err != nil {
			t.Fatalf("kept %q, which does not normalize: %v", l.String(), err)
		}
	}
}

// FuzzExtractHTML: extraction from hostile markup never panics and keeps
// only valid, capped links.
func FuzzExtractHTML(f *testing.F) {
	f.Add(`<a href="http://a.example/1">x</a><img src='http://img.example/i.png'><form action=https://f.example/>`)
	f.Add(`<img srcset="http://s.example/1.png 1x, http://s.example/2.png 2x"><div style="background:url('http://c.example/a')">`)
	f.Add(`<meta http-equiv=refresh content="0;url=http://r.example/"><base href="https://b.example/d/"><a href=x>`)
	f.Add(`<!-- <a href="http://c.example/"> --><script>"http://s.example/"</script><style>@import url(http://i.example/)</style>`)
	f.Add(`<A HREF="&#104;ttp://e.example/?a=1&amp;b=2">` + "http://text.example/ www.w.example mail@m.example")
	f.Add(newsletterHTML(2048))
	opts := ExtractOptions{MaxLinks: 20}
	f.Fuzz(func(t *testing.T, doc string) {
		checkLinks(t, ExtractHTML(doc, opts), opts)
	})
}

// FuzzExtractText: the same for plain text.
func FuzzExtractText(f *testing.F) {
	f.Add("See http://example.com/a and www.Shop.example, mail me@example.org, spamassassin.org.")
	f.Add("http://tracker.example/c?u=https%3A%2F%2Fevil.example%2F http://drs.yahoo.com/__//*%68ttp://x.org%40e.example/a/")
	f.Add("https://www.google.com/amp/s/spamassassin.apache.org/news.html (http://x.example/y)\u00a0http://0x7f.1/")
	opts := ExtractOptions{MaxLinks: 20, MaxPerDomain: 3}
	f.Fuzz(func(t *testing.T, text string) {
		checkLinks(t, ExtractText(text, opts), opts)
	})
}

// FuzzLoad: loading saved state never panics; what loads saves and loads
// again.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"version":1,"tables":{"ns":{"total":{"n":"","s":3,"h":1,"t":5},"entries":[{"n":"ns1.example","s":3,"h":1,"t":5}]}}}`))
	f.Add([]byte(`{"version":1,"tables":{}}`))
	f.Add([]byte(`{"version":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := New(nil, Options{Reputation: ReputationOptions{MaxEntries: 100}})
		if err != nil {
			t.Fatal(err)
		}
		if c.Load(bytes.NewReader(b)) != nil {
			return
		}
		var buf bytes.Buffer
		if err := c.Save(&buf); err != nil {
			t.Fatal(err)
		}
		if err := c.Load(&buf); err != nil {
			t.Fatalf("saved state does not load: %v", err)
		}
	})
}
