package dnsutil

import (
	"errors"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// FuzzInterpret feeds arbitrary responses to the answer decoder: it must
// return an Answer holding only records of the type asked, on the name's
// CNAME chain, or an *Error of a known kind, and never panic.
func FuzzInterpret(f *testing.F) {
	q := new(dns.Msg)
	q.SetQuestion("example.com.", dns.TypeTXT)
	seed := func(build func(r *dns.Msg)) {
		r := new(dns.Msg)
		r.SetReply(q)
		build(r)
		b, err := r.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			f.Fatal(err)
		}
		return r
	}
	seed(func(r *dns.Msg) { r.Answer = []dns.RR{rr(`example.com. 60 IN TXT "v=spf1 -all"`)} })
	seed(func(r *dns.Msg) {
		r.Answer = []dns.RR{rr(`example.com. 60 IN CNAME a.example.net.`), rr(`a.example.net. 30 IN TXT "x" "y"`), rr(`evil.example. 30 IN TXT "injected"`)}
	})
	seed(func(r *dns.Msg) {
		r.Rcode = dns.RcodeNameError
		r.Ns = []dns.RR{rr(`example.com. 300 IN SOA ns. host. 1 2 3 4 60`)}
	})
	seed(func(r *dns.Msg) { r.Rcode = dns.RcodeServerFailure })
	seed(func(r *dns.Msg) { r.Answer = []dns.RR{rr(`example.com. 60 IN A 192.0.2.1`)} })
	f.Add([]byte{0, 0, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0})

	c := &Client{}
	kinds := []error{ErrNXDomain, ErrNoData, ErrServFail, ErrRefused, ErrTimeout, ErrMalformed}
	f.Fuzz(func(t *testing.T, wire []byte) {
		r := new(dns.Msg)
		if err := r.Unpack(wire); err != nil {
			return // the exchange reports these as ErrMalformed
		}
		a, err := c.interpret(q, r, "fuzz")
		if err != nil {
			ok := false
			for _, k := range kinds {
				ok = ok || errors.Is(err, k)
			}
			if !ok || a != nil {
				t.Fatalf("unexpected result %v, %v", a, err)
			}
			return
		}
		if len(a.Records) == 0 {
			t.Fatal("an answer without records")
		}
		for _, rr := range a.Records {
			if rr.Header().Rrtype != dns.TypeTXT {
				t.Fatalf("record of the wrong type: %v", rr)
			}
			if strings.EqualFold(rr.Header().Name, "evil.example.") {
				t.Fatalf("record off the CNAME chain accepted: %v", rr)
			}
		}
	})
}
