package spf

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"

	"github.com/mailscore/mailscore/dnsutil"
)

// fuzzSeeds are records from the OpenSPF suites and the RFC, plus odd
// ones.
var fuzzSeeds = []string{
	"v=spf1",
	"v=spf1 -all",
	"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx ptr include:_spf.example.com ~all",
	"v=spf1 a/24//64 mx:example.com/28 -ptr:%{d2} exists:%{ir}.%{l1r+-}._spf.%{d} ?all",
	"v=spf1 redirect=%{d}.d.spf.example.com. exp=%{l}.explain.%{o}",
	"v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all",
	"v=spf1 a:foo:bar/baz.example.com",
	"v=spf1 a:macro%%percent%_%_space%-url-space.example.com -all",
	"v=spf1 exists:%{i}.%{l2r-}.user.%{d2} include:%{D8R.-+,/_=}.example.com",
	"v=spf1 -all exp=foobar.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.example.com",
	"v=spf1 ip4:1.2.3.4/033 ip6:::1//33 a/33",
	"v=spf1 a:\xef\xbb\xbfgarbage.example.net -all",
	"V=SpF1 IP4:1.2.3.4 REDIRECT=x.example.com",
	"v=spf1 include:sub.example.com include:sub.example.com redirect=sub.example.com",
	"v=spf1 include:%{d} -all",
	"v=spf1 ptr:sub.example.com mx:sub.example.com a:sub.example.com exists:%{p}.wild.example.com -all",
	"v=spf1 " + strings.Repeat("a ", 40) + "-all",
	"v=spf1 exp=%{c}.%{r}.%{t} -all",
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rec, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v does not match ErrSyntax", err)
			}
			if rec != nil {
				t.Fatal("record returned with an error")
			}
			return
		}
		if !IsRecord(s) {
			t.Fatalf("parsed %q, which IsRecord rejects", s)
		}
		redirects, exps := 0, 0
		for _, term := range rec.Terms {
			if term.Text == "" || !strings.Contains(s, term.Text) {
				t.Fatalf("term %q not in the record", term.Text)
			}
			for i := 0; i < len(term.Text); i++ {
				if c := term.Text[i]; c < 0x21 || c > 0x7e {
					t.Fatalf("term %q holds byte %#x", term.Text, c)
				}
			}
			switch term.Kind {
			case KindRedirect:
				redirects++
			case KindExp:
				exps++
			case KindIP4:
				if !term.Prefix.Addr().Is4() || term.Prefix.Bits() > 32 || term.Prefix != term.Prefix.Masked() {
					t.Fatalf("ip4 prefix %v", term.Prefix)
				}
			case KindIP6:
				if !term.Prefix.Addr().Is6() || term.Prefix.Bits() > 128 || term.Prefix != term.Prefix.Masked() {
					t.Fatalf("ip6 prefix %v", term.Prefix)
				}
			case KindA, KindMX:
				if term.Bits4 < 0 || term.Bits4 > 32 || term.Bits6 < 0 || term.Bits6 > 128 {
					t.Fatalf("cidr %d %d", term.Bits4, term.Bits6)
				}
			case KindUnknown:
				if term.Name == "" {
					t.Fatal("unknown modifier without a name")
				}
			case KindAll, KindInclude, KindPTR, KindExists:
			default:
				t.Fatalf("kind %d", term.Kind)
			}
			if term.Kind.Mechanism() && strings.IndexByte("+-~?", byte(term.Qualifier)) < 0 {
				t.Fatalf("qualifier %q", term.Qualifier)
			}
			if term.Domain != "" {
				if msg := checkDomainSpec(term.Domain); msg != "" {
					t.Fatalf("accepted domain-spec %q: %s", term.Domain, msg)
				}
			}
		}
		if redirects > 1 || exps > 1 || (redirects == 1) != (rec.Redirect != nil) || (exps == 1) != (rec.Exp != nil) {
			t.Fatalf("modifiers: %d redirect, %d exp", redirects, exps)
		}
		again, err := Parse(rec.Text)
		if err != nil || len(again.Terms) != len(rec.Terms) {
			t.Fatalf("re-parse: %v", err)
		}
	})
}

// memResolver is an in-memory dnsutil.Resolver for the evaluation fuzz
// target, which must run at fuzz speed (no sockets). Names under
// wild.example.com answer every question, so macro-made names resolve.
type memResolver struct {
	rrs   map[memKey][]dns.RR
	names map[string]bool
	calls atomic.Int64
}

type memKey struct {
	name  string
	qtype uint16
}

func (m *memResolver) add(rr dns.RR) {
	h := rr.Header()
	h.Name = strings.ToLower(dns.Fqdn(h.Name))
	h.Class, h.Ttl = dns.ClassINET, 300
	k := memKey{h.Name, h.Rrtype}
	m.rrs[k] = append(m.rrs[k], rr)
	m.names[h.Name] = true
}

func (m *memResolver) Lookup(ctx context.Context, name string, qtype uint16) (*dnsutil.Answer, error) {
	m.calls.Add(1)
	if err := ctx.Err(); err != nil {
		return nil, &dnsutil.Error{Name: name, Type: qtype, Kind: dnsutil.ErrTimeout, Err: err}
	}
	cname, err := dnsutil.Canonical(name)
	if err != nil {
		return nil, &dnsutil.Error{Name: name, Type: qtype, Kind: dnsutil.ErrInvalidName, Err: err}
	}
	if rrs := m.rrs[memKey{cname, qtype}]; len(rrs) > 0 {
		return &dnsutil.Answer{Name: cname, Type: qtype, Records: rrs, TTL: 300}, nil
	}
	if strings.HasSuffix(cname, ".wild.example.com.") {
		hdr := dns.RR_Header{Name: cname, Rrtype: qtype, Class: dns.ClassINET, Ttl: 300}
		switch qtype {
		case dns.TypeA:
			return &dnsutil.Answer{Name: cname, Type: qtype, Records: []dns.RR{&dns.A{Hdr: hdr, A: net.IPv4(127, 0, 0, 2)}}}, nil
		case dns.TypeTXT:
			return &dnsutil.Answer{Name: cname, Type: qtype, Records: m.rrs[memKey{"sub.example.com.", dns.TypeTXT}]}, nil
		}
	}
	kind := dnsutil.ErrNXDomain
	if m.names[cname] {
		kind = dnsutil.ErrNoData
	}
	return nil, &dnsutil.Error{Name: cname, Type: qtype, Kind: kind}
}

func fuzzZone(top, sub string) *memResolver {
	m := &memResolver{rrs: map[memKey][]dns.RR{}, names: map[string]bool{}}
	hdr := func(name string, t uint16) dns.RR_Header { return dns.RR_Header{Name: name, Rrtype: t} }
	m.add(&dns.TXT{Hdr: hdr("example.com", dns.TypeTXT), Txt: txtStrings(top)})
	m.add(&dns.TXT{Hdr: hdr("sub.example.com", dns.TypeTXT), Txt: txtStrings(sub)})
	m.add(&dns.TXT{Hdr: hdr("explain.example.com", dns.TypeTXT), Txt: []string{"%{c} %{i} %{ir} %{p} %{t} %{r} %{L}"}})
	m.add(&dns.A{Hdr: hdr("example.com", dns.TypeA), A: net.IPv4(192, 0, 2, 1)})
	m.add(&dns.AAAA{Hdr: hdr("example.com", dns.TypeAAAA), AAAA: net.ParseIP("2001:db8::1")})
	m.add(&dns.MX{Hdr: hdr("example.com", dns.TypeMX), Preference: 10, Mx: "mx.example.com."})
	m.add(&dns.MX{Hdr: hdr("example.com", dns.TypeMX), Preference: 20, Mx: "."})
	m.add(&dns.A{Hdr: hdr("mx.example.com", dns.TypeA), A: net.IPv4(192, 0, 2, 2)})
	m.add(&dns.AAAA{Hdr: hdr("mx.example.com", dns.TypeAAAA), AAAA: net.ParseIP("2001:db8::2")})
	m.add(&dns.A{Hdr: hdr("sub.example.com", dns.TypeA), A: net.IPv4(192, 0, 2, 3)})
	m.add(&dns.PTR{Hdr: hdr("1.2.0.192.in-addr.arpa", dns.TypePTR), Ptr: "example.com."})
	m.add(&dns.PTR{Hdr: hdr("1.2.0.192.in-addr.arpa", dns.TypePTR), Ptr: "sub.example.com."})
	m.add(&dns.PTR{Hdr: hdr("3.2.0.192.in-addr.arpa", dns.TypePTR), Ptr: "sub.example.com."})
	return m
}

func FuzzEvaluate(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add(s, fuzzSeeds[(i+1)%len(fuzzSeeds)], []byte{192, 0, 2, byte(i % 4)}, "user-name+tag@example.com")
	}
	f.Add("v=spf1 include:sub.example.com -all exp=explain.example.com", "v=spf1 redirect=x.wild.example.com", []byte(net.ParseIP("2001:db8::1")), "")
	f.Add("v=spf1 exists:%{l}.%{ir}.wild.example.com -all", "v=spf1 ptr -all", []byte{192, 0, 2, 1}, "@example.com")
	f.Fuzz(func(t *testing.T, top, sub string, ipb []byte, sender string) {
		m := fuzzZone(top, sub)
		ip, ok := netip.AddrFromSlice(ipb)
		if !ok {
			ip = netip.MustParseAddr("192.0.2.1")
		}
		if at := strings.LastIndexByte(sender, '@'); at >= 0 {
			sender = sender[:at]
		}
		sender += "@example.com"
		c := New(m, Options{Receiver: "mx.example.org"})
		res := c.Check(context.Background(), ip, "helo.example.com", sender)
		if res.Code > PermError {
			t.Fatalf("result %d", res.Code)
		}
		if res.Code == TempError {
			t.Fatalf("temperror without a DNS failure: %v", res.Err)
		}
		if res.Code != PermError && (res.Lookups > maxLookups || res.VoidLookups > 2) {
			t.Fatalf("%s with %d lookups, %d void", res.Code, res.Lookups, res.VoidLookups)
		}
		if (res.Code == PermError) != (res.Err != nil) {
			t.Fatalf("%s with error %v", res.Code, res.Err)
		}
		// At most 11 record fetches, 10 terms of at most 1 + 10 queries,
		// the PTR names of %{p} and the explanation.
		if n := m.calls.Load(); n > 11+10*11+11+1+11 {
			t.Fatalf("%d resolver calls", n)
		}
		if res.Code == Fail && res.Explanation == "" {
			t.Fatal("fail without an explanation")
		}
		if len(res.Trace) == 0 {
			t.Fatal("no trace")
		}
		for _, h := range []string{res.ReceivedSPF("mx.example.org"), res.AuthResValue(), res.Summary()} {
			if strings.ContainsAny(h, "\r\n") {
				t.Fatalf("line break in %q", h)
			}
		}
	})
}
