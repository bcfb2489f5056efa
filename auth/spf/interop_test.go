package spf

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

// TestInteropPyspf checks random policies against pyspf, the library the
// OpenSPF suite comes from (Debian's python3-spf), both reading the same
// dnstest server. It is skipped where python3-spf is not installed.
//
// The policies are built from every mechanism, modifier and macro over a
// small web of domains (includes, redirects, loops, missing names, MX
// hosts without addresses, PTR data). The results must agree, except for
// the kinds of difference listed in interopKnown, each of which is an
// RFC 7208 reading where this package and pyspf differ.

const pyspfDriver = `
import sys, json
import dns.resolver, dns.name
import spf
r = dns.resolver.Resolver(configure=False)
r.nameservers = ['127.0.0.1']
r.port = int(sys.argv[1])
r.timeout = r.lifetime = 5
r.domain = dns.name.root
r.search = []
dns.resolver.default_resolver = r
out = []
for c in json.load(sys.stdin):
    q = spf.query(i=c['ip'], s=c['sender'], h=c['helo'], receiver='mx.example.org')
    q.set_default_explanation('DEFAULT')
    res, code, exp = q.check()
    out.append({'result': res, 'explanation': exp if res == 'fail' else '',
                'problem': exp if res in ('permerror', 'temperror') else ''})
json.dump(out, sys.stdout)
`

type interopCase struct {
	IP     string `json:"ip"`
	Sender string `json:"sender"`
	Helo   string `json:"helo"`
}

type interopAnswer struct {
	Result      string `json:"result"`
	Explanation string `json:"explanation"`
	Problem     string `json:"problem"` // pyspf's message for permerror and temperror
}

// interopZone builds n random policies at p0..p{n-1}.interop.example.
func interopZone(rng *rand.Rand, n int) string {
	var z strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&z, format+"\n", args...) }
	dom := func() string { return fmt.Sprintf("p%d.interop.example", rng.IntN(n+2)) } // p{n}, p{n+1} have no record
	quals := []string{"", "", "", "+", "-", "~", "?"}
	terms := []func() string{
		func() string { return fmt.Sprintf("ip4:192.0.2.%d/%d", rng.IntN(8), 29+rng.IntN(4)) },
		func() string { return fmt.Sprintf("ip6:2001:db8::%x/%d", rng.IntN(8), 125+rng.IntN(4)) },
		func() string { return "a" },
		func() string { return "a:" + dom() },
		func() string { return fmt.Sprintf("a:%s/%d//%d", dom(), 24+rng.IntN(9), 64+rng.IntN(65)) },
		func() string { return "mx" },
		func() string { return "mx:" + dom() + "/30" },
		func() string { return "ptr" },
		func() string { return "ptr:interop.example" },
		func() string { return "exists:%{i}.ex.interop.example" },
		func() string { return "exists:%{l1r-}.%{d2}.ex.interop.example" },
		func() string { return "exists:%{ir}.%{v}.ex.interop.example" },
		func() string { return "include:" + dom() },
		func() string { return "include:" + dom() },
	}
	for i := range n + 2 {
		d := fmt.Sprintf("p%d.interop.example", i)
		line("%s. A 192.0.2.%d", d, rng.IntN(8))
		if rng.IntN(2) == 0 {
			line("%s. AAAA 2001:db8::%x", d, rng.IntN(8))
		}
		for j := range rng.IntN(3) {
			line("%s. MX %d mx%d.interop.example.", d, j, rng.IntN(4))
		}
		if i >= n {
			continue
		}
		var rec []string
		for range 1 + rng.IntN(5) {
			rec = append(rec, quals[rng.IntN(len(quals))]+terms[rng.IntN(len(terms))]())
		}
		switch rng.IntN(4) {
		case 0:
			rec = append(rec, "redirect="+dom())
		case 1:
			rec = append(rec, []string{"-all", "~all", "?all"}[rng.IntN(3)])
		}
		if rng.IntN(3) == 0 {
			rec = append(rec, "exp=exp%{d1r}.interop.example")
		}
		line(`%s. TXT "v=spf1 %s"`, d, strings.Join(rec, " "))
	}
	for j := range 3 { // mx3 has no address
		line("mx%d.interop.example. A 192.0.2.%d", j, 4+j)
		line("mx%d.interop.example. AAAA 2001:db8::%x", j, 4+j)
	}
	for i := range 8 {
		line("%d.2.0.192.in-addr.arpa. PTR p%d.interop.example.", i, rng.IntN(n+2))
		line("%d.2.0.192.in-addr.arpa. PTR mx%d.interop.example.", i, rng.IntN(4))
		if rng.IntN(2) == 0 {
			line("192.0.2.%d.ex.interop.example. A 127.0.0.2", i)
			line("%d.2.0.192.in-addr.ex.interop.example. A 127.0.0.2", i)
		}
	}
	line("user.interop.example.ex.interop.example. A 127.0.0.2")
	line(`exp.interop.example. TXT "%%{c} may not send for %%{d} as %%{s} (%%{l1r-}, %%{o}, %%{h}, %%{v})"`)
	return z.String()
}

// interopKnown classifies the differences that are understood. Each
// returns a reason when the difference is of its kind, and checks from
// our trace that the difference can only be of that kind.
var interopKnown = []func(ours Result, queryVoids int, theirs interopAnswer) string{
	// pyspf counts a void lookup for every query that finds nothing,
	// including the address lookups of MX hosts and of PTR names, so a
	// plain "mx" seen from an IPv6 client whose MX hosts have no AAAA
	// records reaches its void limit. RFC 7208 section 4.6.4 limits the
	// "terms" for which DNS queries return nothing; this package counts
	// the term's own query (the A/AAAA of a, the MX of mx, the PTR of
	// ptr, the A of exists), once per term. The difference is of this
	// kind when a ptr was evaluated, or an mx was and counting every
	// query that found nothing, as pyspf does, exceeds the limit.
	func(ours Result, queryVoids int, theirs interopAnswer) string {
		if ours.Code == PermError || ours.VoidLookups > 2 || !strings.Contains(theirs.Problem, "Void lookup limit") {
			return ""
		}
		const reason = "void lookups of MX hosts' or PTR names' addresses are not counted per query (RFC 7208 section 4.6.4 counts terms)"
		mx := false
		for _, s := range ours.Trace {
			t := strings.TrimLeft(s.Term, "+-~?")
			if strings.HasPrefix(t, "ptr") {
				// pyspf validates every PTR name, this package only
				// those under the target: pyspf's queries are a
				// superset of ours.
				return reason
			}
			mx = mx || strings.HasPrefix(t, "mx")
		}
		if mx && queryVoids > 2 {
			return reason
		}
		return ""
	},
	// pyspf rejects a record that includes its own domain when it parses
	// it, even if evaluation never reaches that include. RFC 7208 has no
	// such rule: mechanisms are evaluated in order and the first match
	// ends the evaluation (section 4.6.2); this package ends a loop in
	// permerror when the include is reached (ErrLoop).
	func(ours Result, _ int, theirs interopAnswer) string {
		if ours.Code == PermError || !strings.Contains(theirs.Problem, "trivial recursion") {
			return ""
		}
		for _, s := range ours.Trace {
			if s.Note == "record" && strings.Contains(s.Detail+" ", "include:"+s.Domain+" ") {
				return "a self-include that is never reached is not an error (RFC 7208 section 4.6.2)"
			}
		}
		return ""
	},
}

func TestInteropPyspf(t *testing.T) {
	if testing.Short() {
		t.Skip("interop with pyspf is not run in -short mode")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import spf, dns.resolver").Run(); err != nil {
		t.Skip("python3-spf (pyspf) is not installed: apt-get install python3-spf")
	}
	const zones, policies, checks = 10, 12, 80
	total, agree, known := 0, 0, 0
	for z := range zones {
		rng := rand.New(rand.NewPCG(uint64(z), 7208))
		zone := interopZone(rng, policies)
		srv := dnstest.New(t, zone)
		var cases []interopCase
		for range checks {
			ip := fmt.Sprintf("192.0.2.%d", rng.IntN(8))
			switch rng.IntN(4) {
			case 0:
				ip = fmt.Sprintf("2001:db8::%x", rng.IntN(8))
			case 1:
				ip = "::ffff:" + ip
			}
			sender := fmt.Sprintf("%s@p%d.interop.example", []string{"user", "strong-bad", "a.b"}[rng.IntN(3)], rng.IntN(policies))
			cases = append(cases, interopCase{IP: ip, Sender: sender, Helo: "helo.interop.example"})
		}
		theirs := runPyspf(t, srv.Addr(), cases)
		client, err := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}, Timeout: 2 * time.Second})
		require.NoError(t, err)
		counter := &voidCounter{r: client}
		c := New(counter, Options{DefaultExplanation: "DEFAULT", Receiver: "mx.example.org"})
		for i, tc := range cases {
			counter.voids = 0
			ours := c.Check(context.Background(), netip.MustParseAddr(tc.IP), tc.Helo, tc.Sender)
			total++
			if ours.Code.String() == theirs[i].Result && ours.Explanation == theirs[i].Explanation {
				agree++
				continue
			}
			reason := ""
			for _, k := range interopKnown {
				if reason = k(ours, counter.voids, theirs[i]); reason != "" {
					break
				}
			}
			if reason != "" {
				known++
				t.Logf("zone %d, %s from %s: ours %s, pyspf %s: %s", z, tc.Sender, tc.IP, ours.Code, theirs[i].Result, reason)
				continue
			}
			t.Errorf("zone %d, %s from %s: ours %s %q, pyspf %s %q %s\n  %s", z, tc.Sender, tc.IP,
				ours.Code, ours.Explanation, theirs[i].Result, theirs[i].Explanation, theirs[i].Problem,
				strings.Join(ours.TraceLines(), "\n  "))
		}
	}
	t.Logf("pyspf interop: %d/%d checks agree, %d differ in the known ways above, %d otherwise", agree, total, known, total-agree-known)
}

// voidCounter counts every lookup that finds nothing, as pyspf counts
// void lookups.
type voidCounter struct {
	r     dnsutil.Resolver
	voids int
}

func (v *voidCounter) Lookup(ctx context.Context, name string, qtype uint16) (*dnsutil.Answer, error) {
	a, err := v.r.Lookup(ctx, name, qtype)
	if dnsutil.IsNotFound(err) {
		v.voids++
	}
	return a, err
}

func runPyspf(t *testing.T, addr string, cases []interopCase) []interopAnswer {
	t.Helper()
	script := filepath.Join(t.TempDir(), "driver.py")
	require.NoError(t, os.WriteFile(script, []byte(pyspfDriver), 0o600))
	_, port, _ := strings.Cut(addr, ":")
	in, err := json.Marshal(cases)
	require.NoError(t, err)
	cmd := exec.Command("/usr/bin/python3", script, port)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	var answers []interopAnswer
	require.NoError(t, json.Unmarshal(out, &answers))
	require.Len(t, answers, len(cases))
	return answers
}
