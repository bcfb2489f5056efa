package reputation

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

// listZone serves local copies of ZEN, DNSWL and Mailspike with their
// RFC 5782 test entries, so their health checks pass.
const listZone = `
2.0.0.127.zen.example.        60 IN A 127.0.0.2
2.2.0.192.zen.example.        60 IN A 127.0.0.2
3.2.0.192.zen.example.        60 IN A 127.0.0.3
4.2.0.192.zen.example.        60 IN A 127.0.0.4
4.2.0.192.zen.example.        60 IN A 127.0.0.10
5.2.0.192.zen.example.        60 IN A 127.0.0.5
9.2.0.192.zen.example.        60 IN A 127.0.0.9
11.2.0.192.zen.example.       60 IN A 127.0.0.11
30.2.0.192.zen.example.       60 IN A 127.0.0.30
77.2.0.192.zen.example.       60 IN A 127.0.0.77
254.2.0.192.zen.example.      60 IN A 127.255.255.254
252.2.0.192.zen.example.      60 IN A 127.255.255.252
255.2.0.192.zen.example.      60 IN A 127.255.255.255
2.0.0.127.dnswl.example.      60 IN A 127.0.10.0
50.2.0.192.dnswl.example.     60 IN A 127.0.15.3
51.2.0.192.dnswl.example.     60 IN A 127.0.15.1
60.2.0.192.mailspike.example. 60 IN A 127.0.0.10
61.2.0.192.mailspike.example. 60 IN A 127.0.0.15
62.2.0.192.mailspike.example. 60 IN A 127.0.0.20
`

func listChecker(t *testing.T, srv *dnstest.Server) *Checker {
	t.Helper()
	r, err := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}, Timeout: 300 * time.Millisecond, Attempts: 1})
	require.NoError(t, err)
	zen, wl, ms := dnsutil.SpamhausZEN(), dnsutil.DNSWL(), dnsutil.Mailspike()
	zen.Zone, wl.Zone, ms.Zone = "zen.example", "dnswl.example", "mailspike.example" // local copies
	return newChecker(t, newClock(), Options{Resolver: r, Lists: []DNSList{{List: zen}, {List: wl}, {List: ms}}})
}

// Acceptance: ZEN codes map to the right meanings; 127.255.255.x is an
// error; a DNS timeout leaves the signal unknown.
func TestBlocklists(t *testing.T) {
	srv := dnstest.New(t, listZone)
	srv.SetFault("99.2.0.192.zen.example.", dns.TypeA, dnstest.Fault{Drop: true})
	c := listChecker(t, srv)
	tests := []struct {
		ip      string
		symbols map[string]float64 // symbol -> contribution
		meaning []string
		err     error // nil, dnsutil.ErrListAnswer or dnsutil.ErrTimeout
		temp    bool
	}{
		{"192.0.2.2", map[string]float64{"DNSBL_SPAMHAUS_SBL": 4}, []string{"Spamhaus SBL: a known spam source"}, nil, false},
		{"192.0.2.3", map[string]float64{"DNSBL_SPAMHAUS_CSS": 3.2}, []string{"Spamhaus CSS: snowshoe spam"}, nil, false},
		{"192.0.2.4", map[string]float64{"DNSBL_SPAMHAUS_XBL": 4, "DNSBL_SPAMHAUS_PBL": 2.4}, []string{"Spamhaus XBL: an exploited", "Spamhaus PBL: an address range"}, nil, false},
		{"192.0.2.5", map[string]float64{"DNSBL_SPAMHAUS_XBL": 4}, []string{"Spamhaus XBL"}, nil, false},
		{"192.0.2.9", map[string]float64{"DNSBL_SPAMHAUS_DROP": 4}, []string{"Spamhaus DROP: a hijacked or criminal network"}, nil, false},
		{"192.0.2.11", map[string]float64{"DNSBL_SPAMHAUS_PBL": 2.4}, []string{"Spamhaus PBL"}, nil, false},
		{"192.0.2.30", map[string]float64{"DNSBL_SPAMHAUS_BCL": 4}, []string{"Spamhaus BCL: a botnet controller"}, nil, false},
		{"192.0.2.77", map[string]float64{"DNSBL_SPAMHAUS_LISTED": 2}, []string{"undocumented code"}, nil, false},
		{"192.0.2.254", map[string]float64{"DNSBL_SPAMHAUS": 0}, []string{"public or open resolver refused", "unknown, not held against the sender"}, dnsutil.ErrListAnswer, false},
		{"192.0.2.252", map[string]float64{"DNSBL_SPAMHAUS": 0}, []string{"typing error"}, dnsutil.ErrListAnswer, false},
		{"192.0.2.255", map[string]float64{"DNSBL_SPAMHAUS": 0}, []string{"excessive number of queries"}, dnsutil.ErrListAnswer, false},
		{"192.0.2.99", map[string]float64{"DNSBL_SPAMHAUS": 0}, []string{"gave no usable answer for 192.0.2.99 - unknown"}, dnsutil.ErrTimeout, true},
		{"192.0.2.50", map[string]float64{"DNSWL_HI": -3}, []string{"DNSWL: a legitimate sender (trust high)"}, nil, false},
		{"192.0.2.51", map[string]float64{"DNSWL_LOW": -0.9}, []string{"trust low"}, nil, false},
		{"192.0.2.60", map[string]float64{"DNSBL_MAILSPIKE_L5": 4}, []string{"Mailspike L5: worst reputation"}, nil, false},
		{"192.0.2.61", map[string]float64{"DNSBL_MAILSPIKE_H0": 0}, []string{"Mailspike H0: neutral - neutral, carries no weight"}, nil, false},
		{"192.0.2.62", map[string]float64{"DNSWL_MAILSPIKE_H5": -2.4}, []string{"Mailspike H5: excellent reputation"}, nil, false},
		{"192.0.2.7", map[string]float64{}, nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			sigs, err := c.CheckIP(context.Background(), netip.MustParseAddr(tt.ip))
			if tt.err == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tt.err)
				require.Equal(t, tt.temp, dnsutil.IsTemporary(err))
			}
			v := verdict(c, sigs)
			got := map[string]float64{}
			var reasons []string
			for _, f := range v.Factors {
				if strings.HasPrefix(f.Symbol, "DNSBL_") || strings.HasPrefix(f.Symbol, "DNSWL") {
					got[f.Symbol] = f.Contribution
					reasons = append(reasons, f.Reason)
					if tt.err != nil {
						require.Zero(t, f.Confidence, "an error is unknown, never a listing")
					}
				}
			}
			require.Len(t, got, len(tt.symbols))
			for sym, want := range tt.symbols {
				require.Contains(t, got, sym)
				require.InDelta(t, want, got[sym], 1e-9, sym)
			}
			for _, m := range tt.meaning {
				require.Contains(t, strings.Join(reasons, "\n"), m)
			}
			t.Logf("%s: %v %q", tt.ip, got, reasons)
		})
	}
	// Every symbol seen is published.
	published := map[string]bool{}
	for _, s := range c.Symbols() {
		published[s.Name] = true
	}
	for _, tt := range tests {
		for sym := range tt.symbols {
			require.True(t, published[sym], sym)
		}
	}
}

// A timeout makes the engine record the check as incomplete, and the
// verdict says so; the unknown signal contributes nothing.
func TestBlocklistTimeoutMarksIncomplete(t *testing.T) {
	srv := dnstest.New(t, listZone)
	srv.SetFault("99.2.0.192.zen.example.", dns.TypeA, dnstest.Fault{Drop: true})
	c := listChecker(t, srv)
	e, err := mailscore.NewEngine(mailscore.EngineOptions{}, c)
	require.NoError(t, err)
	msg, err := mailscore.NewMessage(mailscore.Envelope{ClientIP: netip.MustParseAddr("192.0.2.99")}, []byte("Subject: x\r\n\r\nhi\r\n"), mailscore.Limits{})
	require.NoError(t, err)
	v := e.Score(context.Background(), msg)
	require.Len(t, v.Incomplete, 1)
	require.Equal(t, Name, v.Incomplete[0].Check)
	require.True(t, dnsutil.IsTemporary(v.Incomplete[0].Err))
	require.Zero(t, v.Score)
	require.Equal(t, mailscore.ActionAccept, v.Action)
}

func TestListConfiguration(t *testing.T) {
	lists, err := PresetLists("zen", " SpamCop", "barracuda", "mailspike", "dnswl", "")
	require.NoError(t, err)
	require.Len(t, lists, 5)
	_, err = PresetLists("zen", "nosuchlist")
	require.ErrorContains(t, err, "nosuchlist")

	srv := dnstest.New(t, "")
	r, err := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}})
	require.NoError(t, err)
	c, err := New(Options{Resolver: r, Lists: lists})
	require.NoError(t, err)
	names := map[string]bool{}
	for _, s := range c.Symbols() {
		require.False(t, names[s.Name], "symbol %s published twice", s.Name)
		names[s.Name] = true
		switch {
		case strings.HasPrefix(s.Name, "DNSWL"):
			require.LessOrEqual(t, s.Weight, 0.0, s.Name)
		case strings.HasPrefix(s.Name, "DNSBL"):
			require.Greater(t, s.Weight, 0.0, s.Name)
		}
	}
	for _, want := range []string{"DNSBL_SPAMHAUS", "DNSBL_SPAMHAUS_SBL", "DNSBL_SPAMCOP_LISTED", "DNSBL_BARRACUDA_LISTED",
		"DNSBL_MAILSPIKE_L5", "DNSBL_MAILSPIKE_H0", "DNSWL_MAILSPIKE_H5", "DNSWL", "DNSWL_HI", "DNSWL_NONE"} {
		require.True(t, names[want], want)
	}

	_, err = New(Options{Lists: lists})
	require.ErrorContains(t, err, "Resolver")
	_, err = New(Options{Resolver: r, Lists: []DNSList{{List: dnsutil.SpamhausZEN()}, {List: dnsutil.SpamhausZEN()}}})
	require.Error(t, err)
	dbl := dnsutil.SpamhausDBL()
	_, err = New(Options{Resolver: r, Lists: []DNSList{{List: dbl}}})
	require.ErrorContains(t, err, "not an IP list")
	// Two lists whose first word is the same need tags.
	zen2 := dnsutil.SpamhausZEN()
	zen2.Name, zen2.Zone = "Spamhaus mirror", "zen.mirror.example"
	_, err = New(Options{Resolver: r, Lists: []DNSList{{List: dnsutil.SpamhausZEN()}, {List: zen2}}})
	require.ErrorContains(t, err, "Tag")
	_, err = New(Options{Resolver: r, Lists: []DNSList{{List: dnsutil.SpamhausZEN()}, {List: zen2, Tag: "mirror"}}})
	require.NoError(t, err)
}
