package urlcheck_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/urlcheck"
)

func ExampleNormalize() {
	for _, raw := range []string{
		"HTTP://WWW.Example.COM:80/a?b",
		"http://0x425c45de/",
		"https://bank.example@evil.example/login",
		"https://a.tenant.pages.dev/",
		"http://bücher.de/",
	} {
		u, err := urlcheck.Normalize(raw)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s domain=%q flags=%s\n", u.String(), u.Domain, u.Flags)
	}
	// Output:
	// http://www.example.com/a?b domain="example.com" flags=
	// http://66.92.69.222/ domain="" flags=numeric-host,obfuscated-ip
	// https://evil.example/login domain="evil.example" flags=userinfo,deceptive-userinfo
	// https://a.tenant.pages.dev/ domain="tenant.pages.dev" flags=
	// http://xn--bcher-kva.de/ domain="xn--bcher-kva.de" flags=idn
}

func ExampleExtractHTML() {
	doc := `<a href="https://shop.example/deal?a=1&amp;b=2">Deal</a>
<img src="https://cdn.example/logo.png"> Questions? help@shop.example or www.shop.example`
	for _, l := range urlcheck.ExtractHTML(doc, urlcheck.ExtractOptions{}) {
		fmt.Println(l.Origin, l.String())
	}
	// Output:
	// href https://shop.example/deal?a=1&b=2
	// www http://www.shop.example/
	// src https://cdn.example/logo.png
}

func ExampleNew() {
	// No resolver: no DNS lookups, only what the links show by themselves.
	c, err := urlcheck.New(nil, urlcheck.Options{Protected: []string{"paypal.com"}})
	if err != nil {
		panic(err)
	}
	engine, err := mailscore.NewEngine(mailscore.EngineOptions{}, c)
	if err != nil {
		panic(err)
	}
	raw := "From: service@paypal.example\r\nSubject: verify\r\n\r\nVerify now: https://paypa1.com/signin\r\n"
	msg, err := mailscore.NewMessage(mailscore.Envelope{}, []byte(raw), mailscore.Limits{})
	if err != nil {
		panic(err)
	}
	v := engine.Score(context.Background(), msg)
	f, _ := v.Dominant()
	fmt.Println(v.Action, f.Symbol)
	fmt.Println(f.Reason)
	// Output:
	// tag URL_LOOKALIKE
	// links to domains that imitate protected names: paypa1.com (confusable) imitates paypal.com
}

func ExampleChecker_Learn() {
	c, _ := urlcheck.New(nil, urlcheck.Options{})
	engine, _ := mailscore.NewEngine(mailscore.EngineOptions{}, c)
	ctx := context.Background()
	msg := func(body string) *mailscore.Message {
		m, err := mailscore.NewMessage(mailscore.Envelope{}, []byte("From: a@b.example\r\n\r\n"+body+"\r\n"), mailscore.Limits{})
		if err != nil {
			panic(err)
		}
		return m
	}
	for i := range 10 {
		_ = engine.Learn(ctx, msg(fmt.Sprintf("http://pills.example/p%d", i)), mailscore.Spam)
	}
	for _, s := range engine.Observe(ctx, msg("http://www.pills.example/new")).Signals {
		if s.Symbol == urlcheck.SymDomainReputation {
			fmt.Printf("%.2f %.2f %s\n", s.Value, s.Confidence, s.Reason)
		}
	}
	// Output:
	// 0.83 0.67 linked domain pills.example: 10 spam and 0 ham reports, estimated spam rate 94% against 67% for all feedback
}

func ExampleNewFollower() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/s" {
			http.Redirect(w, r, "/files/invoice.exe", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write([]byte("MZ\x90\x00"))
	}))
	defer srv.Close()
	// AllowLoopback and AnyPort are for this example's local test server;
	// production leaves them off.
	f := urlcheck.NewFollower(urlcheck.FollowerOptions{AllowLoopback: true, AnyPort: true})
	land, err := f.Follow(context.Background(), srv.URL+"/s")
	if err != nil {
		panic(err)
	}
	fmt.Println(len(land.Hops), strings.TrimPrefix(land.Final.String(), srv.URL), land.Executable)
	// Output:
	// 2 /files/invoice.exe a Windows program (starts with MZ)
}
