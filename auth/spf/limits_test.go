package spf

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

// limitsZone exercises RFC 7208 section 4.6.4.
func limitsZone() string {
	var z strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&z, format+"\n", args...) }
	// Ten DNS-querying terms are fine, the eleventh is a permerror.
	var ten, eleven []string
	for i := range 11 {
		line("h%d.limit.example. A 198.51.100.%d", i, i+1)
		if i < 10 {
			ten = append(ten, fmt.Sprintf("a:h%d.limit.example", i))
		}
		eleven = append(eleven, fmt.Sprintf("a:h%d.limit.example", i))
	}
	line(`ten.limit.example. TXT "v=spf1 %s ip4:192.0.2.1 -all"`, strings.Join(ten, " "))
	line(`eleven.limit.example. TXT "v=spf1 %s ip4:192.0.2.1 -all"`, strings.Join(eleven, " "))
	// include and redirect count too, nested or not.
	line(`inc.limit.example. TXT "v=spf1 a:h0.limit.example include:inc2.limit.example redirect=red.limit.example"`)
	line(`inc2.limit.example. TXT "v=spf1 %s"`, strings.Join(ten[:7], " ")) // 1 + 1 + 7 = 9
	line(`red.limit.example. TXT "v=spf1 ip4:192.0.2.1 -all"`)              // redirect: 10
	line(`inc3.limit.example. TXT "v=spf1 a:h0.limit.example include:inc2.limit.example a:h1.limit.example redirect=red.limit.example"`)
	// Void lookups: two are fine, the third is a permerror.
	line(`void2.limit.example. TXT "v=spf1 a:nx1.limit.example mx:nx2.limit.example -all"`)
	line(`void3.limit.example. TXT "v=spf1 a:nx1.limit.example mx:nx2.limit.example exists:nx3.limit.example -all"`)
	line(`nodata.limit.example. TXT "v=spf1 a:h0.limit.example"`) // for AAAA: NODATA is void too
	line(`void3b.limit.example. TXT "v=spf1 include:nodata.limit.example a:nx1.limit.example a:nx2.limit.example -all"`)
	// Ten MX names are fine; eleven are a permerror.
	for i := range 11 {
		line("mx10.limit.example. MX %d m%d.limit.example.", i, i)
		line("m%d.limit.example. A 203.0.113.%d", i, i+1)
	}
	line(`mx.limit.example. TXT "v=spf1 mx:mx9.limit.example -all"`)
	for i := range 10 {
		line("mx9.limit.example. MX %d m%d.limit.example.", i, i)
	}
	line(`mx11.limit.example. TXT "v=spf1 mx:mx10.limit.example -all"`)
	// Ten PTR names are looked at; the eleventh is ignored.
	line(`ptr.limit.example. TXT "v=spf1 ptr -all"`)
	for i := range 11 {
		line("5.2.0.192.in-addr.arpa. PTR p%d.other.example.", i)
		line("6.2.0.192.in-addr.arpa. PTR q%d.other.example.", i)
	}
	line("5.2.0.192.in-addr.arpa. PTR host.ptr.limit.example.") // 12th: ignored
	line("6.2.0.192.in-addr.arpa. PTR host.ptr.limit.example.")
	line("host.ptr.limit.example. A 192.0.2.5")
	line("host.ptr.limit.example. A 192.0.2.6")
	line(`ptr9.limit.example. TXT "v=spf1 ptr -all"`)
	for i := range 9 {
		line("7.2.0.192.in-addr.arpa. PTR r%d.other.example.", i)
	}
	line("7.2.0.192.in-addr.arpa. PTR host.ptr9.limit.example.") // 10th: used
	line("host.ptr9.limit.example. A 192.0.2.7")
	// Many A records are fine (no limit on addresses).
	line(`many.limit.example. TXT "v=spf1 a -all"`)
	for i := range 40 {
		line("many.limit.example. A 192.0.2.%d", 100+i)
	}
	return z.String()
}

func TestLookupLimits(t *testing.T) {
	c, srv := testChecker(t, limitsZone(), Options{})
	ctx := context.Background()
	ip := netip.MustParseAddr
	t.Run("ten DNS-querying terms", func(t *testing.T) {
		res := c.Check(ctx, ip("192.0.2.1"), "h.example", "x@ten.limit.example")
		require.Equal(t, Pass, res.Code, res.TraceLines())
		require.Equal(t, 10, res.Lookups)
	})
	t.Run("eleven DNS-querying terms", func(t *testing.T) {
		srv.ResetLog()
		res := c.Check(ctx, ip("192.0.2.1"), "h.example", "x@eleven.limit.example")
		require.Equal(t, PermError, res.Code)
		require.ErrorIs(t, res.Err, ErrLookupLimit)
		require.Equal(t, 11, res.Lookups)
		require.Zero(t, srv.Count("h10.limit.example.", 0), "the eleventh term is never queried")
	})
	t.Run("include and redirect count, nested", func(t *testing.T) {
		res := c.Check(ctx, ip("192.0.2.1"), "h.example", "x@inc.limit.example")
		require.Equal(t, Pass, res.Code, res.TraceLines())
		require.Equal(t, 10, res.Lookups)
		res = c.Check(ctx, ip("192.0.2.1"), "h.example", "x@inc3.limit.example")
		require.Equal(t, PermError, res.Code)
		require.ErrorIs(t, res.Err, ErrLookupLimit)
	})
	t.Run("void lookups", func(t *testing.T) {
		res := c.Check(ctx, ip("192.0.2.1"), "h.example", "x@void2.limit.example")
		require.Equal(t, Fail, res.Code)
		require.Equal(t, 2, res.VoidLookups)
		res = c.Check(ctx, ip("192.0.2.1"), "h.example", "x@void3.limit.example")
		require.Equal(t, PermError, res.Code)
		require.ErrorIs(t, res.Err, ErrVoidLimit)
		require.Equal(t, 3, res.VoidLookups)
		res = c.Check(ctx, ip("2001:db8::1"), "h.example", "x@void3b.limit.example")
		require.Equal(t, PermError, res.Code, "NODATA (no AAAA) is a void lookup too")
		require.ErrorIs(t, res.Err, ErrVoidLimit)
		c3, _ := testChecker(t, limitsZone(), Options{MaxVoidLookups: 3})
		res = c3.Check(ctx, ip("192.0.2.1"), "h.example", "x@void3.limit.example")
		require.Equal(t, Fail, res.Code, "MaxVoidLookups raises the limit")
	})
	t.Run("MX names", func(t *testing.T) {
		res := c.Check(ctx, ip("203.0.113.10"), "h.example", "x@mx.limit.example")
		require.Equal(t, Pass, res.Code, "the tenth MX host matches")
		res = c.Check(ctx, ip("203.0.113.1"), "h.example", "x@mx11.limit.example")
		require.Equal(t, PermError, res.Code, "eleven MX names are a permerror even when the first matches")
		require.ErrorIs(t, res.Err, ErrMXLimit)
	})
	t.Run("PTR names", func(t *testing.T) {
		srv.ResetLog()
		res := c.Check(ctx, ip("192.0.2.5"), "h.example", "x@ptr.limit.example")
		require.Equal(t, Fail, res.Code, "the validating name is the twelfth PTR: ignored")
		require.Zero(t, srv.Count("host.ptr.limit.example.", 0))
		res = c.Check(ctx, ip("192.0.2.7"), "h.example", "x@ptr9.limit.example")
		require.Equal(t, Pass, res.Code, "the tenth PTR name is used")
		require.Equal(t, "ptr", res.Mechanism)
		// Only names under the target are validated.
		require.Zero(t, srv.Count("r0.other.example.", dns.TypeA))
	})
	t.Run("no limit on address records", func(t *testing.T) {
		res := c.Check(ctx, ip("192.0.2.139"), "h.example", "x@many.limit.example")
		require.Equal(t, Pass, res.Code)
	})
}

// loopZone has include and redirect loops, direct and long.
const loopZone = `
self-redirect.loop.example. TXT "v=spf1 ip4:192.0.2.200 redirect=self-redirect.loop.example"
self-include.loop.example.  TXT "v=spf1 include:self-include.loop.example -all"
macro-redirect.loop.example. TXT "v=spf1 redirect=%{d}"
macro-include.loop.example.  TXT "v=spf1 include:%{d} -all"
a.loop.example.             TXT "v=spf1 include:b.loop.example -all"
b.loop.example.             TXT "v=spf1 include:c.loop.example -all"
c.loop.example.             TXT "v=spf1 redirect=A.Loop.Example."
d0.loop.example.            TXT "v=spf1 include:d1.loop.example -all"
d1.loop.example.            TXT "v=spf1 include:d2.loop.example"
d2.loop.example.            TXT "v=spf1 include:d3.loop.example"
d3.loop.example.            TXT "v=spf1 include:d4.loop.example"
d4.loop.example.            TXT "v=spf1 include:d5.loop.example"
d5.loop.example.            TXT "v=spf1 include:d6.loop.example"
d6.loop.example.            TXT "v=spf1 include:d7.loop.example"
d7.loop.example.            TXT "v=spf1 include:d8.loop.example"
d8.loop.example.            TXT "v=spf1 redirect=d0.loop.example"
twice.loop.example.         TXT "v=spf1 include:n.loop.example include:n.loop.example -all"
n.loop.example.             TXT "v=spf1 ?all"
ok.loop.example.            TXT "v=spf1 -all"
`

func TestLoops(t *testing.T) {
	c, _ := testChecker(t, loopZone, Options{})
	ctx := context.Background()
	ip := netip.MustParseAddr("192.0.2.1")
	for domain, lookups := range map[string]int{
		"self-redirect.loop.example":  1,
		"self-include.loop.example":   1,
		"macro-redirect.loop.example": 1,
		"macro-include.loop.example":  1,
		"a.loop.example":              3,
		"d0.loop.example":             9,
	} {
		res := c.Check(ctx, ip, "h.example", "x@"+domain)
		require.Equal(t, PermError, res.Code, "%s: %v", domain, res.TraceLines())
		require.ErrorIs(t, res.Err, ErrLoop, domain)
		require.Equal(t, lookups, res.Lookups, "%s: the loop ends as soon as it closes", domain)
	}
	res := c.Check(ctx, ip, "h.example", "x@twice.loop.example")
	require.Equal(t, Fail, res.Code, "the same include twice in a row is not a loop")
	require.Equal(t, 2, res.Lookups)
}

// TestLoopsEndFast compares, with a warm cache, the time a loop or an
// exhausted lookup limit takes to end in permerror with the time of a
// plain one-record check: a loop costs about one cached lookup per level,
// never the wait for a limit or a timeout. Ratios, not absolute times, so
// a loaded machine does not make it flaky; the absolute figures are in
// BenchmarkLoop and BenchmarkLookupLimitExhausted.
func TestLoopsEndFast(t *testing.T) {
	c, _ := testChecker(t, loopZone+limitsZone(), Options{})
	ctx := context.Background()
	ip := netip.MustParseAddr("192.0.2.1")
	perCheck := func(sender string, want ResultCode) time.Duration {
		res := c.Check(ctx, ip, "h.example", sender) // warm the cache
		require.Equal(t, want, res.Code, sender)
		const n = 200
		best := time.Duration(1 << 62)
		for range 5 {
			start := time.Now()
			for range n {
				c.Check(ctx, ip, "h.example", sender)
			}
			best = min(best, time.Since(start)/n)
		}
		return best
	}
	base := perCheck("x@ok.loop.example", Fail)
	for _, sender := range []string{"x@d0.loop.example", "x@self-redirect.loop.example", "x@a.loop.example", "x@eleven.limit.example"} {
		d := perCheck(sender, PermError)
		t.Logf("%s: %v per check (plain check %v, ratio %.1f)", sender, d, base, float64(d)/float64(base))
		require.Less(t, float64(d)/float64(base), 40.0, "%s: a loop or limit costs a few cached lookups", sender)
	}
}

func BenchmarkLoop(b *testing.B) {
	c, _ := testChecker(b, loopZone, Options{})
	ctx := context.Background()
	ip := netip.MustParseAddr("192.0.2.1")
	for _, d := range []string{"self-redirect", "d0"} {
		b.Run(d, func(b *testing.B) {
			sender := "x@" + d + ".loop.example"
			if res := c.Check(ctx, ip, "h.example", sender); res.Code != PermError {
				b.Fatal(res.Summary())
			}
			b.ReportAllocs()
			for b.Loop() {
				c.Check(ctx, ip, "h.example", sender)
			}
		})
	}
}

func BenchmarkLookupLimitExhausted(b *testing.B) {
	c, _ := testChecker(b, limitsZone(), Options{})
	ctx := context.Background()
	ip := netip.MustParseAddr("192.0.2.1")
	if res := c.Check(ctx, ip, "h.example", "x@eleven.limit.example"); res.Code != PermError {
		b.Fatal(res.Summary())
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Check(ctx, ip, "h.example", "x@eleven.limit.example")
	}
}

// BenchmarkLoopCold is BenchmarkLoop with the resolver's cache switched
// off: every lookup is a real query to dnstest over loopback.
func BenchmarkLoopCold(b *testing.B) {
	srv := dnstest.New(b, loopZone+limitsZone())
	client, err := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}, Timeout: 2 * time.Second, Cache: dnsutil.CacheOptions{Size: -1}})
	if err != nil {
		b.Fatal(err)
	}
	c := New(client, Options{})
	ctx := context.Background()
	ip := netip.MustParseAddr("192.0.2.1")
	for _, sender := range []string{"x@d0.loop.example", "x@eleven.limit.example"} {
		b.Run(sender[2:], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if res := c.Check(ctx, ip, "h.example", sender); res.Code != PermError {
					b.Fatal(res.Summary())
				}
			}
		})
	}
}
