package urlcheck

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
	"github.com/mailscore/mailscore/internal/testdata"
)

// canaries are the RFC 5782 section 5 test entries of the presets, so the
// lists pass their health checks.
const canaries = `
dbltest.com.dbl.spamhaus.org. A 127.0.1.2
test.surbl.org.multi.surbl.org. A 127.0.0.8
test.uribl.com.multi.uribl.com. A 127.0.0.2
2.0.0.127.zen.spamhaus.org. A 127.0.0.2
`

func resolverFor(t testing.TB, srv *dnstest.Server) dnsutil.Resolver {
	t.Helper()
	r, err := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}, Timeout: 400 * time.Millisecond, Attempts: 1})
	require.NoError(t, err)
	return r
}

func newChecker(t testing.TB, r dnsutil.Resolver, opts Options) *Checker {
	t.Helper()
	c, err := New(r, opts)
	require.NoError(t, err)
	return c
}

func message(t testing.TB, from, body string) *mailscore.Message {
	t.Helper()
	return newTestMessage(t, "From: "+from+"\nSubject: test\n\n"+body+"\n")
}

func signal(sigs []mailscore.Signal, sym string) *mailscore.Signal {
	for i := range sigs {
		if sigs[i].Symbol == sym {
			return &sigs[i]
		}
	}
	return nil
}

func symbols(sigs []mailscore.Signal) []string {
	var out []string
	for _, s := range sigs {
		if s.Confidence > 0 {
			out = append(out, s.Symbol)
		}
	}
	slices.Sort(out)
	return out
}

func TestStaticSignals(t *testing.T) {
	c := newChecker(t, nil, Options{Protected: []string{"paypal.com", "mybank.example"}})
	tests := []struct {
		name, body string
		want       []string
		reason     string
	}{
		{"numeric host", "http://62.16.101.59/x", []string{SymNumericHost}, "62.16.101.59"},
		{"obfuscated host", "http://0x425c45de/", []string{SymNumericHost}, "obfuscated way of writing 66.92.69.222"},
		{"deceptive userinfo", "https://www.mybank.example@evil.example/login", []string{SymUserinfo}, `shows "www.mybank.example" but goes to evil.example`},
		{"confusable", "https://pаypal.com/signin", []string{SymLookalike, SymMixedScript}, "imitates paypal.com"},
		{"digit confusable", "https://paypa1.com/signin", []string{SymLookalike}, "paypa1.com (confusable) imitates paypal.com"},
		{"embedded protected name", "https://paypal.com.account-check.example/", []string{SymLookalike}, "(embedded) imitates paypal.com"},
		{"other suffix", "https://mybank.co/", []string{SymLookalike}, "(other-suffix) imitates mybank.example"},
		{"whole-script Cyrillic", "http://аррӏе.com/", []string{SymMixedScript}, "non-Latin letters that pass for Latin"},
		{"shortener", "see https://bit.ly/3yhHfzI now", []string{SymShortener}, "bit.ly/3yhHfzI"},
		{"redirector", "http://tracker.example/c?u=https%3A%2F%2Fevil.example%2F", []string{SymRedirector}, "tracker.example"},
		{"the real thing", "https://www.paypal.com/signin https://bücher.de/", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sigs, err := c.Check(context.Background(), message(t, "a@sender.example", tt.body), nil)
			require.NoError(t, err)
			require.Equal(t, tt.want, symbols(sigs))
			if tt.reason != "" {
				require.Contains(t, signal(sigs, tt.want[0]).Reason, tt.reason)
			}
			// The learned-reputation signal is there, unknown, carrying keys.
			if rep := signal(sigs, SymDomainReputation); rep != nil {
				require.Zero(t, rep.Confidence)
				require.NotEmpty(t, rep.Keys)
			}
		})
	}
}

// listZone builds dnstest zone data listing the registered domains of
// URLhaus's malware hosts in the DBL (malware code 127.0.1.5) and its IP
// hosts in ZEN (SBL code 127.0.0.2).
func listZone(t testing.TB) (zone string, listed map[string]bool, listedIPs map[netip.Addr]bool) {
	t.Helper()
	f, err := os.Open(filepath.Join(testdata.Dir(t, "urls"), "urlhaus-filter-domains-online.txt"))
	require.NoError(t, err)
	defer f.Close()
	var b strings.Builder
	b.WriteString(canaries)
	listed, listedIPs = map[string]bool{}, map[netip.Addr]bool{}
	zen := dnsutil.SpamhausZEN()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		u, err := Normalize("http://" + line + "/")
		require.NoError(t, err, line)
		switch {
		case u.IP.IsValid():
			if !listedIPs[u.IP] {
				listedIPs[u.IP] = true
				fmt.Fprintf(&b, "%s A 127.0.0.2\n", zen.QueryName(u.IP))
			}
		case !listed[u.Domain]:
			listed[u.Domain] = true
			fmt.Fprintf(&b, "%s.dbl.spamhaus.org. A 127.0.1.5\n", u.Domain)
		}
	}
	require.NoError(t, sc.Err())
	return b.String(), listed, listedIPs
}

// TestURIBlocklistsURLhaus puts every URL of the URLhaus host+path list
// through the Checker, ten to a message, against a DBL and ZEN built from
// the URLhaus host list. A URL counts as listed exactly when its
// registered domain (ICANN and private PSL sections) or its address is:
// the ~2,200 URLs on legitimate platforms (glitch.global, jsdelivr.net,
// bitbucket.org, pages.dev tenants...) must not be.
func TestURIBlocklistsURLhaus(t *testing.T) {
	zone, listed, listedIPs := listZone(t)
	srv := dnstest.New(t, zone)
	c := newChecker(t, resolverFor(t, srv), Options{
		URIBlocklists:      []dnsutil.Blocklist{dnsutil.SpamhausDBL()},
		IPBlocklists:       []dnsutil.Blocklist{dnsutil.SpamhausZEN()},
		DisableNameservers: true,
		MaxListQueries:     100,
	})
	f, err := os.Open(filepath.Join(testdata.Dir(t, "urls"), "urls-host-path.txt"))
	require.NoError(t, err)
	defer f.Close()
	var urls []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			urls = append(urls, "http://"+l)
		}
	}
	require.NoError(t, sc.Err())
	step := 1
	if testing.Short() || raceEnabled {
		step = 7 // a sample: every 7th batch
	}
	var msgs, hitDomains, hitIPs, clean, platform int
	for i := 0; i < len(urls); i += 10 * step {
		batch := urls[i:min(i+10, len(urls))]
		wantDom, wantIP := map[string]bool{}, map[string]bool{}
		for _, raw := range batch {
			u, err := Normalize(raw)
			require.NoError(t, err, raw)
			switch {
			case u.IP.IsValid() && listedIPs[u.IP]:
				wantIP[u.IP.String()] = true
			case u.Domain != "" && listed[u.Domain]:
				wantDom[u.Domain] = true
			case u.Domain != "":
				clean++
				if u.Domain != u.ICANNDomain {
					platform++
				}
			}
		}
		sigs, err := c.Check(context.Background(), message(t, "x@sender.example", strings.Join(batch, "\n")), nil)
		require.NoError(t, err)
		msgs++
		gotDom := map[string]bool{}
		if s := signal(sigs, "URL_DBL_MALWARE"); s != nil {
			require.Equal(t, 1.0, s.Value)
			require.Equal(t, listConfidence, s.Confidence)
			for _, k := range s.Keys {
				gotDom[k.Value] = true
			}
		}
		require.Equal(t, wantDom, gotDom, "batch at line %d", i)
		if len(wantIP) > 0 {
			s := signal(sigs, SymIPListed)
			require.NotNil(t, s, "batch at line %d", i)
			for ip := range wantIP {
				if !strings.Contains(s.Reason, ip) {
					require.Contains(t, s.Reason, "more", "batch at line %d", i)
				}
			}
		} else {
			require.Nil(t, signal(sigs, SymIPListed), "batch at line %d", i)
		}
		hitDomains += len(wantDom)
		hitIPs += len(wantIP)
	}
	t.Logf("%d messages (%d URLs of %d): %d listed domains and %d listed addresses found, %d clean domain URLs (%d on private-suffix platforms) not listed",
		msgs, min(len(urls), msgs*10), len(urls), hitDomains, hitIPs, clean, platform)
	require.Positive(t, hitDomains)
	require.Positive(t, hitIPs)

	// A tenant of a hosting platform is judged apart from the platform.
	sigs, err := c.Check(context.Background(), message(t, "x@sender.example",
		"https://4393eb8c.solaraweb-alj.pages.dev/x https://innocent-tenant.pages.dev/y"), nil)
	require.NoError(t, err)
	s := signal(sigs, "URL_DBL_MALWARE")
	require.NotNil(t, s)
	require.Equal(t, []mailscore.Key{{Kind: mailscore.KeyURLDomain, Value: "solaraweb-alj.pages.dev"}}, s.Keys)
}

func TestBlocklistCodes(t *testing.T) {
	srv := dnstest.New(t, canaries+`
spam.example.dbl.spamhaus.org. A 127.0.1.2
phish.example.dbl.spamhaus.org. A 127.0.1.4
abused.example.dbl.spamhaus.org. A 127.0.1.102
iperr.example.dbl.spamhaus.org. A 127.0.1.255
public.example.dbl.spamhaus.org. A 127.255.255.254
wild.example.dbl.spamhaus.org. A 10.0.0.1
phmw.example.multi.surbl.org. A 127.0.0.24
refused.example.multi.surbl.org. A 127.0.0.1
bgr.example.multi.uribl.com. A 127.0.0.14
black.example.multi.uribl.com. A 127.0.0.2
`)
	srv.SetFault("slow.example.dbl.spamhaus.org.", dns.TypeA, dnstest.Fault{Drop: true})
	srv.SetFault("broken.example.dbl.spamhaus.org.", dns.TypeA, dnstest.Fault{ServFail: true})
	c := newChecker(t, resolverFor(t, srv), Options{
		URIBlocklists:      []dnsutil.Blocklist{dnsutil.SpamhausDBL(), dnsutil.SURBL(), dnsutil.URIBL()},
		DisableNameservers: true,
	})
	tests := []struct {
		domain    string
		want      []string // symbols with confidence > 0
		values    []float64
		unknown   bool // URL_LIST_UNKNOWN and an error
		temporary bool
	}{
		{"spam.example", []string{"URL_DBL_SPAM"}, []float64{1}, false, false},
		{"phish.example", []string{"URL_DBL_PHISH"}, []float64{1}, false, false},
		{"abused.example", []string{"URL_DBL_ABUSED_LEGIT"}, []float64{0.5}, false, false},
		{"phmw.example", []string{"URL_SURBL_MW", "URL_SURBL_PH"}, []float64{1, 1}, false, false},
		{"bgr.example", []string{"URL_URIBL_BLACK", "URL_URIBL_GREY", "URL_URIBL_RED"}, []float64{1, 0.4, 0.5}, false, false},
		{"black.example", []string{"URL_URIBL_BLACK"}, []float64{1}, false, false},
		{"clean.example", nil, nil, false, false},
		{"iperr.example", nil, nil, true, false},   // DBL's 127.0.1.255 error code
		{"public.example", nil, nil, true, false},  // refused through a public resolver
		{"wild.example", nil, nil, true, false},    // answer outside 127/8
		{"refused.example", nil, nil, true, false}, // SURBL's 127.0.0.1 refusal
		{"slow.example", nil, nil, true, true},     // timeout
		{"broken.example", nil, nil, true, true},   // SERVFAIL
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			sigs, err := c.Check(context.Background(), message(t, "x@sender.example", "http://www."+tt.domain+"/offer"), nil)
			got := symbols(sigs)
			got = slices.DeleteFunc(got, func(s string) bool { return s == SymDomainReputation })
			if tt.want == nil {
				require.Empty(t, got, "never a bad signal without a listing")
			} else {
				require.Equal(t, tt.want, got)
				for i, sym := range tt.want {
					require.Equal(t, tt.values[i], signal(sigs, sym).Value, sym)
					require.Contains(t, signal(sigs, sym).Reason, tt.domain)
				}
			}
			u := signal(sigs, SymListUnknown)
			if !tt.unknown {
				require.NoError(t, err)
				require.Nil(t, u)
				return
			}
			require.Error(t, err)
			require.ErrorIs(t, err, ErrIncomplete)
			require.Equal(t, tt.temporary, dnsutil.IsTemporary(err), "%v", err)
			if !tt.temporary {
				require.ErrorIs(t, err, dnsutil.ErrListAnswer)
			}
			require.NotNil(t, u)
			require.Zero(t, u.Confidence)
			require.Contains(t, u.Reason, tt.domain)
		})
	}
	// Every list symbol is published with its weight.
	pub := map[string]bool{}
	for _, s := range c.Symbols() {
		pub[s.Name] = true
	}
	for _, sym := range []string{"URL_DBL_SPAM", "URL_DBL_PHISH", "URL_DBL_ABUSED_LEGIT", "URL_SURBL_PH", "URL_SURBL_MW", "URL_URIBL_BLACK", "URL_URIBL_GREY", "URL_URIBL_RED", "URL_DBL_LISTED"} {
		require.True(t, pub[sym], sym)
	}
}

func TestNameserverLists(t *testing.T) {
	srv := dnstest.New(t, canaries+`
shop.example.      NS ns1.badhost.example.
shop.example.      NS ns2.badhost.example.
ns1.badhost.example. A 192.0.2.53
ns2.badhost.example. A 192.0.2.54
badhost.example.dbl.spamhaus.org. A 127.0.1.2
53.2.0.192.zen.spamhaus.org. A 127.0.0.2
selfhosted.example. NS ns1.selfhosted.example.
ns1.selfhosted.example. A 198.51.100.7
selfhosted.example.dbl.spamhaus.org. A 127.0.1.2
fine.example.      NS ns1.gooddns.example.
ns1.gooddns.example. A 203.0.113.1
sender.example.    NS ns1.gooddns.example.
`)
	srv.SetFault("slowns.example.", dns.TypeNS, dnstest.Fault{Drop: true})
	c := newChecker(t, resolverFor(t, srv), Options{
		URIBlocklists: []dnsutil.Blocklist{dnsutil.SpamhausDBL()},
		IPBlocklists:  []dnsutil.Blocklist{dnsutil.SpamhausZEN()},
	})
	ctx := context.Background()

	sigs, err := c.Check(ctx, message(t, "x@sender.example", "http://www.shop.example/buy"), nil)
	require.NoError(t, err)
	require.Equal(t, []string{SymNSIPListed, SymNSListed}, symbols(sigs))
	ns := signal(sigs, SymNSListed)
	require.Contains(t, ns.Reason, "ns1.badhost.example, nameserver of shop.example: its domain badhost.example")
	require.Contains(t, ns.Reason, "ns2.badhost.example")
	require.Contains(t, ns.Keys, mailscore.Key{Kind: mailscore.KeyNameserver, Value: "ns1.badhost.example"})
	nsip := signal(sigs, SymNSIPListed)
	require.Contains(t, nsip.Reason, "ns1.badhost.example, nameserver of shop.example: address 192.0.2.53")
	require.NotContains(t, nsip.Reason, "192.0.2.54")
	// The nameservers of the sender's domain are looked up too, and
	// carried for learning.
	rep := signal(sigs, SymNSReputation)
	require.NotNil(t, rep)
	require.Zero(t, rep.Confidence)
	require.Contains(t, rep.Keys, mailscore.Key{Kind: mailscore.KeyNameserver, Value: "ns1.gooddns.example"})

	// A domain hosting its own nameserver is listed once, as a domain.
	sigs, err = c.Check(ctx, message(t, "x@sender.example", "http://selfhosted.example/"), nil)
	require.NoError(t, err)
	require.Equal(t, []string{"URL_DBL_SPAM"}, symbols(sigs))

	// Clean nameservers: nothing.
	sigs, err = c.Check(ctx, message(t, "x@sender.example", "http://fine.example/"), nil)
	require.NoError(t, err)
	require.Empty(t, symbols(sigs))

	// A nameserver lookup that times out is unknown, and the check is
	// incomplete with a temporary error.
	sigs, err = c.Check(ctx, message(t, "x@sender.example", "http://slowns.example/"), nil)
	require.Error(t, err)
	require.True(t, dnsutil.IsTemporary(err), "%v", err)
	require.ErrorIs(t, err, dnsutil.ErrTimeout)
	require.Empty(t, symbols(sigs))
}

func TestBudgets(t *testing.T) {
	var zone strings.Builder
	zone.WriteString(canaries)
	var body strings.Builder
	for i := range 30 {
		fmt.Fprintf(&zone, "d%d.example. NS ns%d.dns.example.\n", i, i)
		fmt.Fprintf(&body, "http://d%d.example/\n", i)
	}
	srv := dnstest.New(t, zone.String())
	c := newChecker(t, resolverFor(t, srv), Options{
		URIBlocklists:  []dnsutil.Blocklist{dnsutil.SpamhausDBL(), dnsutil.URIBL()},
		MaxListQueries: 10,
		MaxNSLookups:   7,
		MaxDomains:     25,
		DNSBL:          dnsutil.DNSBLOptions{SkipHealthChecks: true},
	})
	_, err := c.Check(context.Background(), message(t, "x@sender.example", body.String()), nil)
	require.NoError(t, err)
	dbl, uribl, ns := 0, 0, 0
	for _, q := range srv.Queries() {
		switch {
		case strings.HasSuffix(q.Name, ".dbl.spamhaus.org."):
			dbl++
		case strings.HasSuffix(q.Name, ".multi.uribl.com."):
			uribl++
		case q.Type == dns.TypeNS:
			ns++
		}
	}
	t.Logf("queries: %d DBL, %d URIBL, %d NS for 30 linked domains", dbl, uribl, ns)
	require.Equal(t, 5, dbl, "10 list queries: 5 domains x 2 lists")
	require.Equal(t, 5, uribl)
	require.Equal(t, 7, ns)
}

func TestDNSTimeoutBound(t *testing.T) {
	srv := dnstest.New(t, canaries)
	srv.SetFault("*", 0, dnstest.Fault{Delay: 2 * time.Second})
	r, err := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}, Timeout: 5 * time.Second, Attempts: 1})
	require.NoError(t, err)
	c := newChecker(t, r, Options{URIBlocklists: []dnsutil.Blocklist{dnsutil.SpamhausDBL()}, Timeout: 300 * time.Millisecond,
		DNSBL: dnsutil.DNSBLOptions{SkipHealthChecks: true}})
	start := time.Now()
	sigs, err := c.Check(context.Background(), message(t, "x@sender.example", "http://a.example/ http://b.example/"), nil)
	elapsed := time.Since(start)
	require.Error(t, err)
	require.True(t, dnsutil.IsTemporary(err), "%v", err)
	require.Empty(t, symbols(sigs))
	require.Less(t, elapsed, 1500*time.Millisecond, "the per-message DNS deadline bounds the check")
}

// nsZone serves n domains named prefix0.example... on the given
// nameservers.
func nsZone(b *strings.Builder, prefix string, n int, ns ...string) {
	for i := range n {
		for _, h := range ns {
			fmt.Fprintf(b, "%s%d.example. NS %s.\n", prefix, i, h)
		}
	}
}

// TestNSReputationAcceptance: after feedback on 20 spam messages whose URL
// domains share a nameserver, a message with a brand-new domain on that
// nameserver gets URL_NS_REPUTATION naming the nameserver and the
// evidence.
func TestNSReputationAcceptance(t *testing.T) {
	var z strings.Builder
	nsZone(&z, "spam", 20, "ns1.spamdns.example", "ns2.spamdns.example")
	z.WriteString("brandnew.example. NS ns1.spamdns.example.\nbrandnew.example. NS ns2.spamdns.example.\n")
	z.WriteString("otherspam.example. NS ns7.spamdns.example.\n")
	z.WriteString("sender.example. NS ns.mailhost.example.\n")
	srv := dnstest.New(t, z.String())
	c := newChecker(t, resolverFor(t, srv), Options{})
	engine, err := mailscore.NewEngine(mailscore.EngineOptions{}, c)
	require.NoError(t, err)
	ctx := context.Background()

	fresh := message(t, "x@sender.example", "Buy now: http://www.brandnew.example/deal")
	before := engine.Observe(ctx, fresh)
	rep := signal(before.Signals, SymNSReputation)
	require.NotNil(t, rep)
	require.Zero(t, rep.Confidence, "nothing learned yet: unknown")
	require.Contains(t, rep.Reason, "unknown")

	for i := range 20 {
		m := message(t, fmt.Sprintf("promo%d@sender%d.example", i, i), fmt.Sprintf("Deal: http://spam%d.example/offer", i))
		require.NoError(t, engine.Learn(ctx, m, mailscore.Spam))
	}
	after := engine.Score(ctx, fresh)
	var f *mailscore.Factor
	for i := range after.Factors {
		if after.Factors[i].Symbol == SymNSReputation {
			f = &after.Factors[i]
		}
	}
	require.NotNil(t, f)
	t.Logf("URL_NS_REPUTATION value %.3f confidence %.3f contribution %+.2f: %s", f.Value, f.Confidence, f.Contribution, f.Reason)
	require.Greater(t, f.Value, 0.5)
	require.Greater(t, f.Confidence, 0.7)
	require.Greater(t, f.Contribution, 2.0)
	require.Regexp(t, `nameserver ns[12]\.spamdns\.example`, f.Reason)
	require.Contains(t, f.Reason, "20 spam and 0 ham reports")
	require.Contains(t, f.Reason, "serving brandnew.example, a linked domain")
	// The new domain itself is still unknown.
	for _, fac := range after.Factors {
		if fac.Symbol == SymDomainReputation {
			require.Zero(t, fac.Confidence)
		}
	}
	// A new host of the same nameserver operator inherits the operator's
	// (nameserver domain's) evidence.
	other := engine.Observe(ctx, message(t, "x@sender.example", "http://otherspam.example/"))
	rep = signal(other.Signals, SymNSReputation)
	require.Greater(t, rep.Value*rep.Confidence, 0.5)
	require.Contains(t, rep.Reason, "nameserver ns7.spamdns.example (nameserver domain spamdns.example)")

	// The engine's own verdicts count for little: 20 of them are still
	// too little evidence about a nameserver.
	c2 := newChecker(t, resolverFor(t, srv), Options{})
	e2, err := mailscore.NewEngine(mailscore.EngineOptions{}, c2)
	require.NoError(t, err)
	for i := range 20 {
		m := message(t, "promo@x.example", fmt.Sprintf("http://spam%d.example/offer", i))
		require.NoError(t, e2.LearnFeedback(ctx, m, mailscore.Feedback{Label: mailscore.Spam, Source: mailscore.SourceVerdict}))
	}
	rep = signal(e2.Observe(ctx, fresh).Signals, SymNSReputation)
	require.Zero(t, rep.Confidence)
	est := c2.NameserverReputation("ns1.spamdns.example")
	require.InDelta(t, 2.0, est.Evidence(), 1e-9)
}

// TestNSReputationSharedHost: a big DNS host serving ham and spam alike
// comes out neutral however much evidence it has; a nameserver with two
// reports is unknown; good standing helps only the authenticated sender.
func TestNSReputationSharedHost(t *testing.T) {
	var z strings.Builder
	nsZone(&z, "ham", 60, "ns1.bigdns.example", "ns2.bigdns.example")
	nsZone(&z, "mixspam", 40, "ns1.bigdns.example", "ns2.bigdns.example")
	nsZone(&z, "pure", 20, "ns.snowshoe.example")
	nsZone(&z, "rare", 2, "ns.rare.example")
	nsZone(&z, "bank", 1, "ns.bankdns.example")
	for _, d := range []string{"newbig", "newsnow", "newrare"} {
		ns := map[string]string{"newbig": "ns1.bigdns.example", "newsnow": "ns.snowshoe.example", "newrare": "ns.rare.example"}[d]
		fmt.Fprintf(&z, "%s.example. NS %s.\n", d, ns)
	}
	srv := dnstest.New(t, z.String())
	c := newChecker(t, resolverFor(t, srv), Options{})
	ctx := context.Background()
	learn := func(body string, label mailscore.Label, prior []mailscore.Signal) {
		m := message(t, "x@nowhere.invalid", body)
		sigs, err := c.Check(ctx, m, prior)
		require.NoError(t, err)
		require.NoError(t, c.Learn(ctx, m, mailscore.Feedback{Label: label, Signals: sigs}))
	}
	for i := range 60 {
		learn(fmt.Sprintf("http://ham%d.example/", i), mailscore.Ham, nil)
	}
	for i := range 40 {
		learn(fmt.Sprintf("http://mixspam%d.example/", i), mailscore.Spam, nil)
	}
	for i := range 20 {
		learn(fmt.Sprintf("http://pure%d.example/", i), mailscore.Spam, nil)
	}
	for i := range 2 {
		learn(fmt.Sprintf("http://rare%d.example/", i), mailscore.Spam, nil)
	}
	auth := []mailscore.Signal{{Check: "auth", Symbol: "DKIM_VALID", Keys: []mailscore.Key{{Kind: mailscore.KeyAuthDomain, Value: "bank0.example"}}}}
	for range 30 {
		learn("hello", mailscore.Ham, auth) // authenticated mail from bank0.example, no links
	}

	check := func(body string, prior []mailscore.Signal) *mailscore.Signal {
		sigs, err := c.Check(ctx, message(t, "x@nowhere.invalid", body), prior)
		require.NoError(t, err)
		s := signal(sigs, SymNSReputation)
		require.NotNil(t, s)
		return s
	}
	big := check("http://newbig.example/", nil)
	t.Logf("shared host: value %.3f confidence %.3f (%s)", big.Value, big.Confidence, big.Reason)
	est := c.NameserverReputation("ns1.bigdns.example")
	t.Logf("ns1.bigdns.example: %.0f spam, %.0f ham, rate %.2f, base rate %.2f, value %.3f, confidence %.2f",
		est.Spam, est.Ham, est.Rate, est.BaseRate, est.Value, est.Confidence)
	require.Greater(t, est.Confidence, 0.9, "plenty of evidence")
	require.Less(t, abs(big.Value*big.Confidence*4), 0.5, "but it contributes under half a point either way")

	snow := check("http://newsnow.example/", nil)
	t.Logf("snowshoe host: value %.3f confidence %.3f (%s)", snow.Value, snow.Confidence, snow.Reason)
	require.Greater(t, snow.Value*snow.Confidence, 0.6)

	rare := check("http://newrare.example/", nil)
	require.Zero(t, rare.Confidence, "two reports are too few")
	require.Equal(t, 2.0, c.NameserverReputation("ns.rare.example").Evidence())

	// Ham-ward standing: only for the authenticated sender's nameservers.
	good := check("hello again", auth)
	t.Logf("authenticated sender: value %.3f confidence %.3f (%s)", good.Value, good.Confidence, good.Reason)
	require.Less(t, good.Value, -0.3)
	require.Greater(t, good.Confidence, 0.8)
	require.Contains(t, good.Reason, "the sender's domain")
	linked := check("http://bank0.example/", nil)
	require.Zero(t, linked.Confidence*min(linked.Value, 0), "a link to a reputable domain earns nothing")
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func TestLearnAndPersist(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	c := newChecker(t, nil, Options{Now: clock})
	ctx := context.Background()
	sig := []mailscore.Signal{{Keys: []mailscore.Key{
		{Kind: mailscore.KeyURLDomain, Value: "evil.example"},
		{Kind: mailscore.KeyNameserver, Value: "NS1.Evil-DNS.example."},
		{Kind: mailscore.KeyNameserver, Value: "ns1.evil-dns.example"}, // same, once per message
		{Kind: mailscore.KeyIP, Value: "192.0.2.1"},                    // not ours
		{Kind: mailscore.KeyURLDomain, Value: "bad name!"},             // refused
	}}}
	for range 10 {
		require.NoError(t, c.Learn(ctx, nil, mailscore.Feedback{Label: mailscore.Spam, Signals: sig}))
	}
	require.Error(t, c.Learn(ctx, nil, mailscore.Feedback{Label: mailscore.LabelUnknown, Signals: sig}))
	ns := c.NameserverReputation("ns1.evil-dns.example")
	require.Equal(t, 10.0, ns.Spam)
	require.Equal(t, 10.0, c.DomainReputation("evil.example").Spam)

	// Evidence fades with the half-life (default 90 days).
	now = now.Add(90 * 24 * time.Hour)
	require.InDelta(t, 5.0, c.NameserverReputation("ns1.evil-dns.example").Spam, 1e-9)

	path := filepath.Join(t.TempDir(), "urlcheck.snap")
	require.NoError(t, c.SaveFile(path))
	c2 := newChecker(t, nil, Options{Now: clock})
	require.NoError(t, c2.LoadFile(path))
	require.Equal(t, c.NameserverReputation("ns1.evil-dns.example"), c2.NameserverReputation("ns1.evil-dns.example"))
	require.Equal(t, c.DomainReputation("evil.example"), c2.DomainReputation("evil.example"))

	// A corrupt snapshot is refused whole and changes nothing.
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	raw[len(raw)/2] ^= 0xff
	require.NoError(t, os.WriteFile(path, raw, 0o600))
	require.Error(t, c2.LoadFile(path))
	require.Equal(t, c.DomainReputation("evil.example"), c2.DomainReputation("evil.example"))
	for _, bad := range []string{
		`{"version":2,"tables":{}}`,
		`{"version":1,"tables":{"nope":{}}}`,
		`{"version":1,"tables":{"ns":{"entries":[{"n":"x.example","s":-1,"h":0,"t":0}]}}}`,
		`{"version":1,"tables":{"ns":{"entries":[{"n":"Bad Name","s":1,"h":0,"t":0}]}}}`,
		`{"version":1,"tables":{"ns":{"entries":[{"n":"a.example","s":1,"h":0,"t":0},{"n":"a.example","s":1,"h":0,"t":0}]}}}`,
		`not json`,
	} {
		err := c2.Load(strings.NewReader(bad))
		require.ErrorIs(t, err, ErrState, bad)
	}
	require.Equal(t, c.DomainReputation("evil.example"), c2.DomainReputation("evil.example"))
}

func TestReputationBounded(t *testing.T) {
	c := newChecker(t, nil, Options{Reputation: ReputationOptions{MaxEntries: 50}})
	for i := range 500 {
		sig := []mailscore.Signal{{Keys: []mailscore.Key{{Kind: mailscore.KeyURLDomain, Value: fmt.Sprintf("d%d.example", i)}}}}
		require.NoError(t, c.Learn(context.Background(), nil, mailscore.Feedback{Label: mailscore.Spam, Signals: sig}))
	}
	require.LessOrEqual(t, len(c.rep.tables[tableURL].m), 50)
}

func TestEngineWiring(t *testing.T) {
	c := newChecker(t, nil, Options{})
	e, err := mailscore.NewEngine(mailscore.EngineOptions{}, c)
	require.NoError(t, err)
	require.Equal(t, "urlcheck", c.Name())
	require.Equal(t, []string{"auth"}, c.After())
	for _, sym := range []string{SymNumericHost, SymNSReputation, SymLandingExecutable} {
		require.Contains(t, e.Symbols(), sym)
	}
	require.True(t, e.Symbols()[SymNSReputation].Signed)
	v := e.Score(context.Background(), message(t, "x@sender.example", `http://0x425c45de/ and https://bank.example@evil.example/`))
	dom, ok := v.Dominant()
	require.True(t, ok)
	require.Equal(t, SymUserinfo, dom.Symbol)
	require.Empty(t, v.Incomplete)

	_, err = New(nil, Options{URIBlocklists: []dnsutil.Blocklist{dnsutil.SpamhausZEN()}})
	require.Error(t, err, "an IP list is not a URI list")
	_, err = New(nil, Options{IPBlocklists: []dnsutil.Blocklist{dnsutil.SpamhausDBL()}})
	require.Error(t, err, "a domain list is not an IP list")
}

// TestNameserverURLhaus hosts ten shop domains on nameservers whose domains
// and addresses come from the URLhaus lists (so they are listed in the DBL
// and ZEN zones built from them), and one on a nameserver that times out.
func TestNameserverURLhaus(t *testing.T) {
	zone, listed, listedIPs := listZone(t)
	var doms []string
	for d := range listed {
		if !strings.HasSuffix(d, ".example") {
			doms = append(doms, d)
		}
	}
	slices.Sort(doms)
	var ips []netip.Addr
	for a := range listedIPs {
		ips = append(ips, a)
	}
	slices.SortFunc(ips, netip.Addr.Compare)
	var z strings.Builder
	z.WriteString(zone)
	for i := range 10 {
		fmt.Fprintf(&z, "shop%d.example. NS ns1.%s.\nns1.%s. A %s\n", i, doms[i], doms[i], ips[i])
	}
	z.WriteString("sender.example. NS ns.clean-dns.example.\nns.clean-dns.example. A 203.0.113.53\n")
	srv := dnstest.New(t, z.String())
	srv.SetFault("slowshop.example.", dns.TypeNS, dnstest.Fault{Drop: true})
	c := newChecker(t, resolverFor(t, srv), Options{
		URIBlocklists: []dnsutil.Blocklist{dnsutil.SpamhausDBL()},
		IPBlocklists:  []dnsutil.Blocklist{dnsutil.SpamhausZEN()},
	})
	for i := range 10 {
		sigs, err := c.Check(context.Background(), message(t, "x@sender.example", fmt.Sprintf("http://www.shop%d.example/", i)), nil)
		require.NoError(t, err)
		require.Equal(t, []string{SymNSIPListed, SymNSListed}, symbols(sigs), "shop%d", i)
		require.Contains(t, signal(sigs, SymNSListed).Reason, fmt.Sprintf("ns1.%s, nameserver of shop%d.example: its domain %s (Spamhaus DBL: a malware domain)", doms[i], i, doms[i]))
		require.Contains(t, signal(sigs, SymNSIPListed).Reason, fmt.Sprintf("address %s (Spamhaus SBL", ips[i]))
	}
	sigs, err := c.Check(context.Background(), message(t, "x@sender.example", "http://slowshop.example/"), nil)
	require.Error(t, err)
	require.True(t, dnsutil.IsTemporary(err))
	require.Empty(t, symbols(sigs), "a nameserver lookup that timed out is unknown, never bad")
	t.Logf("10 of 10 shops on URLhaus-listed nameservers flagged (domain and address); the timed-out one unknown: %v", err)
}
