package auth_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/auth"
	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

func Example() {
	srv, err := dnstest.Start(`
example.com. IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.com. IN TXT "v=DMARC1; p=reject"
`)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	resolver, _ := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}})

	checker, err := auth.New(auth.Options{Resolver: resolver, SkipIPRev: true, SkipHELO: true})
	if err != nil {
		panic(err)
	}
	engine, _ := mailscore.NewEngine(mailscore.EngineOptions{}, checker)

	// Unsigned mail claiming to be from example.com, from an address
	// example.com does not send from.
	msg, _ := mailscore.NewMessage(mailscore.Envelope{
		ClientIP: netip.MustParseAddr("203.0.113.9"), HELO: "mx.example.net", MailFrom: "alice@example.com",
	}, []byte("From: alice@example.com\r\nSubject: invoice\r\n\r\nPay now.\r\n"), mailscore.Limits{})

	verdict := engine.Score(context.Background(), msg)
	for _, f := range verdict.Factors {
		fmt.Printf("%s %+.1f\n", f.Symbol, f.Contribution)
	}
	res, _ := checker.Evaluate(context.Background(), msg)
	fmt.Println(res.AuthResults("mx.example.org"))
	// Output:
	// DMARC_POLICY_REJECT +4.0
	// SPF_FAIL +2.0
	// mx.example.org; spf=fail smtp.mailfrom=alice@example.com; dkim=none; arc=none; dmarc=fail header.from=example.com policy.dmarc=reject (p=reject)
}
