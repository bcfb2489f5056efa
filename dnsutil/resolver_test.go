package dnsutil

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

const zone = `
example.com.        300 IN SOA ns.example.com. hostmaster.example.com. 1 3600 600 86400 120
example.com.        300 IN TXT "v=spf1 " "ip4:192.0.2.0/24 " "-all"
example.com.        300 IN TXT "other"
example.com.        300 IN A 192.0.2.1
example.com.        300 IN AAAA 2001:db8::1
example.com.        300 IN MX 20 mx2.example.com.
example.com.        300 IN MX 10 MX1.example.com.
example.com.        300 IN NS ns1.example.com.
long.example.com.   86400000 IN A 192.0.2.2
alias.example.com.  300 IN CNAME target.example.com.
target.example.com. 300 IN A 192.0.2.3
v4only.example.com. 300 IN A 192.0.2.4
sub.deep.example.com. 300 IN A 192.0.2.5
1.2.0.192.in-addr.arpa. 300 IN PTR Mail.Example.com.
`

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClient(t *testing.T, srv *dnstest.Server, mod func(*Options)) (*Client, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	o := Options{Servers: []string{srv.Addr()}, Timeout: 300 * time.Millisecond, Attempts: 1, Now: clk.Now}
	if mod != nil {
		mod(&o)
	}
	c, err := New(o)
	require.NoError(t, err)
	return c, clk
}

func TestLookupErrorKinds(t *testing.T) {
	srv := dnstest.New(t, zone)
	srv.SetFault("servfail.example.com", 0, dnstest.Fault{ServFail: true})
	srv.SetFault("refused.example.com", 0, dnstest.Fault{Refused: true})
	srv.SetFault("drop.example.com", 0, dnstest.Fault{Drop: true})
	srv.SetFault("garbage.example.com", 0, dnstest.Fault{Malformed: true})
	c, _ := newClient(t, srv, nil)
	tests := []struct {
		name      string
		qtype     uint16
		kind      error
		temporary bool
	}{
		{"nope.example.com", dns.TypeA, ErrNXDomain, false},
		{"v4only.example.com", dns.TypeAAAA, ErrNoData, false},
		{"deep.example.com", dns.TypeA, ErrNoData, false}, // an empty non-terminal exists
		{"servfail.example.com", dns.TypeTXT, ErrServFail, true},
		{"refused.example.com", dns.TypeTXT, ErrRefused, true},
		{"drop.example.com", dns.TypeTXT, ErrTimeout, true},
		{"garbage.example.com", dns.TypeTXT, ErrMalformed, true},
		{"bad..name", dns.TypeA, ErrInvalidName, false},
		{strings.Repeat("a", 64) + ".example.com", dns.TypeA, ErrInvalidName, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := c.Lookup(context.Background(), tt.name, tt.qtype)
			require.Nil(t, a)
			require.ErrorIs(t, err, tt.kind)
			require.Equal(t, tt.temporary, IsTemporary(err))
			var de *Error
			require.True(t, errors.As(err, &de))
			require.Equal(t, tt.qtype, de.Type)
			require.Contains(t, err.Error(), dns.TypeToString[tt.qtype])
			for _, other := range []error{ErrNXDomain, ErrNoData, ErrServFail, ErrRefused, ErrTimeout, ErrMalformed, ErrInvalidName} {
				if other != tt.kind {
					require.NotErrorIs(t, err, other)
				}
			}
		})
	}
	require.True(t, IsNotFound(func() error { _, err := c.Lookup(context.Background(), "nope.example.com", dns.TypeA); return err }()))
}

func TestTypedLookups(t *testing.T) {
	srv := dnstest.New(t, zone)
	c, _ := newClient(t, srv, nil)
	ctx := context.Background()

	txt, err := LookupTXT(ctx, c, "Example.COM")
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"v=spf1 ip4:192.0.2.0/24 -all", "other"}, txt)

	ips, err := LookupIP(ctx, c, "example.com")
	require.NoError(t, err)
	require.ElementsMatch(t, []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")}, ips)

	ips, err = LookupIP(ctx, c, "v4only.example.com")
	require.NoError(t, err, "one family with no data is not an error")
	require.Equal(t, []netip.Addr{netip.MustParseAddr("192.0.2.4")}, ips)

	_, err = LookupIP(ctx, c, "nope.example.com")
	require.ErrorIs(t, err, ErrNXDomain)

	mx, err := LookupMX(ctx, c, "example.com")
	require.NoError(t, err)
	require.Equal(t, []MX{{"mx1.example.com.", 10}, {"mx2.example.com.", 20}}, mx)

	ns, err := LookupNS(ctx, c, "example.com")
	require.NoError(t, err)
	require.Equal(t, []string{"ns1.example.com."}, ns)

	ptr, err := LookupPTR(ctx, c, netip.MustParseAddr("192.0.2.1"))
	require.NoError(t, err)
	require.Equal(t, []string{"mail.example.com."}, ptr)

	cn, err := LookupAddrs(ctx, c, "alias.example.com", dns.TypeA)
	require.NoError(t, err, "CNAME chains are followed")
	require.Equal(t, []netip.Addr{netip.MustParseAddr("192.0.2.3")}, cn)
}

func TestLookupIPPartialFailure(t *testing.T) {
	srv := dnstest.New(t, zone)
	srv.SetFault("example.com", dns.TypeAAAA, dnstest.Fault{ServFail: true})
	c, _ := newClient(t, srv, nil)
	ips, err := LookupIP(context.Background(), c, "example.com")
	require.ErrorIs(t, err, ErrServFail, "a partial answer says so")
	require.Equal(t, []netip.Addr{netip.MustParseAddr("192.0.2.1")}, ips)
}

func TestCacheTTLAndCeiling(t *testing.T) {
	srv := dnstest.New(t, zone)
	c, clk := newClient(t, srv, nil)
	ctx := context.Background()
	lookup := func(name string) {
		t.Helper()
		_, err := c.Lookup(ctx, name, dns.TypeA)
		require.NoError(t, err)
	}
	lookup("example.com")
	lookup("example.com")
	require.Equal(t, 1, srv.Count("example.com", dns.TypeA), "second lookup from the cache")
	clk.Advance(299 * time.Second)
	lookup("example.com")
	require.Equal(t, 1, srv.Count("example.com", dns.TypeA))
	clk.Advance(2 * time.Second)
	lookup("example.com")
	require.Equal(t, 2, srv.Count("example.com", dns.TypeA), "expired after the TTL")

	// A TTL of 1000 days is cut to the one-hour ceiling.
	lookup("long.example.com")
	clk.Advance(59 * time.Minute)
	lookup("long.example.com")
	require.Equal(t, 1, srv.Count("long.example.com", dns.TypeA))
	clk.Advance(2 * time.Minute)
	lookup("long.example.com")
	require.Equal(t, 2, srv.Count("long.example.com", dns.TypeA), "the ceiling ends the corrupted TTL")

	st := c.Stats()
	require.EqualValues(t, 3, st.Hits)
	require.EqualValues(t, 4, st.Misses)
}

func TestCacheFloorAndCustomCeiling(t *testing.T) {
	srv := dnstest.New(t, "zero.example. 0 IN A 192.0.2.9\n")
	c, clk := newClient(t, srv, func(o *Options) { o.Cache.MinTTL = 30 * time.Second })
	for range 3 {
		_, err := c.Lookup(context.Background(), "zero.example", dns.TypeA)
		require.NoError(t, err)
	}
	require.Equal(t, 1, srv.Count("zero.example", dns.TypeA), "the floor caches a zero TTL")
	clk.Advance(31 * time.Second)
	_, _ = c.Lookup(context.Background(), "zero.example", dns.TypeA)
	require.Equal(t, 2, srv.Count("zero.example", dns.TypeA))

	_, err := New(Options{Servers: []string{srv.Addr()}, Cache: CacheOptions{MinTTL: 2 * time.Hour}})
	require.Error(t, err, "a floor above the ceiling is refused")
}

func TestNegativeCaching(t *testing.T) {
	srv := dnstest.New(t, zone)
	c, clk := newClient(t, srv, nil)
	ctx := context.Background()
	for range 3 {
		_, err := c.Lookup(ctx, "nope.example.com", dns.TypeA)
		require.ErrorIs(t, err, ErrNXDomain)
		_, err = c.Lookup(ctx, "v4only.example.com", dns.TypeAAAA)
		require.ErrorIs(t, err, ErrNoData)
	}
	require.Equal(t, 1, srv.Count("nope.example.com", dns.TypeA))
	require.Equal(t, 1, srv.Count("v4only.example.com", dns.TypeAAAA))
	// The SOA's TTL is 300 and its MINIMUM 120: negative answers live 120 s
	// (RFC 2308 section 5).
	clk.Advance(119 * time.Second)
	_, _ = c.Lookup(ctx, "nope.example.com", dns.TypeA)
	require.Equal(t, 1, srv.Count("nope.example.com", dns.TypeA))
	clk.Advance(2 * time.Second)
	_, _ = c.Lookup(ctx, "nope.example.com", dns.TypeA)
	require.Equal(t, 2, srv.Count("nope.example.com", dns.TypeA))
}

func TestServFailCaching(t *testing.T) {
	srv := dnstest.New(t, zone)
	srv.SetFault("example.com", dns.TypeTXT, dnstest.Fault{ServFail: true})
	c, clk := newClient(t, srv, func(o *Options) { o.Cache.FailureTTL = 10 * time.Second })
	ctx := context.Background()
	for range 5 {
		_, err := c.Lookup(ctx, "example.com", dns.TypeTXT)
		require.ErrorIs(t, err, ErrServFail)
	}
	require.Equal(t, 1, srv.Count("example.com", dns.TypeTXT), "failures are remembered briefly (RFC 9520)")
	srv.SetFault("example.com", dns.TypeTXT, dnstest.Fault{})
	clk.Advance(11 * time.Second)
	_, err := c.Lookup(ctx, "example.com", dns.TypeTXT)
	require.NoError(t, err, "and retried once the failure TTL is over")

	_, err = New(Options{Servers: []string{srv.Addr()}, Cache: CacheOptions{FailureTTL: time.Hour}})
	require.NoError(t, err, "an over-long failure TTL is capped, not refused")
}

func TestFlushAndPurge(t *testing.T) {
	srv := dnstest.New(t, zone)
	c, _ := newClient(t, srv, nil)
	ctx := context.Background()
	warm := func() {
		for _, q := range []struct {
			n string
			t uint16
		}{{"example.com", dns.TypeA}, {"example.com", dns.TypeTXT}, {"v4only.example.com", dns.TypeA}} {
			_, err := c.Lookup(ctx, q.n, q.t)
			require.NoError(t, err)
		}
	}
	warm()
	require.Equal(t, 3, c.Stats().Cached)
	c.Purge("EXAMPLE.com.")
	require.Equal(t, 1, c.Stats().Cached, "purge removes every type of that name only")
	warm()
	require.Equal(t, 2, srv.Count("example.com", dns.TypeA))
	require.Equal(t, 1, srv.Count("v4only.example.com", dns.TypeA))
	c.Flush()
	require.Equal(t, 0, c.Stats().Cached)
	warm()
	require.Equal(t, 2, srv.Count("v4only.example.com", dns.TypeA))
}

func TestTCPFallbackOnLargeTXT(t *testing.T) {
	var z strings.Builder
	for i := range 49 {
		fmt.Fprintf(&z, "big.example. 300 IN TXT \"record %02d %s\"\n", i, strings.Repeat("x", 70))
	}
	srv := dnstest.New(t, z.String())
	c, _ := newClient(t, srv, nil)
	txt, err := LookupTXT(context.Background(), c, "big.example")
	require.NoError(t, err)
	require.Len(t, txt, 49)
	total := 0
	for _, s := range txt {
		total += len(s)
	}
	require.Greater(t, total, 3900, "about 4 KB of TXT data")
	var nets []string
	for _, q := range srv.Queries() {
		nets = append(nets, q.Net)
	}
	require.Equal(t, []string{"udp", "tcp"}, nets, "truncated over UDP, retried over TCP")
	require.EqualValues(t, 1232, srv.Queries()[0].UDPSize, "EDNS0 buffer size")
}

func TestForcedTruncation(t *testing.T) {
	srv := dnstest.New(t, zone)
	srv.SetFault("example.com", dns.TypeA, dnstest.Fault{Truncate: true})
	c, _ := newClient(t, srv, nil)
	ips, err := LookupAddrs(context.Background(), c, "example.com", dns.TypeA)
	require.NoError(t, err)
	require.Equal(t, []netip.Addr{netip.MustParseAddr("192.0.2.1")}, ips)
}

func TestCoalescing(t *testing.T) {
	srv := dnstest.New(t, zone)
	srv.SetFault("example.com", dns.TypeTXT, dnstest.Fault{Delay: 200 * time.Millisecond})
	c, _ := newClient(t, srv, func(o *Options) { o.Timeout = 5 * time.Second })
	var wg sync.WaitGroup
	var failures atomic.Int32
	start := make(chan struct{})
	for range 100 {
		wg.Go(func() {
			<-start
			if _, err := LookupTXT(context.Background(), c, "example.com"); err != nil {
				failures.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	require.Zero(t, failures.Load())
	require.Equal(t, 1, srv.Count("example.com", dns.TypeTXT), "100 concurrent lookups, one upstream query")
	st := c.Stats()
	require.EqualValues(t, 1, st.Queries)
	require.EqualValues(t, 100, st.Misses+st.Hits)
	require.Greater(t, st.Coalesced, uint64(1))
}

func TestSourcePortsAndIDs(t *testing.T) {
	srv := dnstest.New(t, zone)
	srv.DropLowSourcePorts(true)
	c, _ := newClient(t, srv, func(o *Options) { o.Cache.Size = -1 })
	for range 20 {
		_, err := c.Lookup(context.Background(), "example.com", dns.TypeA)
		require.NoError(t, err)
	}
	qs := srv.Queries()
	require.Len(t, qs, 20)
	ids := map[uint16]bool{}
	for _, q := range qs {
		require.GreaterOrEqual(t, q.SourcePort, 1024)
		ids[q.ID] = true
		require.Equal(t, "example.com.", q.Name, "names are absolute")
	}
	require.Greater(t, len(ids), 15, "query IDs are random")
}

func TestRetriesAcrossServers(t *testing.T) {
	bad := dnstest.New(t, zone)
	bad.SetFault("*", 0, dnstest.Fault{ServFail: true})
	dead := dnstest.New(t, zone)
	dead.SetFault("*", 0, dnstest.Fault{Drop: true})
	good := dnstest.New(t, zone)
	c, err := New(Options{Servers: []string{bad.Addr(), dead.Addr(), good.Addr()}, Timeout: 200 * time.Millisecond, Attempts: 1})
	require.NoError(t, err)
	a, err := c.Lookup(context.Background(), "example.com", dns.TypeA)
	require.NoError(t, err)
	require.Equal(t, good.Addr(), a.Server)
	require.Equal(t, 1, bad.Count("example.com", dns.TypeA))
	require.Equal(t, 1, dead.Count("example.com", dns.TypeA))

	// NXDOMAIN is an answer: the next server is not asked.
	c2, err := New(Options{Servers: []string{good.Addr(), bad.Addr()}})
	require.NoError(t, err)
	_, err = c2.Lookup(context.Background(), "nope.example.com", dns.TypeA)
	require.ErrorIs(t, err, ErrNXDomain)
	require.Equal(t, 0, bad.Count("nope.example.com", 0))
}

func TestContextCancellation(t *testing.T) {
	srv := dnstest.New(t, zone)
	srv.SetFault("slow.example.com", 0, dnstest.Fault{Delay: 3 * time.Second})
	c, _ := newClient(t, srv, func(o *Options) { o.Timeout = 10 * time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Lookup(ctx, "slow.example.com", dns.TypeA)
	require.Less(t, time.Since(start), 2*time.Second, "returns when the context ends, not when the server answers")
	require.ErrorIs(t, err, ErrTimeout)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.True(t, IsTemporary(err))

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = c.Lookup(ctx, "example.com", dns.TypeA)
	require.ErrorIs(t, err, context.Canceled)
}

func TestAuthenticatedData(t *testing.T) {
	srv := dnstest.New(t, zone)
	srv.SetFault("example.com", dns.TypeTXT, dnstest.Fault{AD: true})
	trusting, _ := newClient(t, srv, func(o *Options) { o.TrustAD = true })
	a, err := trusting.Lookup(context.Background(), "example.com", dns.TypeTXT)
	require.NoError(t, err)
	require.True(t, a.Authenticated)
	a, err = trusting.Lookup(context.Background(), "example.com", dns.TypeA)
	require.NoError(t, err)
	require.False(t, a.Authenticated)

	plain, _ := newClient(t, srv, nil)
	a, err = plain.Lookup(context.Background(), "example.com", dns.TypeTXT)
	require.NoError(t, err)
	require.False(t, a.Authenticated, "the AD bit counts only from a trusted upstream")
}

func TestResolvConf(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/resolv.conf"
	require.NoError(t, writeFile(path, "search corp.example\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n"))
	c, err := New(Options{ResolvConf: path})
	require.NoError(t, err)
	require.Equal(t, []string{"192.0.2.53:53", "[2001:db8::53]:53"}, c.Servers())
	_, err = New(Options{ResolvConf: dir + "/missing"})
	require.Error(t, err)
}

func TestOffline(t *testing.T) {
	start := time.Now()
	_, err := LookupTXT(context.Background(), Offline{}, "example.com")
	require.ErrorIs(t, err, ErrOffline)
	require.True(t, IsTemporary(err))
	require.Less(t, time.Since(start), 100*time.Millisecond)
}

func TestCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{"example.com", "example.com."},
		{"Example.COM.", "example.com."},
		{"example.com.", "example.com."},
		{".", "."},
		{"", ""},
		{"a..b", ""},
		{".a", ""},
		{strings.Repeat("a.", 126) + "a", ""}, // 253 characters plus root = 254 octets, fine
	}
	tests[len(tests)-1].want = strings.Repeat("a.", 127)
	for _, tt := range tests {
		got, err := Canonical(tt.in)
		if tt.want == "" {
			require.ErrorIs(t, err, ErrInvalidName, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, got)
	}
	_, err := Canonical(strings.Repeat("a.", 127) + "a")
	require.ErrorIs(t, err, ErrInvalidName, "255 octets is too long")
}

func BenchmarkCacheHit(b *testing.B) {
	srv, err := dnstest.Start(zone)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	c, err := New(Options{Servers: []string{srv.Addr()}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Lookup(ctx, "example.com.", dns.TypeTXT); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Lookup(ctx, "example.com.", dns.TypeTXT); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLookupUpstream(b *testing.B) {
	srv, err := dnstest.Start(zone)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	c, err := New(Options{Servers: []string{srv.Addr()}, Cache: CacheOptions{Size: -1}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Lookup(ctx, "example.com.", dns.TypeTXT); err != nil {
			b.Fatal(err)
		}
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

func TestLookupTXTReturnsPublishedOctets(t *testing.T) {
	// The record holds a quote, a backslash, a semicolon and the octets 0xff
	// and 0x00; miekg/dns keeps them escaped, LookupTXT must not.
	srv := dnstest.New(t, `odd.example. 300 IN TXT "a\"b\\c;d\255e\000f" "g"`)
	c, _ := newClient(t, srv, nil)
	txt, err := LookupTXT(context.Background(), c, "odd.example")
	require.NoError(t, err)
	require.Equal(t, []string{"a\"b\\c;d\xffe\x00fg"}, txt)
}

func TestUnescape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{`a\"b`, `a"b`},
		{`a\\b`, `a\b`},
		{`\255\000`, "\xff\x00"},
		{`\256`, "256"}, // not an octet: the backslash quotes the next character
		{`\12`, "12"},
		{`end\`, `end\`},
		{`a\.b`, "a.b"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Unescape(tt.in), tt.in)
	}
	require.Zero(t, testing.AllocsPerRun(10, func() { _ = Unescape("v=spf1 -all") }))
}
