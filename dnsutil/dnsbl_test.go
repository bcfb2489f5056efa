package dnsutil

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

func TestQueryNamesRFC5782(t *testing.T) {
	// RFC 5782 section 2.1 (IPv4) and 2.4 (IPv6) examples.
	bad := Blocklist{Zone: "bad.example.com"}
	require.Equal(t, "99.2.0.192.bad.example.com.", bad.QueryName(netip.MustParseAddr("192.0.2.99")))
	ugly := Blocklist{Zone: "ugly.example.com."}
	require.Equal(t, "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com.",
		ugly.QueryName(netip.MustParseAddr("2001:db8:1:2:3:4:567:89ab")))
	// An IPv4-mapped IPv6 client is queried as IPv4.
	require.Equal(t, "99.2.0.192.bad.example.com.", bad.QueryName(netip.MustParseAddr("::ffff:192.0.2.99")))
	require.Equal(t, "1.0.0.127.bad.example.com.", bad.QueryName(netip.MustParseAddr("127.0.0.1")))
	require.Equal(t, "0.0.0.0.bad.example.com.", bad.QueryName(netip.MustParseAddr("0.0.0.0")))
	require.Equal(t, "255.255.255.255.bad.example.com.", bad.QueryName(netip.MustParseAddr("255.255.255.255")))

	dbl := Blocklist{Zone: "dbl.example.net"}
	n, err := dbl.DomainQueryName("Spammer.Example.")
	require.NoError(t, err)
	require.Equal(t, "spammer.example.dbl.example.net.", n)
	for _, badName := range []string{"", ".", "a..b", ".lead"} {
		_, err = dbl.DomainQueryName(badName)
		require.ErrorIs(t, err, ErrInvalidName, badName)
	}

	require.Equal(t, "1.2.0.192.in-addr.arpa.", ReverseName(netip.MustParseAddr("192.0.2.1")))
	require.Equal(t, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", ReverseName(netip.MustParseAddr("2001:db8::1")))
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func codeNames(cs []Code) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func TestInterpretPresets(t *testing.T) {
	tests := []struct {
		name    string
		list    Blocklist
		answers []netip.Addr
		codes   []string
		err     string
	}{
		{"ZEN SBL", SpamhausZEN(), addrs("127.0.0.2"), []string{"SBL"}, ""},
		{"ZEN CSS", SpamhausZEN(), addrs("127.0.0.3"), []string{"CSS"}, ""},
		{"ZEN XBL", SpamhausZEN(), addrs("127.0.0.4"), []string{"XBL"}, ""},
		{"ZEN DROP with SBL", SpamhausZEN(), addrs("127.0.0.2", "127.0.0.9"), []string{"SBL", "DROP"}, ""},
		{"ZEN PBL ISP", SpamhausZEN(), addrs("127.0.0.10"), []string{"PBL"}, ""},
		{"ZEN PBL Spamhaus", SpamhausZEN(), addrs("127.0.0.11"), []string{"PBL"}, ""},
		{"ZEN undocumented code", SpamhausZEN(), addrs("127.0.0.99"), []string{"listed"}, ""},
		{"ZEN public resolver", SpamhausZEN(), addrs("127.255.255.254"), nil, "public or open resolver"},
		{"ZEN excessive queries", SpamhausZEN(), addrs("127.255.255.255"), nil, "excessive"},
		{"ZEN typo", SpamhausZEN(), addrs("127.255.255.252"), nil, "typing error"},
		{"any list, 127.255.255.0/24", Blocklist{Name: "x"}, addrs("127.255.255.7"), nil, "127.255.255.0/24"},
		{"outside 127/8", SpamhausZEN(), addrs("192.0.2.1"), nil, "outside 127.0.0.0/8"},
		{"IPv6 answer", SpamhausZEN(), addrs("::1"), nil, "outside 127.0.0.0/8"},
		{"DBL spam", SpamhausDBL(), addrs("127.0.1.2"), []string{"SPAM"}, ""},
		{"DBL phish", SpamhausDBL(), addrs("127.0.1.4"), []string{"PHISH"}, ""},
		{"DBL abused redirector", SpamhausDBL(), addrs("127.0.1.103"), []string{"ABUSED_REDIRECTOR"}, ""},
		{"DBL IP query error", SpamhausDBL(), addrs("127.0.1.255"), nil, "IP address queried"},
		{"SURBL PH", SURBL(), addrs("127.0.0.8"), []string{"PH"}, ""},
		{"SURBL MW+ABUSE", SURBL(), addrs("127.0.0.80"), []string{"MW", "ABUSE"}, ""},
		{"SURBL all", SURBL(), addrs("127.0.0.252"), []string{"DM", "PH", "MW", "CT", "ABUSE", "CR"}, ""},
		{"SURBL blocked", SURBL(), addrs("127.0.0.1"), nil, "blocked"},
		{"URIBL black", URIBL(), addrs("127.0.0.2"), []string{"BLACK"}, ""},
		{"URIBL grey+red", URIBL(), addrs("127.0.0.12"), []string{"GREY", "RED"}, ""},
		{"URIBL refused", URIBL(), addrs("127.0.0.1"), nil, "refused"},
		{"Mailspike worst", Mailspike(), addrs("127.0.0.10"), []string{"L5"}, ""},
		{"Mailspike neutral band", Mailspike(), addrs("127.0.0.15"), []string{"H0"}, ""},
		{"Mailspike excellent", Mailspike(), addrs("127.0.0.20"), []string{"H5"}, ""},
		{"DNSWL high trust", DNSWL(), addrs("127.0.15.3"), []string{"HI"}, ""},
		{"DNSWL none", DNSWL(), addrs("127.0.10.0"), []string{"NONE"}, ""},
		{"DNSWL blocked", DNSWL(), addrs("127.0.0.255"), nil, "refused"},
		{"not listed", SpamhausZEN(), nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			codes, err := tt.list.Interpret(tt.answers)
			if tt.err != "" {
				require.ErrorIs(t, err, ErrListAnswer)
				require.ErrorContains(t, err, tt.err)
				require.Nil(t, codes)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.codes, codeNames(codes))
		})
	}
	// Values: allowlists are negative, the Mailspike neutral band is zero.
	wl, ms, zen := DNSWL(), Mailspike(), SpamhausZEN()
	c, _ := wl.Interpret(addrs("127.0.15.3"))
	require.Less(t, c[0].Value, 0.0)
	c, _ = ms.Interpret(addrs("127.0.0.14"))
	require.Equal(t, 0.0, c[0].Value)
	c, _ = zen.Interpret(addrs("127.0.0.2"))
	require.Equal(t, 1.0, c[0].Value)
}

const listZone = `
2.0.0.127.zen.test.         60 IN A 127.0.0.2
2.0.0.127.zen.test.         60 IN TXT "test entry"
99.2.0.192.zen.test.        60 IN A 127.0.0.4
1.2.0.192.zen.test.         60 IN A 127.255.255.254
b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.zen.test. 60 IN A 127.0.0.3
test.dbl.test.              60 IN A 127.0.1.2
spammer.example.dbl.test.   60 IN A 127.0.1.2
ipquery.example.dbl.test.   60 IN A 127.0.1.255
*.wild.test.                60 IN A 127.0.0.2
`

func testLists() []Blocklist {
	zen := SpamhausZEN()
	zen.Zone = "zen.test"
	dbl := SpamhausDBL()
	dbl.Zone, dbl.TestEntry = "dbl.test", "test"
	return []Blocklist{zen, dbl}
}

func TestDNSBLLookups(t *testing.T) {
	srv := dnstest.New(t, listZone)
	srv.SetFault("1.0.0.192.zen.test", 0, dnstest.Fault{Drop: true})
	c, _ := newClient(t, srv, nil)
	d, err := NewDNSBL(c, DNSBLOptions{}, testLists()...)
	require.NoError(t, err)
	ctx := context.Background()

	res := d.LookupIP(ctx, netip.MustParseAddr("192.0.2.99"))
	require.Len(t, res, 1, "only IP lists are asked about an IP")
	require.True(t, res[0].Listed)
	require.Equal(t, []string{"XBL"}, codeNames(res[0].Codes))
	require.Equal(t, "99.2.0.192.zen.test.", res[0].Query)

	res = d.LookupIP(ctx, netip.MustParseAddr("2001:db8:1:2:3:4:567:89ab"))
	require.True(t, res[0].Listed)
	require.Equal(t, []string{"CSS"}, codeNames(res[0].Codes))

	res = d.LookupIP(ctx, netip.MustParseAddr("192.0.2.50"))
	require.False(t, res[0].Listed)
	require.NoError(t, res[0].Err, "NXDOMAIN means not listed")

	res = d.LookupIP(ctx, netip.MustParseAddr("192.0.2.1"))
	require.False(t, res[0].Listed, "127.255.255.254 is an error, never a listing")
	require.ErrorIs(t, res[0].Err, ErrListAnswer)

	res = d.LookupIP(ctx, netip.MustParseAddr("192.0.0.1"))
	require.False(t, res[0].Listed, "a timeout leaves the item unknown")
	require.True(t, IsTemporary(res[0].Err))

	res = d.LookupDomain(ctx, "Spammer.Example.")
	require.Len(t, res, 1)
	require.True(t, res[0].Listed)
	require.Equal(t, "spammer.example", res[0].Item)
	require.Equal(t, []string{"SPAM"}, codeNames(res[0].Codes))

	res = d.LookupDomain(ctx, "ipquery.example")
	require.ErrorIs(t, res[0].Err, ErrListAnswer)
	require.False(t, res[0].Listed)

	for _, h := range d.Health() {
		require.True(t, h.Healthy, h.Reason)
	}
}

func TestDNSBLHealth(t *testing.T) {
	srv := dnstest.New(t, listZone)
	c, _ := newClient(t, srv, func(o *Options) { o.Cache.Size = -1 })
	clk := &fakeClock{t: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)}

	dead := SpamhausZEN()
	dead.Name, dead.Zone = "dead", "dead.test" // lists nothing, not even its test entry
	wild := SpamhausZEN()
	wild.Name, wild.Zone = "wild", "wild.test" // lists everything, even 127.0.0.1
	good := testLists()[0]
	d, err := NewDNSBL(c, DNSBLOptions{Now: clk.Now, MinBackoff: time.Minute, MaxBackoff: 8 * time.Minute}, dead, wild, good)
	require.NoError(t, err)
	ctx := context.Background()

	res := d.LookupIP(ctx, netip.MustParseAddr("192.0.2.99"))
	require.ErrorIs(t, res[0].Err, ErrListUnhealthy)
	require.ErrorIs(t, res[1].Err, ErrListUnhealthy)
	require.True(t, res[2].Listed)
	h := d.Health()
	require.False(t, h[0].Healthy)
	require.Contains(t, h[0].Reason, "test entry 127.0.0.2 is not listed")
	require.False(t, h[1].Healthy)
	require.Contains(t, h[1].Reason, "answers everything")
	require.True(t, h[2].Healthy)
	require.Equal(t, clk.Now().Add(time.Minute), h[0].NextCheck)

	// Skipped lists are not queried until the backoff ends, and the backoff
	// doubles with each failed check, up to the maximum.
	srv.ResetLog()
	d.LookupIP(ctx, netip.MustParseAddr("192.0.2.99"))
	require.Zero(t, srv.Count("99.2.0.192.dead.test", 0))
	for _, want := range []time.Duration{2, 4, 8, 8} {
		clk.Advance(10 * time.Minute)
		d.LookupIP(ctx, netip.MustParseAddr("192.0.2.99"))
		require.Equal(t, clk.Now().Add(want*time.Minute), d.Health()[0].NextCheck)
	}
	require.Equal(t, 5, d.Health()[0].Failures)

	// A list that comes back is healthy again at its next check.
	srv.AddRR(&dns.A{Hdr: dns.RR_Header{Name: "2.0.0.127.dead.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: []byte{127, 0, 0, 2}})
	clk.Advance(10 * time.Minute)
	res = d.LookupIP(ctx, netip.MustParseAddr("192.0.2.99"))
	require.NoError(t, res[0].Err)
	require.True(t, d.Health()[0].Healthy)
	require.Zero(t, d.Health()[0].Failures)
}

func TestDNSBLCanaryErrorCode(t *testing.T) {
	// A list that answers its test entry with "refused" is unhealthy.
	srv := dnstest.New(t, "2.0.0.127.refusing.test. 60 IN A 127.255.255.254\n")
	c, _ := newClient(t, srv, nil)
	l := SpamhausZEN()
	l.Zone = "refusing.test"
	d, err := NewDNSBL(c, DNSBLOptions{}, l)
	require.NoError(t, err)
	res := d.LookupIP(context.Background(), netip.MustParseAddr("192.0.2.1"))
	require.ErrorIs(t, res[0].Err, ErrListUnhealthy)
	require.Contains(t, d.Health()[0].Reason, "public or open resolver")
}

func TestNewDNSBLValidation(t *testing.T) {
	_, err := NewDNSBL(Offline{}, DNSBLOptions{}, Blocklist{Zone: ""})
	require.Error(t, err)
	_, err = NewDNSBL(Offline{}, DNSBLOptions{}, SpamhausZEN(), SpamhausZEN())
	require.Error(t, err)
	d, err := NewDNSBL(Offline{}, DNSBLOptions{SkipHealthChecks: true}, SpamhausZEN())
	require.NoError(t, err)
	res := d.LookupIP(context.Background(), netip.MustParseAddr("192.0.2.1"))
	require.ErrorIs(t, res[0].Err, ErrOffline)
	require.False(t, res[0].Listed)
}

func FuzzInterpretList(f *testing.F) {
	f.Add([]byte{127, 0, 0, 2})
	f.Add([]byte{127, 255, 255, 254, 127, 0, 0, 4})
	f.Add([]byte{192, 0, 2, 1})
	f.Add([]byte{127, 0, 1, 255})
	f.Add([]byte{127, 0, 0, 255})
	lists := []Blocklist{SpamhausZEN(), SpamhausDBL(), SURBL(), URIBL(), Mailspike(), DNSWL(), SpamCop(), {}}
	f.Fuzz(func(t *testing.T, b []byte) {
		var answers []netip.Addr
		for i := 0; i+4 <= len(b) && i < 64; i += 4 {
			answers = append(answers, netip.AddrFrom4([4]byte(b[i:i+4])))
		}
		for _, l := range lists {
			codes, err := l.Interpret(answers)
			if err != nil {
				if codes != nil || !errors.Is(err, ErrListAnswer) {
					t.Fatalf("error %v with codes %v", err, codes)
				}
				continue
			}
			for _, a := range answers {
				if !loopback8.Contains(a) || listErrors8.Contains(a) {
					t.Fatalf("%s accepted as a listing", a)
				}
			}
			for _, c := range codes {
				if c.Value < -1 || c.Value > 1 || c.Name == "" {
					t.Fatalf("bad code %+v", c)
				}
			}
		}
	})
}

func BenchmarkQueryName(b *testing.B) {
	l := SpamhausZEN()
	v4, v6 := netip.MustParseAddr("192.0.2.99"), netip.MustParseAddr("2001:db8:1:2:3:4:567:89ab")
	b.Run("IPv4", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = l.QueryName(v4)
		}
	})
	b.Run("IPv6", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = l.QueryName(v6)
		}
	})
	dbl := SpamhausDBL()
	b.Run("domain", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = dbl.DomainQueryName("spammer.example")
		}
	})
}

func BenchmarkDNSBLLookupCached(b *testing.B) {
	srv, err := dnstest.Start(listZone)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	c, err := New(Options{Servers: []string{srv.Addr()}})
	if err != nil {
		b.Fatal(err)
	}
	d, err := NewDNSBL(c, DNSBLOptions{}, testLists()...)
	if err != nil {
		b.Fatal(err)
	}
	ip := netip.MustParseAddr("192.0.2.99")
	ctx := context.Background()
	d.LookupIP(ctx, ip)
	b.ReportAllocs()
	for b.Loop() {
		if r := d.LookupIP(ctx, ip); !r[0].Listed {
			b.Fatal(r)
		}
	}
}
