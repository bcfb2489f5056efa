package spf_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/mailscore/mailscore/auth/spf"
	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

// exampleZone is the DNS data the examples run against.
const exampleZone = `
example.com.          TXT "v=spf1 include:_spf.example.net mx -all exp=why.example.com"
why.example.com.      TXT "%{i} is not one of %{d}'s designated mail servers."
example.com.          MX  10 mx.example.com.
mx.example.com.       A   192.0.2.10
_spf.example.net.     TXT "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8::/32 -all"
mail.example.com.     TXT "v=spf1 a -all"
mail.example.com.     A   192.0.2.10
`

// resolverFor starts a dnstest server with zone and returns a resolver
// pointed at it. Examples have no *testing.T, so they use a throwaway one.
func resolverFor(zone string) (dnsutil.Resolver, func()) {
	srv, err := dnstest.Start(zone)
	if err != nil {
		panic(err)
	}
	r, err := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}, Timeout: time.Second})
	if err != nil {
		panic(err)
	}
	return r, srv.Close
}

func ExampleCheck() {
	resolver, stop := resolverFor(exampleZone)
	defer stop()

	ip := netip.MustParseAddr("198.51.100.7")
	res := spf.Check(context.Background(), resolver, ip, "mail.example.com", "bob@example.com")
	fmt.Println(res.Code, res.Mechanism)
	fmt.Println(res.Summary())
	// Output:
	// pass include:_spf.example.net
	// pass: example.com authorizes 198.51.100.7 (include:_spf.example.net -> ip4:198.51.100.0/24 matched)
}

func ExampleChecker_Check() {
	resolver, stop := resolverFor(exampleZone)
	defer stop()

	checker := spf.New(resolver, spf.Options{Receiver: "mx.example.org"})
	ip := netip.MustParseAddr("203.0.113.9")
	res := checker.Check(context.Background(), ip, "mail.example.com", "bob@example.com")
	fmt.Println(res.Code, res.Mechanism)
	fmt.Println(res.Explanation)
	fmt.Println("Received-SPF: " + res.ReceivedSPF("mx.example.org"))
	fmt.Println("Authentication-Results: mx.example.org; " + res.AuthResValue())
	// Output:
	// fail -all
	// 203.0.113.9 is not one of example.com's designated mail servers.
	// Received-SPF: fail (mx.example.org: domain of bob@example.com does not designate 203.0.113.9 as permitted sender) client-ip=203.0.113.9; envelope-from="bob@example.com"; helo=mail.example.com; receiver=mx.example.org; identity=mailfrom; mechanism=-all
	// Authentication-Results: mx.example.org; spf=fail smtp.mailfrom=bob@example.com
}

func ExampleChecker_CheckHELO() {
	resolver, stop := resolverFor(exampleZone)
	defer stop()

	checker := spf.New(resolver, spf.Options{})
	res := checker.CheckHELO(context.Background(), netip.MustParseAddr("192.0.2.10"), "mail.example.com")
	fmt.Println(res.Code, res.Identity, res.Sender)
	fmt.Println(res.AuthResValue())
	// Output:
	// pass helo postmaster@mail.example.com
	// spf=pass smtp.helo=mail.example.com
}

func ExampleParse() {
	rec, err := spf.Parse("v=spf1 a:mail.%{d2} ip4:192.0.2.0/24 include:_spf.example.net ~all")
	if err != nil {
		panic(err)
	}
	for _, t := range rec.Terms {
		fmt.Printf("%c %s %q\n", t.Qualifier, t.Kind, t.Domain)
	}
	_, err = spf.Parse("v=spf1 ip4:192.0.2.0/33 -all")
	fmt.Println(err)
	// Output:
	// + a "mail.%{d2}"
	// + ip4 ""
	// + include "_spf.example.net"
	// ~ all ""
	// spf: syntax error in "ip4:192.0.2.0/33": invalid prefix length "33"
}

func ExampleResult_TraceLines() {
	resolver, stop := resolverFor(exampleZone)
	defer stop()

	res := spf.Check(context.Background(), resolver, netip.MustParseAddr("192.0.2.10"), "mail.example.com", "bob@example.com")
	for _, line := range res.TraceLines() {
		fmt.Println(line)
	}
	// Output:
	// example.com: record: v=spf1 include:_spf.example.net mx -all exp=why.example.com
	//   _spf.example.net: record: v=spf1 ip4:198.51.100.0/24 ip6:2001:db8::/32 -all
	//   _spf.example.net: ip4:198.51.100.0/24 -> no match
	//   _spf.example.net: ip6:2001:db8::/32 -> no match
	//   _spf.example.net: -all -> matched: fail
	// example.com: include:_spf.example.net [_spf.example.net] -> no match: included result fail
	// example.com: mx -> matched MX host: mx.example.com
	// example.com: mx -> matched: pass
}

func ExampleChecker_CheckHost() {
	resolver, stop := resolverFor(exampleZone)
	defer stop()

	// check_host() for another identity, e.g. a PRA or a domain found in
	// a header: the domain, the <sender> for macros, and the HELO name.
	checker := spf.New(resolver, spf.Options{})
	res := checker.CheckHost(context.Background(), netip.MustParseAddr("2001:db8::25"),
		"_spf.example.net", "list-bounces@_spf.example.net", "mail.example.com")
	fmt.Println(res.Code, res.Mechanism, res.Lookups)
	// Output:
	// pass ip6:2001:db8::/32 0
}
