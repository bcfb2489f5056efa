package dmarc_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/mailscore/mailscore/auth/dmarc"
	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

func Example() {
	srv, err := dnstest.Start(`_dmarc.example.com. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"`)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	resolver, _ := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}})
	v := dmarc.New(resolver, dmarc.Options{})

	// DKIM passed for a sibling subdomain: relaxed alignment.
	res := v.EvaluateMessage(context.Background(), []string{"Alice <alice@news.example.com>"},
		dmarc.SPFOutcome{Domain: "bounces.esp.example", Result: dmarc.AuthPass},
		[]dmarc.DKIMOutcome{{Domain: "mail.example.com", Selector: "s1", Result: dmarc.AuthPass}})
	fmt.Println(res.Status, res.OrgDomain, res.AlignedDKIM)

	// Nothing aligned: the policy of example.com applies to its subdomain.
	res = v.Evaluate(context.Background(), "news.example.com",
		dmarc.SPFOutcome{Domain: "bounces.esp.example", Result: dmarc.AuthPass}, nil)
	fmt.Println(res.Status, res.Disposition, res.RecordName)
	// Output:
	// pass example.com mail.example.com
	// fail reject _dmarc.example.com
}

func ExampleParseRecord() {
	r, err := dmarc.ParseRecord("v=DMARC1; p=quarantine; sp=bogus; rua=mailto:d@example.com!10m")
	fmt.Println(r.Policy, r.RUA[0].MaxSize)
	fmt.Println(err)
	// Output:
	// quarantine 10485760
	// dmarc: at byte 24, tag sp="bogus": policy must be none, quarantine or reject (tag ignored)
}

func ExampleOrganizationalDomainPSL() {
	for _, d := range []string{"mail.example.co.uk", "alice.blogspot.com"} {
		org, _ := dmarc.OrganizationalDomainPSL(d)
		fmt.Println(org)
	}
	// Output:
	// example.co.uk
	// alice.blogspot.com
}

func BenchmarkEvaluate(b *testing.B) {
	srv, err := dnstest.Start(`
_dmarc.example.com. 300 IN TXT "v=DMARC1; p=reject"
`)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	resolver, _ := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}})
	for _, mode := range []dmarc.Mode{dmarc.TreeWalk, dmarc.PSL} {
		v := dmarc.New(resolver, dmarc.Options{Mode: mode})
		from := []string{"Alice <alice@news.example.com>"}
		spf := dmarc.SPFOutcome{Domain: "bounce.example.com", Result: dmarc.AuthPass}
		dkim := []dmarc.DKIMOutcome{{Domain: "example.com", Result: dmarc.AuthPass}}
		b.Run(mode.String()+"/warm-cache", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if res := v.EvaluateMessage(context.Background(), from, spf, dkim); res.Status != dmarc.Pass {
					b.Fatal(res.Reason)
				}
			}
		})
	}
	b.Run("ParseRecord", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = dmarc.ParseRecord("v=DMARC1; p=reject; sp=quarantine; adkim=s; rua=mailto:a@example.com,mailto:b@example.net; fo=1")
		}
	})
}
