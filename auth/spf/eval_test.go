package spf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

// fixedNow is the clock of the tests (the %{t} macro).
var fixedNow = time.Unix(1700000000, 0)

// testChecker serves zone from dnstest and returns a Checker on a fresh
// dnsutil.Client pointed at it.
func testChecker(t testing.TB, zone string, opts Options) (*Checker, *dnstest.Server) {
	t.Helper()
	srv := dnstest.New(t, zone)
	client, err := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}, Timeout: 2 * time.Second, Attempts: 1})
	require.NoError(t, err)
	if opts.Now == nil {
		opts.Now = func() time.Time { return fixedNow }
	}
	if opts.Receiver == "" {
		opts.Receiver = "mx.receiver.example"
	}
	return New(client, opts), srv
}

const explainZone = `
exp.example.             TXT "v=spf1 ip4:192.0.2.200 -all exp=why.%{d}"
why.exp.example.         TXT "%{c} [%{i}] (%{ir}.%{v}.arpa) may not send for %{d} as %{S} (helo %{h}) at %{t} said %{r}; you are %{p}"
7.2.0.192.in-addr.arpa.  PTR other.example.net.
7.2.0.192.in-addr.arpa.  PTR mail.exp.example.
other.example.net.       A   192.0.2.7
mail.exp.example.        A   192.0.2.7
7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR host6.exp.example.
host6.exp.example.       AAAA 2001:db8::7

trunc.example.           TXT "v=spf1 -all exp=%{l1r-}.%{d2}.msg.example"
tom.trunc.example.msg.example. TXT "Dear %{l1-}, %{L} is not allowed for %{o}; see https://example.org/why?s=%{S}"

twotxt.example.          TXT "v=spf1 -all exp=two.msg.example"
two.msg.example.         TXT "one"
two.msg.example.         TXT "two"
badexp.example.          TXT "v=spf1 -all exp=bad.msg.example"
bad.msg.example.         TXT "100% sure"
brokenexp.example.       TXT "v=spf1 -all exp=broken.msg.example"
multi.msg.example.       TXT "part one, " "part two"
multiexp.example.        TXT "v=spf1 -all exp=multi.msg.example"
includer.example.        TXT "v=spf1 -include:included.example -all exp=inc.msg.example"
included.example.        TXT "v=spf1 +all exp=never.msg.example"
inc.msg.example.         TXT "includer says no"
never.msg.example.       TXT "never shown"
redirector.example.      TXT "v=spf1 exp=never.msg.example redirect=target.example"
target.example.          TXT "v=spf1 -all exp=tgt.msg.example"
tgt.msg.example.         TXT "target %{d} says no to %{o}"
`

func TestExplanations(t *testing.T) {
	c, srv := testChecker(t, explainZone, Options{})
	srv.SetFault("broken.msg.example", dns.TypeTXT, dnstest.Fault{ServFail: true})
	ctx := context.Background()
	tests := []struct {
		name, ip, sender, want string
	}{
		{"all macros, IPv4, %{p} prefers a subdomain of <domain>", "192.0.2.7", "Bob.Smith@exp.example",
			"192.0.2.7 [192.0.2.7] (7.2.0.192.in-addr.arpa) may not send for exp.example as Bob.Smith%40exp.example (helo helo.example.org) at 1700000000 said mx.receiver.example; you are mail.exp.example"},
		{"all macros, IPv6: %{c} readable, %{i} dotted nibbles", "2001:db8::7", "bob@exp.example",
			"2001:db8::7 [2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.7] (7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa) may not send for exp.example as bob%40exp.example (helo helo.example.org) at 1700000000 said mx.receiver.example; you are host6.exp.example"},
		{"IPv4-mapped client explained as IPv4, %{p} unknown without PTR", "::ffff:192.0.2.9", "bob@exp.example",
			"192.0.2.9 [192.0.2.9] (9.2.0.192.in-addr.arpa) may not send for exp.example as bob%40exp.example (helo helo.example.org) at 1700000000 said mx.receiver.example; you are unknown"},
		{"truncation, reversal and delimiters in exp= and the text", "192.0.2.1", "tom-jones@trunc.example",
			"Dear jones, tom-jones is not allowed for trunc.example; see https://example.org/why?s=tom-jones%40trunc.example"},
		{"exp with two TXT records: default", "192.0.2.1", "x@twotxt.example", "DEFAULT twotxt.example 192.0.2.1"},
		{"explanation with a syntax error: default", "192.0.2.1", "x@badexp.example", "DEFAULT badexp.example 192.0.2.1"},
		{"exp lookup failing: default", "192.0.2.1", "x@brokenexp.example", "DEFAULT brokenexp.example 192.0.2.1"},
		{"TXT strings joined without spaces", "192.0.2.1", "x@multiexp.example", "part one, part two"},
		{"an include's exp= is not used", "192.0.2.1", "x@includer.example", "includer says no"},
		{"redirect: the target's exp= with its %{d}", "192.0.2.1", "x@redirector.example", "target target.example says no to redirector.example"},
	}
	c.opts.DefaultExplanation = "DEFAULT %{d} %{c}"
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := c.Check(ctx, netip.MustParseAddr(tc.ip), "helo.example.org", tc.sender)
			require.Equal(t, Fail, res.Code, res.TraceLines())
			require.Equal(t, tc.want, res.Explanation)
		})
	}

	t.Run("NoExplanation skips the lookup", func(t *testing.T) {
		c, srv := testChecker(t, explainZone, Options{NoExplanation: true})
		res := c.Check(ctx, netip.MustParseAddr("192.0.2.1"), "helo.example.org", "bob@exp.example")
		require.Equal(t, Fail, res.Code)
		require.Equal(t, "exp.example does not designate 192.0.2.1 as a permitted sender", res.Explanation)
		require.Zero(t, srv.Count("why.exp.example.", 0))
	})
	t.Run("no explanation for other results", func(t *testing.T) {
		res := c.Check(ctx, netip.MustParseAddr("192.0.2.200"), "helo.example.org", "bob@exp.example")
		require.Equal(t, Pass, res.Code)
		require.Empty(t, res.Explanation)
	})
}

func TestPMacroLimit(t *testing.T) {
	// Eleven PTR names; only the eleventh validates. %{p} looks at the
	// first ten only (RFC 7208 section 4.6.4), so it is "unknown".
	var zone strings.Builder
	zone.WriteString(`p.example. TXT "v=spf1 -all exp=msg.p.example"
msg.p.example. TXT "you are %{p}"
`)
	for i := range 11 {
		fmt.Fprintf(&zone, "5.2.0.192.in-addr.arpa. PTR h%d.p.example.\n", i)
	}
	zone.WriteString("h10.p.example. A 192.0.2.5\n")
	c, srv := testChecker(t, zone.String(), Options{})
	res := c.Check(context.Background(), netip.MustParseAddr("192.0.2.5"), "helo.example.org", "x@p.example")
	require.Equal(t, Fail, res.Code)
	require.Equal(t, "you are unknown", res.Explanation)
	require.Zero(t, srv.Count("h10.p.example.", 0), "the eleventh name is never looked up")
}

const behaviourZone = `
helo.example.        TXT "v=spf1 a -all exp=pm.msg.example"
helo.example.        A   192.0.2.10
pm.msg.example.      TXT "%{l} at %{o} via %{h}"
ip4only.example.     TXT "v=spf1 ip4:192.0.2.0/24 -all"
mapped6.example.     TXT "v=spf1 ip6:::ffff:192.0.2.10 -all"
ahost.example.       TXT "v=spf1 a -all"
ahost.example.       A   192.0.2.10
ahost.example.       AAAA 2001:db8::10
cidr.example.        TXT "v=spf1 a:hosts.cidr.example/24//64 mx/28//126 -all"
hosts.cidr.example.  A   198.51.100.77
hosts.cidr.example.  AAAA 2001:db8:aaaa:bbbb::1
cidr.example.        MX  10 mx.cidr.example.
mx.cidr.example.     A   203.0.113.33
mx.cidr.example.     AAAA 2001:db8:ffff::1
zero.example.        TXT "v=spf1 a:hosts.cidr.example/0 -all"
multi.example.       TXT "v=spf1 -all"
multi.example.       TXT "v=spf1 +all"
multi.example.       TXT "some other text"
incnone.example.     TXT "v=spf1 include:norecord.example -all"
norecord.example.    A   192.0.2.1
redirnone.example.   TXT "v=spf1 redirect=nx.example"
syntax.example.      TXT "v=spf1 ip4:192.0.2.10 -all bogus"
incsyntax.example.   TXT "v=spf1 include:syntax.example -all"
unknownmod.example.  TXT "v=spf1 default=pass foo=%{d}.bar -all"
path.example.        TXT "v=spf1 redirect=path2.example"
path2.example.       TXT "v=spf1 -ip4:192.0.2.99 include:path3.example -all"
path3.example.       TXT "v=spf1 ip4:192.0.2.0/28 ~all"
neutral.example.     TXT "v=spf1 ?all"
nohelo.example.      TXT "v=spf1 exists:%{h} -all"
valid.example.       A   127.0.0.2
`

func TestBehaviour(t *testing.T) {
	c, _ := testChecker(t, behaviourZone, Options{})
	ctx := context.Background()
	ip := netip.MustParseAddr

	t.Run("null sender checks postmaster@HELO", func(t *testing.T) {
		res := c.Check(ctx, ip("192.0.2.11"), "helo.example", "")
		require.Equal(t, Fail, res.Code)
		require.True(t, res.NullSender)
		require.Equal(t, MailFrom, res.Identity)
		require.Equal(t, "postmaster@helo.example", res.Sender)
		require.Equal(t, "helo.example", res.Domain)
		require.Equal(t, "postmaster at helo.example via helo.example", res.Explanation)
		require.Equal(t, "spf=fail smtp.mailfrom=postmaster@helo.example", res.AuthResValue())
		require.Contains(t, res.ReceivedSPF("mx.example"), `envelope-from="";`)
		res = c.Check(ctx, ip("192.0.2.10"), "helo.example", "")
		require.Equal(t, Pass, res.Code)
	})
	t.Run("empty local-part becomes postmaster", func(t *testing.T) {
		res := c.Check(ctx, ip("192.0.2.11"), "whatever.example", "@helo.example")
		require.Equal(t, "postmaster@helo.example", res.Sender)
		require.Equal(t, "postmaster at helo.example via whatever.example", res.Explanation)
	})
	t.Run("sender without @ is a domain", func(t *testing.T) {
		res := c.Check(ctx, ip("192.0.2.10"), "x.example", "helo.example")
		require.Equal(t, Pass, res.Code)
		require.Equal(t, "postmaster@helo.example", res.Sender)
	})
	t.Run("IPv4-mapped IPv6 client is IPv4", func(t *testing.T) {
		res := c.Check(ctx, ip("::ffff:192.0.2.10"), "h.example", "a@ip4only.example")
		require.Equal(t, Pass, res.Code)
		require.Equal(t, ip("192.0.2.10"), res.IP)
		res = c.Check(ctx, ip("::ffff:192.0.2.10"), "h.example", "a@mapped6.example")
		require.Equal(t, Fail, res.Code, "ip6 never matches an IPv4 client, even a mapped one")
		res = c.Check(ctx, ip("::ffff:192.0.2.10"), "h.example", "a@ahost.example")
		require.Equal(t, Pass, res.Code, "a looks up A for an IPv4-mapped client")
		res = c.Check(ctx, ip("2001:db8::10"), "h.example", "a@ahost.example")
		require.Equal(t, Pass, res.Code)
	})
	t.Run("CIDR lengths", func(t *testing.T) {
		for addr, want := range map[string]ResultCode{
			"198.51.100.1":               Pass, // a:/24
			"198.51.101.1":               Fail,
			"2001:db8:aaaa:bbbb:ffff::1": Pass, // a://64
			"2001:db8:aaaa:bbbc::1":      Fail,
			"203.0.113.47":               Pass, // mx/28: .32-.47
			"203.0.113.48":               Fail,
			"2001:db8:ffff::3":           Pass, // mx//126
			"2001:db8:ffff::4":           Fail,
		} {
			res := c.Check(ctx, ip(addr), "h.example", "a@cidr.example")
			require.Equal(t, want, res.Code, "%s: %v", addr, res.TraceLines())
		}
		res := c.Check(ctx, ip("9.9.9.9"), "h.example", "a@zero.example")
		require.Equal(t, Pass, res.Code, "a/0 matches any IPv4 client when the name has an A record")
		res = c.Check(ctx, ip("2001:db8::1"), "h.example", "a@zero.example")
		require.Equal(t, Fail, res.Code, "a/0 has a default //128 for IPv6")
	})
	t.Run("HELO identity", func(t *testing.T) {
		res := c.CheckHELO(ctx, ip("192.0.2.10"), "helo.example")
		require.Equal(t, Pass, res.Code)
		require.Equal(t, HELO, res.Identity)
		require.Equal(t, "postmaster@helo.example", res.Sender)
		require.Equal(t, "spf=pass smtp.helo=helo.example", res.AuthResValue())
		require.Contains(t, res.ReceivedSPF("mx.example"), "identity=helo")
		res = c.CheckHELO(ctx, ip("192.0.2.12"), "HELO.Example.")
		require.Equal(t, Fail, res.Code)
		require.Equal(t, "helo.example", res.Domain)
		for _, bad := range []string{"[192.0.2.10]", "localhost", "", "a..b.example"} {
			res = c.CheckHELO(ctx, ip("192.0.2.10"), bad)
			require.Equal(t, None, res.Code, bad)
			require.ErrorIs(t, res.Err, ErrInvalidDomain, bad)
		}
	})
	t.Run("invalid client address", func(t *testing.T) {
		res := c.Check(ctx, netip.Addr{}, "h.example", "a@helo.example")
		require.Equal(t, None, res.Code)
		require.ErrorIs(t, res.Err, ErrInvalidIP)
	})
	t.Run("multiple records", func(t *testing.T) {
		res := c.Check(ctx, ip("192.0.2.1"), "h.example", "a@multi.example")
		require.Equal(t, PermError, res.Code)
		require.ErrorIs(t, res.Err, ErrMultipleRecords)
	})
	t.Run("include and redirect targets without a record", func(t *testing.T) {
		res := c.Check(ctx, ip("192.0.2.1"), "h.example", "a@incnone.example")
		require.Equal(t, PermError, res.Code)
		require.ErrorIs(t, res.Err, ErrNoRecord)
		res = c.Check(ctx, ip("192.0.2.1"), "h.example", "a@redirnone.example")
		require.Equal(t, PermError, res.Code)
		require.ErrorIs(t, res.Err, ErrNoRecord)
	})
	t.Run("syntax errors anywhere, even after the match", func(t *testing.T) {
		res := c.Check(ctx, ip("192.0.2.10"), "h.example", "a@syntax.example")
		require.Equal(t, PermError, res.Code)
		require.ErrorIs(t, res.Err, ErrSyntax)
		require.Zero(t, res.Lookups)
		res = c.Check(ctx, ip("192.0.2.10"), "h.example", "a@incsyntax.example")
		require.Equal(t, PermError, res.Code)
		require.ErrorIs(t, res.Err, ErrSyntax)
	})
	t.Run("unknown modifiers are ignored", func(t *testing.T) {
		res := c.Check(ctx, ip("192.0.2.10"), "h.example", "a@unknownmod.example")
		require.Equal(t, Fail, res.Code)
	})
	t.Run("no record is none; neutral by default", func(t *testing.T) {
		res := c.Check(ctx, ip("192.0.2.10"), "h.example", "a@valid.example")
		require.Equal(t, None, res.Code)
		require.NoError(t, res.Err)
		res = c.Check(ctx, ip("192.0.2.10"), "h.example", "a@nx.example")
		require.Equal(t, None, res.Code)
		res = c.Check(ctx, ip("192.0.2.10"), "h.example", "a@neutral.example")
		require.Equal(t, Neutral, res.Code)
		require.Equal(t, "?all", res.Mechanism)
	})
	t.Run("the HELO macro may be anything", func(t *testing.T) {
		res := c.Check(ctx, ip("192.0.2.10"), "valid.example", "a@nohelo.example")
		require.Equal(t, Pass, res.Code)
		res = c.Check(ctx, ip("192.0.2.10"), "not a (valid) helo", "a@nohelo.example")
		require.Equal(t, Fail, res.Code, res.TraceLines())
	})
	t.Run("mechanism, path and summary", func(t *testing.T) {
		res := c.Check(ctx, ip("192.0.2.5"), "h.example", "a@path.example")
		require.Equal(t, Pass, res.Code)
		require.Equal(t, "include:path3.example", res.Mechanism)
		require.Equal(t, []string{"redirect=path2.example", "include:path3.example", "ip4:192.0.2.0/28"}, res.Path)
		require.Equal(t, 2, res.Lookups)
		require.Equal(t, "pass: path.example authorizes 192.0.2.5 (redirect=path2.example -> include:path3.example -> ip4:192.0.2.0/28 matched)", res.Summary())
		res = c.Check(ctx, ip("192.0.2.99"), "h.example", "a@path.example")
		require.Equal(t, Fail, res.Code)
		require.Equal(t, "-ip4:192.0.2.99", res.Mechanism)
		require.Equal(t, []string{"redirect=path2.example", "-ip4:192.0.2.99"}, res.Path)
		res = c.Check(ctx, ip("192.0.2.200"), "h.example", "a@path.example")
		require.Equal(t, Fail, res.Code)
		require.Equal(t, []string{"redirect=path2.example", "-all"}, res.Path, "an include that did not match is not on the path")
		require.Contains(t, strings.Join(res.TraceLines(), "\n"), "include:path3.example [path3.example] -> no match: included result softfail")
	})
	t.Run("cancelled context is temperror", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		c2, _ := testChecker(t, behaviourZone, Options{})
		res := c2.Check(cctx, ip("192.0.2.10"), "h.example", "a@helo.example")
		require.Equal(t, TempError, res.Code)
		require.True(t, dnsutil.IsTemporary(res.Err))
	})
	t.Run("time limit is temperror", func(t *testing.T) {
		var calls atomic.Int64
		clock := func() time.Time { return fixedNow.Add(time.Duration(calls.Add(1)) * 10 * time.Second) }
		c2, _ := testChecker(t, behaviourZone, Options{Now: clock, Timeout: 15 * time.Second})
		res := c2.Check(ctx, ip("192.0.2.5"), "h.example", "a@path.example")
		require.Equal(t, TempError, res.Code, res.TraceLines())
		require.True(t, dnsutil.IsTemporary(res.Err))
		require.ErrorIs(t, res.Err, context.DeadlineExceeded)
	})
}

func TestTemporaryErrorsNeverFail(t *testing.T) {
	const zone = `
top.example.      TXT "v=spf1 -all"
inc.example.      TXT "v=spf1 include:broken.example -all"
a.example.        TXT "v=spf1 a:broken.example -all"
mx.example.       TXT "v=spf1 mx:mxd.example -all"
mxd.example.      MX  10 broken.example.
exists.example.   TXT "v=spf1 exists:broken.example -all"
redir.example.    TXT "v=spf1 redirect=broken.example"
ptr.example.      TXT "v=spf1 ptr -all"
deep.example.     TXT "v=spf1 include:inc.example -all"
`
	faults := map[string]dnstest.Fault{
		"servfail":  {ServFail: true},
		"refused":   {Refused: true},
		"malformed": {Malformed: true},
	}
	for fname, fault := range faults {
		t.Run(fname, func(t *testing.T) {
			c, srv := testChecker(t, zone, Options{})
			srv.SetFault("broken.example", 0, fault)
			srv.SetFault("top.example", dns.TypeTXT, fault)
			for _, d := range []string{"top", "inc", "a", "mx", "exists", "redir", "deep"} {
				res := c.Check(context.Background(), netip.MustParseAddr("192.0.2.1"), "h.example", "x@"+d+".example")
				require.Equal(t, TempError, res.Code, "%s: %v", d, res.TraceLines())
				require.True(t, dnsutil.IsTemporary(res.Err), "%s: %v", d, res.Err)
				var de *dnsutil.Error
				require.True(t, errors.As(res.Err, &de), "%s: %v", d, res.Err)
				require.Contains(t, res.ReceivedSPF("r.example"), "problem=")
			}
		})
	}
	t.Run("timeout", func(t *testing.T) {
		srv := dnstest.New(t, zone)
		srv.SetFault("broken.example", 0, dnstest.Fault{Drop: true})
		client, err := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}, Timeout: 300 * time.Millisecond, Attempts: 1})
		require.NoError(t, err)
		res := New(client, Options{}).Check(context.Background(), netip.MustParseAddr("192.0.2.1"), "h.example", "x@a.example")
		require.Equal(t, TempError, res.Code)
		require.ErrorIs(t, res.Err, dnsutil.ErrTimeout)
	})
	t.Run("a failing PTR lookup makes ptr not match (RFC 7208 section 5.5)", func(t *testing.T) {
		c, srv := testChecker(t, zone, Options{})
		srv.SetFault("1.2.0.192.in-addr.arpa", dns.TypePTR, dnstest.Fault{ServFail: true})
		res := c.Check(context.Background(), netip.MustParseAddr("192.0.2.1"), "h.example", "x@ptr.example")
		require.Equal(t, Fail, res.Code)
		require.Equal(t, "-all", res.Mechanism)
	})
}
