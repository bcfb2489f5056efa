package arc_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/auth/arc"
	"github.com/mailscore/mailscore/auth/authres"
	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

// exampleKey is a fixed Ed25519 key, so the examples' output is stable.
func exampleKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
}

// exampleDNS serves the key at arc1._domainkey.lists.example.net.
func exampleDNS() (*dnstest.Server, dnsutil.Resolver) {
	pub := base64.StdEncoding.EncodeToString(exampleKey().Public().(ed25519.PublicKey))
	srv, err := dnstest.Start(`arc1._domainkey.lists.example.net. IN TXT "v=DKIM1; k=ed25519; p=` + pub + `"`)
	if err != nil {
		panic(err)
	}
	r, err := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}})
	if err != nil {
		panic(err)
	}
	return srv, r
}

const exampleMessage = "From: Alice <alice@example.com>\r\n" +
	"To: list@lists.example.net\r\n" +
	"Subject: Hello\r\n" +
	"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n" +
	"\r\n" +
	"Hello, list.\r\n"

// A mailing list seals what it saw when the message arrived, then changes
// the Subject (which breaks the author's DKIM signature) and sends it on;
// the receiver validates the chain and reads the list's results.
func Example() {
	srv, resolver := exampleDNS()
	defer srv.Close()
	ctx := context.Background()

	// At the list: validate (no chain yet), modify, seal.
	validator, _ := arc.NewValidator(arc.Options{Resolver: resolver})
	sealer, _ := arc.NewSealer(arc.SealOptions{Domain: "lists.example.net", Selector: "arc1", Key: exampleKey()})
	in, _ := mailscore.NewMessage(mailscore.Envelope{}, []byte(exampleMessage), mailscore.Limits{})
	chain := validator.Validate(ctx, in)
	seen := authres.Header{AuthServID: "mx.lists.example.net", Results: []authres.Result{
		authres.SPF("pass", "alice@example.com", ""),
		authres.DKIM("pass", "", "example.com", "", "s1", "rsa-sha256", ""),
		authres.DMARC("pass", "example.com", "reject"),
		chain.AuthResult(netip.MustParseAddr("192.0.2.1")),
	}}
	out := strings.Replace(exampleMessage, "Subject: Hello", "Subject: [list] Hello", 1)
	outMsg, _ := mailscore.NewMessage(mailscore.Envelope{}, []byte(out), mailscore.Limits{})
	set, err := sealer.Seal(outMsg, chain, seen)
	if err != nil {
		panic(err)
	}

	// At the receiver.
	msg, _ := mailscore.NewMessage(mailscore.Envelope{}, []byte(set+out), mailscore.Limits{})
	res := validator.Validate(ctx, msg)
	fmt.Println("chain:", res.Status, "sets:", res.Instance)
	fmt.Println("first hop saw:", res.FirstHop().AAR.Payload)
	h := authres.Header{AuthServID: "mx.example.org", Results: []authres.Result{res.AuthResult(netip.MustParseAddr("198.51.100.7"))}}
	fmt.Println(h.String())
	// Output:
	// chain: pass sets: 1
	// first hop saw: mx.lists.example.net; spf=pass smtp.mailfrom=alice@example.com; dkim=pass header.d=example.com header.s=s1 header.a=rsa-sha256; dmarc=pass header.from=example.com policy.dmarc=reject; arc=none
	// mx.example.org; arc=pass smtp.remote-ip=198.51.100.7 (i=1 spf=pass dkim=pass dmarc=pass)
}

func ExampleValidator_Validate() {
	srv, resolver := exampleDNS()
	defer srv.Close()
	sealer, _ := arc.NewSealer(arc.SealOptions{Domain: "lists.example.net", Selector: "arc1", Key: exampleKey(),
		Now: func() time.Time { return time.Unix(1795000000, 0) }})
	in, _ := mailscore.NewMessage(mailscore.Envelope{}, []byte(exampleMessage), mailscore.Limits{})
	set, _ := sealer.SealPayload(in, nil, "mx.lists.example.net; dmarc=pass header.from=example.com; arc=none")

	validator, _ := arc.NewValidator(arc.Options{Resolver: resolver})
	for _, raw := range []string{
		exampleMessage,       // no ARC
		set + exampleMessage, // sealed as it is
		set + exampleMessage + "Appended after sealing.\r\n", // changed after the seal
	} {
		msg, _ := mailscore.NewMessage(mailscore.Envelope{}, []byte(raw), mailscore.Limits{})
		res := validator.Validate(context.Background(), msg)
		fmt.Println(strings.TrimSpace(string(res.Status) + " " + res.Reason()))
	}
	// Output:
	// none
	// pass
	// fail i=1 ARC-Message-Signature did not validate: body hash did not verify
}

func ExampleSealer_Seal() {
	srv, resolver := exampleDNS()
	defer srv.Close()
	sealer, err := arc.NewSealer(arc.SealOptions{Domain: "lists.example.net", Selector: "arc1", Key: exampleKey(),
		Now: func() time.Time { return time.Unix(1795000000, 0) }})
	if err != nil {
		panic(err)
	}
	validator, _ := arc.NewValidator(arc.Options{Resolver: resolver})
	msg, _ := mailscore.NewMessage(mailscore.Envelope{}, []byte(exampleMessage), mailscore.Limits{})
	chain := validator.Validate(context.Background(), msg)
	results := authres.Header{AuthServID: "mx.lists.example.net", Results: []authres.Result{
		authres.DMARC("pass", "example.com", "reject"), chain.AuthResult(netip.Addr{})}}
	set, err := sealer.Seal(msg, chain, results)
	if err != nil {
		panic(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(set), "\r\n") {
		if strings.HasPrefix(line, "\tb=") {
			line = "\tb=..." // the signature
		}
		if strings.HasPrefix(line, "\tbh=") {
			line = "\tbh=...; c=relaxed/relaxed;" // the body hash
		}
		fmt.Println(line)
	}
	// Output:
	// ARC-Seal: a=ed25519-sha256;
	// 	b=...
	// 	cv=none; d=lists.example.net; i=1; s=arc1; t=1795000000
	// ARC-Message-Signature: a=ed25519-sha256;
	// 	b=...
	// 	bh=...; c=relaxed/relaxed;
	// 	d=lists.example.net;
	// 	h=from:from:sender:reply-to:subject:subject:date:date:message-id:to:to:cc:
	// 	mime-version:content-type:content-transfer-encoding; i=1; s=arc1;
	// 	t=1795000000
	// ARC-Authentication-Results: i=1; mx.lists.example.net; dmarc=pass
	// 	header.from=example.com policy.dmarc=reject; arc=none
}

func ExampleMergeAuthResults() {
	raw := "Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=alice@example.com\r\n" +
		"Authentication-Results: mx.example.net; dkim=pass header.d=example.com\r\n" +
		"Authentication-Results: other.example; dkim=fail\r\n" + exampleMessage
	msg, _ := mailscore.NewMessage(mailscore.Envelope{}, []byte(raw), mailscore.Limits{})
	payload, ok := arc.MergeAuthResults(msg, "mx.example.net")
	fmt.Println(ok, payload)
	// Output:
	// true mx.example.net; spf=pass smtp.mailfrom=alice@example.com; dkim=pass header.d=example.com
}
