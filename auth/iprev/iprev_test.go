package iprev

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

const zone = `
25.2.0.192.in-addr.arpa. IN PTR mail.example.com.
mail.example.com. IN A 192.0.2.25
26.2.0.192.in-addr.arpa. IN PTR forged.example.com.
forged.example.com. IN A 198.51.100.1
27.2.0.192.in-addr.arpa. IN PTR dangling.example.com.
28.2.0.192.in-addr.arpa. IN PTR broken.example.com.
28.2.0.192.in-addr.arpa. IN PTR Other.Example.COM.
other.example.com. IN A 192.0.2.28
29.2.0.192.in-addr.arpa. IN PTR slow.example.com.
slow.example.com. IN A 192.0.2.29
5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. IN PTR v6.example.com.
v6.example.com. IN AAAA 2001:db8::25
v6.example.com. IN A 192.0.2.99
`

func newChecker(t *testing.T, opts Options) (*Checker, *dnstest.Server) {
	srv := dnstest.New(t, zone)
	r, err := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}, Attempts: 1, Timeout: time.Second, Cache: dnsutil.CacheOptions{Size: -1}})
	require.NoError(t, err)
	return New(r, opts), srv
}

func TestIPRev(t *testing.T) {
	c, srv := newChecker(t, Options{})
	srv.SetFault("broken.example.com", 0, dnstest.Fault{ServFail: true})
	srv.SetFault("30.2.0.192.in-addr.arpa", 0, dnstest.Fault{ServFail: true})
	srv.SetFault("slow.example.com", 0, dnstest.Fault{Drop: true})
	ctx := context.Background()
	tests := []struct {
		ip     string
		status Status
		name   string
		temp   bool
		reason string
	}{
		{"192.0.2.25", Pass, "mail.example.com", false, "is mail.example.com"},
		{"::ffff:192.0.2.25", Pass, "mail.example.com", false, ""},
		{"2001:db8::25", Pass, "v6.example.com", false, ""},
		{"192.0.2.26", Fail, "", false, "resolves back"},
		{"192.0.2.27", Fail, "", false, "dangling.example.com"},
		// One name fails temporarily, another confirms: pass.
		{"192.0.2.28", Pass, "other.example.com", false, ""},
		{"192.0.2.29", TempError, "", true, "forward lookup"},
		{"192.0.2.30", TempError, "", true, "reverse DNS lookup"},
		{"192.0.2.31", PermError, "", false, "no reverse DNS"},
		{"2001:db8::26", PermError, "", false, "no reverse DNS"},
	}
	for _, tt := range tests {
		res := c.Check(ctx, netip.MustParseAddr(tt.ip))
		require.Equal(t, tt.status, res.Status, "%s: %s", tt.ip, res.Reason)
		require.Equal(t, tt.name, res.Name, tt.ip)
		require.Equal(t, tt.temp, dnsutil.IsTemporary(res.Err), "%s: %v", tt.ip, res.Err)
		require.Contains(t, res.Reason, tt.reason)
	}
	res := c.Check(ctx, netip.Addr{})
	require.Equal(t, PermError, res.Status)
	require.ErrorIs(t, res.Err, ErrNoAddress)
	res = c.Check(ctx, netip.MustParseAddr("192.0.2.31"))
	require.ErrorIs(t, res.Err, ErrNoPTR)
	require.ErrorIs(t, res.Err, dnsutil.ErrNXDomain)
}

func TestIPRevNameLimit(t *testing.T) {
	// 30 PTR names; only the last one resolves back, beyond the limit.
	var b strings.Builder
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&b, "40.2.0.192.in-addr.arpa. IN PTR n%02d.example.net.\n", i)
	}
	b.WriteString("n29.example.net. IN A 192.0.2.40\n")
	srv := dnstest.New(t, b.String())
	r, err := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}})
	require.NoError(t, err)
	res := New(r, Options{MaxNames: 5}).Check(context.Background(), netip.MustParseAddr("192.0.2.40"))
	require.Len(t, res.Names, 5)
	require.Equal(t, 25, res.Ignored)
	forward := 0
	for _, q := range srv.Queries() {
		if strings.HasSuffix(q.Name, ".example.net.") {
			forward++
		}
	}
	require.LessOrEqual(t, forward, 5, "only MaxNames forward lookups")
	require.Equal(t, Fail, res.Status)
	require.Contains(t, res.Reason, "25 more names were not checked")
	res = New(r, Options{}).Check(context.Background(), netip.MustParseAddr("192.0.2.40"))
	require.Len(t, res.Names, DefaultMaxNames)
}

func Example() {
	srv, _ := dnstest.Start("25.2.0.192.in-addr.arpa. IN PTR mail.example.com.\nmail.example.com. IN A 192.0.2.25\n")
	defer srv.Close()
	r, _ := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}})
	res := New(r, Options{}).Check(context.Background(), netip.MustParseAddr("192.0.2.25"))
	fmt.Println(res.Status, res.Name)
	// Output: pass mail.example.com
}

func BenchmarkCheck(b *testing.B) {
	srv, _ := dnstest.Start(zone)
	defer srv.Close()
	r, _ := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}})
	c := New(r, Options{})
	ip := netip.MustParseAddr("192.0.2.25")
	b.ReportAllocs()
	for b.Loop() {
		if c.Check(context.Background(), ip).Status != Pass {
			b.Fatal("not pass")
		}
	}
}
