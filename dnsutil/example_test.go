package dnsutil_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

func ExampleLookupTXT() {
	srv, err := dnstest.Start(`example.com. 300 IN TXT "v=spf1 " "-all"`)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	r, err := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}})
	if err != nil {
		panic(err)
	}
	txt, err := dnsutil.LookupTXT(context.Background(), r, "example.com")
	fmt.Println(txt, err)
	_, err = dnsutil.LookupTXT(context.Background(), r, "missing.example.com")
	fmt.Println(dnsutil.IsNotFound(err), dnsutil.IsTemporary(err))
	// Output:
	// [v=spf1 -all] <nil>
	// true false
}

func ExampleDNSBL() {
	srv, _ := dnstest.Start(`
2.0.0.127.zen.example. 60 IN A 127.0.0.2
99.2.0.192.zen.example. 60 IN A 127.0.0.4
1.2.0.192.zen.example.  60 IN A 127.255.255.254
`)
	defer srv.Close()
	r, _ := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}})
	zen := dnsutil.SpamhausZEN()
	zen.Zone = "zen.example" // a local copy of the list
	lists, _ := dnsutil.NewDNSBL(r, dnsutil.DNSBLOptions{}, zen)
	for _, ip := range []string{"192.0.2.99", "192.0.2.1", "192.0.2.7"} {
		res := lists.LookupIP(context.Background(), netip.MustParseAddr(ip))[0]
		switch {
		case res.Err != nil:
			fmt.Printf("%s: unknown (%v)\n", ip, res.Err)
		case res.Listed:
			fmt.Printf("%s: %s\n", ip, res.Codes[0].Meaning)
		default:
			fmt.Printf("%s: not listed\n", ip)
		}
	}
	// Output:
	// 192.0.2.99: Spamhaus XBL: an exploited or infected host (botnet, open proxy)
	// 192.0.2.1: unknown (dnsutil: Spamhaus ZEN answered 127.255.255.254 for 1.2.0.192.zen.example.: Spamhaus: query through a public or open resolver refused)
	// 192.0.2.7: not listed
}
