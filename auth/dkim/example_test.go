package dkim_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/auth/dkim"
	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

const message = "From: Joe SixPack <joe@football.example.com>\r\n" +
	"To: Suzie Q <suzie@shopping.example.net>\r\n" +
	"Subject: Is dinner ready?\r\n" +
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n" +
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n" +
	"\r\n" +
	"Hi.\r\n" +
	"\r\n" +
	"We lost the game.  Are you hungry yet?\r\n" +
	"\r\n" +
	"Joe.\r\n"

// exampleKey is the Ed25519 key of RFC 8032 section 7.1, test 1 (also
// RFC 8463's example key).
func exampleKey() ed25519.PrivateKey {
	seed, _ := base64.StdEncoding.DecodeString("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=")
	return ed25519.NewKeyFromSeed(seed)
}

// exampleDNS publishes the key at brisbane._domainkey.football.example.com
// on a local test DNS server.
func exampleDNS() (*dnstest.Server, dnsutil.Resolver) {
	pub := exampleKey().Public().(ed25519.PublicKey)
	srv, err := dnstest.Start(`brisbane._domainkey.football.example.com. 300 IN TXT "v=DKIM1; k=ed25519; p=` +
		base64.StdEncoding.EncodeToString(pub) + `"`)
	if err != nil {
		panic(err)
	}
	r, err := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}})
	if err != nil {
		panic(err)
	}
	return srv, r
}

func ExampleSigner_Sign() {
	s, err := dkim.NewSigner(dkim.SignOptions{
		Domain:      "football.example.com",
		Selector:    "brisbane",
		Key:         exampleKey(),
		Headers:     []string{"From", "To", "Subject", "Date", "Message-ID"},
		NoTimestamp: true, // for a reproducible example; MTAs keep t=
	})
	if err != nil {
		panic(err)
	}
	field, err := s.Sign(strings.NewReader(message))
	if err != nil {
		panic(err)
	}
	// Prepend field to the message. (Its line breaks are CRLF, shown
	// here as LF.)
	fmt.Print(strings.ReplaceAll(field, "\r\n", "\n"))
	// Output:
	// DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;
	// 	d=football.example.com; s=brisbane; h=from:from:to:to:subject:subject:date:
	// 	date:message-id:message-id:sender:reply-to:cc:mime-version:content-type:
	// 	content-transfer-encoding; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;
	// 	b=rLR4I6lyPNzuttaJPGugwTOxAgATJGu/eB39wbuIxGmPvG4oUzIuR7rfZb9lvWKwBm5o5lVaUsa
	// 	kYepX4V/TAw==
}

func ExampleVerify() {
	srv, resolver := exampleDNS()
	defer srv.Close()
	s, _ := dkim.NewSigner(dkim.SignOptions{Domain: "football.example.com", Selector: "brisbane", Key: exampleKey()})
	field, _ := s.Sign(strings.NewReader(message))

	results, err := dkim.Verify(context.Background(), resolver, strings.NewReader(field+message))
	if err != nil {
		panic(err)
	}
	for _, r := range results {
		fmt.Println(r.Domain, r.Status, r.Err)
	}

	// Change the body and the signature fails.
	results, _ = dkim.Verify(context.Background(), resolver, strings.NewReader(field+strings.Replace(message, "hungry", "angry", 1)))
	fmt.Println(results[0].Status, results[0].Err)
	// Output:
	// football.example.com pass <nil>
	// fail dkim: body hash did not verify
}

func ExampleVerifier_VerifyMessage() {
	srv, resolver := exampleDNS()
	defer srv.Close()
	// One Verifier for the process: it caches parsed keys.
	v, err := dkim.NewVerifier(dkim.Options{Resolver: resolver, MinRSABits: 2048})
	if err != nil {
		panic(err)
	}
	s, _ := dkim.NewSigner(dkim.SignOptions{Domain: "football.example.com", Selector: "brisbane", Key: exampleKey(),
		Now: func() time.Time { return time.Unix(1700000000, 0) }})
	field, _ := s.Sign(strings.NewReader(message))
	msg, err := mailscore.NewMessage(mailscore.Envelope{}, []byte(field+message), mailscore.Limits{})
	if err != nil {
		panic(err)
	}
	for _, r := range v.VerifyMessage(context.Background(), msg) {
		fmt.Println("dkim=" + r.AuthResValue())
	}
	// Output:
	// dkim=pass header.d=football.example.com header.s=brisbane header.a=ed25519-sha256 header.b=0InkQDvv
}
