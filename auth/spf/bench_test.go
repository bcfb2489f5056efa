package spf

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

// benchZone has a record with include + a + mx + ip4, where only the ip4
// (the last mechanism) matches the benchmark's client: every term is
// evaluated.
const benchZone = `
example.com.       TXT "v=spf1 include:_spf.example.net a mx ip4:192.0.2.0/24 -all"
example.com.       A   198.51.100.1
example.com.       MX  10 mx1.example.com.
example.com.       MX  20 mx2.example.com.
mx1.example.com.   A   198.51.100.2
mx2.example.com.   A   198.51.100.3
_spf.example.net.  TXT "v=spf1 ip4:203.0.113.0/24 ip6:2001:db8::/32 -all"
`

func benchClient(b *testing.B, zone string) *dnsutil.Client {
	srv := dnstest.New(b, zone)
	client, err := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}, Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	return client
}

// BenchmarkCheckWarm measures a full check (include + a + mx + ip4, the
// ip4 matching) through a dnsutil.Client whose cache is warm: with a
// background context (the check keeps its own 20 s time limit), and with
// a context that has a deadline, as under the Engine.
func BenchmarkCheckWarm(b *testing.B) {
	c := New(benchClient(b, benchZone), Options{})
	ip := netip.MustParseAddr("192.0.2.77")
	dctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	for _, bc := range []struct {
		name string
		ctx  context.Context
	}{{"background", context.Background()}, {"deadline", dctx}} {
		b.Run(bc.name, func(b *testing.B) {
			if res := c.Check(bc.ctx, ip, "mail.example.com", "bob@example.com"); res.Code != Pass || res.Lookups != 3 {
				b.Fatalf("warm-up: %s, %d lookups: %v", res.Code, res.Lookups, res.TraceLines())
			}
			b.ReportAllocs()
			for b.Loop() {
				if res := c.Check(bc.ctx, ip, "mail.example.com", "bob@example.com"); res.Code != Pass {
					b.Fatal(res.Summary())
				}
			}
		})
	}
}

// TestWarmCheckAllocations holds the warm-cache check to its allocation
// budget (15), which, unlike time, does not depend on the machine's load.
func TestWarmCheckAllocations(t *testing.T) {
	srv := dnstest.New(t, benchZone)
	client, err := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c := New(client, Options{})
	ctx := context.Background()
	ip := netip.MustParseAddr("192.0.2.77")
	if res := c.Check(ctx, ip, "mail.example.com", "bob@example.com"); res.Code != Pass {
		t.Fatal(res.Summary())
	}
	allocs := testing.AllocsPerRun(100, func() {
		c.Check(ctx, ip, "mail.example.com", "bob@example.com")
	})
	t.Logf("%.0f allocations per warm check", allocs)
	if allocs > 15 {
		t.Errorf("%.0f allocations per warm check, budget 15", allocs)
	}
}
