package reputation

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore"
)

// Acceptance: a new IP with 3 ham messages is unknown/neutral, contributes
// 0, and the reason says why.
func TestInsufficientData(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		ips    []string // one report from each
		label  mailscore.Label
		src    mailscore.Source
		per    int
		check  string
		state  State
		reason string
	}{
		{"3 ham from a new IPv4 address", []string{"198.51.100.7"}, mailscore.Ham, mailscore.SourceUser, 3, "198.51.100.7",
			Unknown, "198.51.100.7/32: 3 messages in 30 days (0 spam, 3 ham) - too little evidence to judge (neutral)"},
		{"3 spam from a new IPv4 address", []string{"198.51.100.8"}, mailscore.Spam, mailscore.SourceUser, 3, "198.51.100.8",
			Unknown, "198.51.100.8/32: 3 messages in 30 days (3 spam, 0 ham) - too little evidence to judge (neutral)"},
		{"30 engine verdicts weigh as 3 reports", []string{"198.51.100.9"}, mailscore.Spam, mailscore.SourceVerdict, 30, "198.51.100.9",
			Unknown, "198.51.100.9/32: 3 messages in 30 days (3 spam, 0 ham) - too little evidence to judge (neutral)"},
		{"3 ham from three addresses of one IPv6 /64", []string{"2001:db8:5::1", "2001:db8:5::2", "2001:db8:5::3"}, mailscore.Ham, mailscore.SourceUser, 1, "2001:db8:5::99",
			Unknown, "2001:db8:5::/64: 3 messages in 30 days (0 spam, 3 ham) - too little evidence to judge (neutral)"},
		{"no history at all", nil, mailscore.Ham, mailscore.SourceUser, 0, "192.0.2.200",
			Unknown, "192.0.2.200/32: 0 messages in 30 days (0 spam, 0 ham) - too little evidence to judge (neutral)"},
		{"6 spam is enough", []string{"198.51.100.10"}, mailscore.Spam, mailscore.SourceUser, 6, "198.51.100.10",
			Known, "198.51.100.10/32: reputation -7.5 (bad) from 6 messages in 30 days (6 spam, 0 ham), first seen 0 seconds ago"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			c := newChecker(t, clk, Options{})
			for _, ip := range tt.ips {
				learnN(t, c, ip, nil, tt.label, tt.src, tt.per)
			}
			sigs := checkIP(t, c, tt.check)
			s := signal(t, sigs, SymIPReputation)
			require.Equal(t, tt.reason, s.Reason)
			f := factor(t, verdict(c, sigs), SymIPReputation)
			est, err := c.Estimate(ctx, AddrKey(netip.MustParseAddr(tt.check)))
			require.NoError(t, err)
			if tt.state == Unknown {
				require.Zero(t, s.Value)
				require.Zero(t, s.Confidence)
				require.Zero(t, f.Contribution)
				require.NotEqual(t, Known, est.State)
				return
			}
			require.Equal(t, Known, est.State)
			require.Greater(t, f.Contribution, 0.0)
			t.Logf("%s: value %.3f confidence %.3f contribution %.3f", tt.name, s.Value, s.Confidence, f.Contribution)
		})
	}
}

// Acceptance: 50 tenants (distinct DKIM domains) send through one /24; one
// tenant sends 500 spam reported by users; every other tenant's next
// message keeps |IP-side contribution| below the stated bound
// (W_IP + W_SPIKE) / D, D the senders on the network, while the spamming
// tenant's pair and domain turn clearly bad. With an ESP bounce domain
// that every tenant's mail also authenticates (SPF), the same holds for
// the domain side: that shared domain counts at 1/T, T the domains seen
// with it.
func TestSharedInfrastructure(t *testing.T) {
	for _, bounce := range []string{"", "bounces.esp.example"} {
		name := "DKIM only"
		if bounce != "" {
			name = "DKIM and a shared ESP bounce domain"
		}
		t.Run(name, func(t *testing.T) { sharedInfrastructure(t, bounce) })
	}
}

func sharedInfrastructure(t *testing.T, bounce string) {
	ctx := context.Background()
	clk := newClock()
	c := newChecker(t, clk, Options{})
	pool := make([]netip.Addr, 10)
	for i := range pool {
		pool[i] = netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)})
	}
	tenant := func(i int) string { return fmt.Sprintf("tenant%02d.example", i) }
	domains := func(i int) []string {
		if bounce == "" {
			return []string{tenant(i)}
		}
		return []string{tenant(i), bounce}
	}
	// 30 days of ordinary traffic: every tenant sends 5 messages a day;
	// nobody reports any of it either way.
	for range 30 {
		for i := range 50 {
			for j := range 5 {
				_, err := c.CheckIP(ctx, pool[(i+j)%len(pool)], domains(i)...)
				require.NoError(t, err)
			}
		}
		clk.Advance(day)
	}
	// Tenant 0 sends 500 spam over 5 hours, and users report all of it.
	for j := range 500 {
		ip := pool[j%len(pool)]
		_, err := c.CheckIP(ctx, ip, domains(0)...)
		require.NoError(t, err)
		require.NoError(t, c.LearnIP(ctx, ip, domains(0), mailscore.Spam, mailscore.SourceUser))
		clk.Advance(36 * time.Second)
	}

	ipSide := func(v mailscore.Verdict) float64 {
		sum := 0.0
		for _, f := range v.Factors {
			switch {
			case f.Symbol == SymIPReputation, f.Symbol == SymIPShared, strings.HasPrefix(f.Symbol, "DNSBL_"), strings.HasPrefix(f.Symbol, "DNSWL_"):
				sum += f.Contribution
			case f.Symbol == SymVolumeSpike && keyValue(mailscore.Signal{Keys: f.Keys}, mailscore.KeyPrefix) != "":
				sum += f.Contribution
			}
		}
		return sum
	}

	// Without an authenticated domain the pool's addresses are clearly bad:
	// the bound below is a real discount, not an absence of evidence.
	unauth := verdict(c, checkIP(t, c, pool[3].String()))
	require.Greater(t, ipSide(unauth), 3.0, "unauthenticated mail from the pool carries the pool's full reputation")
	t.Logf("unauthenticated mail from the pool: IP side %.2f", ipSide(unauth))

	domainBound := 0.0
	if bounce != "" {
		est, err := c.Estimate(ctx, DomainKey(bounce))
		require.NoError(t, err)
		require.Equal(t, Known, est.State)
		require.GreaterOrEqual(t, est.Shared, 45.0)
		require.Less(t, est.Score, -9.0, "the shared domain itself carries all the spam")
		domainBound = (DefaultDomainWeight + DefaultTenantWeight) / est.Shared
		t.Logf("%s: score %.1f, shared with %.1f domains: domain-side bound %.3f", bounce, est.Score, est.Shared, domainBound)
	}
	worst, worstDomain := 0.0, 0.0
	for i := 1; i < 50; i++ {
		sigs, err := c.CheckIP(ctx, pool[i%len(pool)], domains(i)...)
		require.NoError(t, err)
		v := verdict(c, sigs)
		shared := signal(t, sigs, SymIPShared)
		share := 1 - shared.Value
		tenants := 1 / share
		require.GreaterOrEqual(t, tenants, 45.0, shared.Reason)
		bound := (DefaultIPWeight + DefaultSpikeWeight) / tenants
		side := ipSide(v)
		require.LessOrEqual(t, math.Abs(side), bound+1e-9, "tenant %d: %+v", i, v.Factors)
		dside := math.Abs(factor(t, v, SymDomainReputation).Contribution) + math.Abs(factor(t, v, SymTenantReputation).Contribution)
		require.LessOrEqual(t, dside, domainBound+1e-9, "tenant %d: %+v", i, v.Factors)
		require.Less(t, v.Score, float64(mailscore.DefaultTagThreshold), "tenant %d is not tagged", i)
		worst = math.Max(worst, math.Abs(side))
		worstDomain = math.Max(worstDomain, dside)
		if i == 1 {
			t.Logf("tenant01: D=%.1f bound %.3f, IP side %.3f, score %.2f", tenants, bound, side, v.Score)
			for _, f := range v.Factors {
				t.Logf("  %-18s %+.3f  %s", f.Symbol, f.Contribution, f.Reason)
			}
		}
	}
	t.Logf("49 other tenants: worst |IP-side contribution| %.4f, worst |domain side| %.4f", worst, worstDomain)

	// The spammer's own pair and domain are clearly bad.
	sigs, err := c.CheckIP(ctx, pool[0], domains(0)...)
	require.NoError(t, err)
	v := verdict(c, sigs)
	for _, sym := range []string{SymTenantReputation, SymDomainReputation} {
		f := factor(t, v, sym)
		require.Greater(t, f.Value, 0.99, sym)
		require.Greater(t, f.Confidence, 0.95, sym)
		require.Contains(t, f.Reason, tenant(0))
		require.Contains(t, f.Reason, "reputation -10.0 (bad) from 499 messages", sym)
	}
	require.Equal(t, tenant(0)+"@192.0.2.0/24", keyValue(signal(t, sigs, SymTenantReputation), KeyIPDomain))
	t.Logf("spammer: score %.2f (%v)", v.Score, v.Action)
	for _, f := range v.Factors {
		t.Logf("  %-18s %+.2f  %s", f.Symbol, f.Contribution, f.Reason)
	}
	require.GreaterOrEqual(t, v.Score, float64(mailscore.DefaultTagThreshold))
}

// Acceptance: after a reset to neutral, good mail moves the score back up
// over time at the rate the half-life implies; and old evidence fades at
// that rate.
func TestRecovery(t *testing.T) {
	ctx := context.Background()
	for _, hl := range []time.Duration{10 * day, 30 * day} {
		t.Run(fmt.Sprint("half-life ", int(hl/day), " days"), func(t *testing.T) {
			clk := newClock()
			c := newChecker(t, clk, Options{HalfLife: hl})
			const ip = "203.0.113.9"
			addr := netip.MustParseAddr(ip)
			learnN(t, c, ip, []string{"shop.example"}, mailscore.Spam, mailscore.SourceUser, 200)
			est, err := c.Estimate(ctx, AddrKey(addr))
			require.NoError(t, err)
			require.Equal(t, Known, est.State)
			require.Less(t, est.Score, -9.8)

			// Unreset, the spam fades: after one half-life it weighs 100.
			clk.Advance(hl)
			est, err = c.Estimate(ctx, AddrKey(addr))
			require.NoError(t, err)
			require.InDelta(t, 100, est.Spam, 0.01)

			// Reset to neutral: all keys of this sender.
			require.NoError(t, c.Reset(ctx, c.KeysFor(addr, "shop.example")...))
			est, err = c.Estimate(ctx, AddrKey(addr))
			require.NoError(t, err)
			require.Equal(t, Unknown, est.State)
			require.Zero(t, est.Evidence())
			s := signal(t, checkIP(t, c, ip, "shop.example"), SymIPReputation)
			require.Zero(t, s.Confidence)

			// Good mail: 20 messages a day, judged ham by the engine's own
			// verdicts (weight 0.1), i.e. 2 effective reports a day.
			const perDay, w = 20, DefaultVerdictWeight
			hd := float64(hl / day)
			// Measured a day after each batch, the effective ham tends to
			// r*q/(1-q) with q = 2^(-1 day/half-life), and after k days has
			// reached 1 - 2^(-k/half-life) of it.
			q := math.Exp2(-1 / hd)
			asymptote := perDay * w * q / (1 - q)
			known := -1
			for k := 1; k <= int(3*hd); k++ {
				learnN(t, c, ip, []string{"shop.example"}, mailscore.Ham, mailscore.SourceVerdict, perDay)
				clk.Advance(day)
				// Expected: reports from i days ago weigh 2^(-i/hd).
				want := 0.0
				for i := 1; i <= k; i++ {
					want += perDay * w * math.Exp2(-float64(i)/hd)
				}
				est, err := c.Estimate(ctx, AddrKey(addr))
				require.NoError(t, err)
				require.InDelta(t, want, est.Ham, want*1e-4+1e-6, "day %d", k)
				require.InDelta(t, 10*want/(want+2), est.Score, 1e-3, "day %d: score = 10n/(n+2)", k)
				if est.State == Known && known < 0 {
					known = k
				}
				switch k {
				case int(hd), int(2 * hd), int(3 * hd):
					t.Logf("day %3d: %.1f effective ham (%.3f of the asymptote %.1f), score %+.2f, confidence %.2f",
						k, est.Ham, est.Ham/asymptote, asymptote, est.Score, est.Confidence)
				}
				require.InDelta(t, 1-math.Exp2(-float64(k)/hd), est.Ham/asymptote, 1e-4, "day %d", k)
				// After one, two, three half-lives: 1/2, 3/4, 7/8 of the way.
				switch k {
				case int(hd):
					require.InDelta(t, 0.5, est.Ham/asymptote, 1e-4)
				case int(2 * hd):
					require.InDelta(t, 0.75, est.Ham/asymptote, 1e-4)
				case int(3 * hd):
					require.InDelta(t, 0.875, est.Ham/asymptote, 1e-4)
				}
			}
			require.Positive(t, known)
			t.Logf("known (enough evidence) again after %d days", known)
			sigs := checkIP(t, c, ip, "shop.example")
			require.Less(t, factor(t, verdict(c, sigs), SymIPReputation).Contribution, 0.0)
		})
	}
}

// Acceptance: spam from 1,000 random addresses in one /64 makes a new
// address in that /64 bad via the /64, and leaves a neighbouring /64 in
// the same /48 less affected, as the back-off rules say.
func TestIPv6BackOff(t *testing.T) {
	clk := newClock()
	c := newChecker(t, clk, Options{})
	rng := rand.New(rand.NewPCG(1, 2))
	base := netip.MustParseAddr("2001:db8:5::").As16()
	for range 1000 {
		a := base
		for i := 8; i < 16; i++ {
			a[i] = byte(rng.Uint32())
		}
		require.NoError(t, c.LearnIP(context.Background(), netip.AddrFrom16(a), nil, mailscore.Spam, mailscore.SourceUser))
	}
	tests := []struct {
		ip, level string
		weight    float64 // of the level that answers
	}{
		{"2001:db8:5::abcd:1234", "2001:db8:5::/64", 1},
		{"2001:db8:5:1::1", "2001:db8:5::/48", 0.5},
		{"2001:db8:6::1", "2001:db8::/32", 0.125},
		{"2001:db9::1", "2001:db9::1/128", 0},
	}
	var same float64
	for _, tt := range tests {
		sigs := checkIP(t, c, tt.ip)
		f := factor(t, verdict(c, sigs), SymIPReputation)
		require.Equal(t, tt.level, keyValue(signal(t, sigs, SymIPReputation), mailscore.KeyPrefix), tt.ip)
		t.Logf("%-22s answered by %-16s contribution %.3f: %s", tt.ip, tt.level, f.Contribution, f.Reason)
		if tt.weight == 0 {
			require.Zero(t, f.Contribution)
			continue
		}
		if tt.weight == 1 {
			same = f.Contribution
			require.Greater(t, same, 3.9, "a new address in the spamming /64 is bad")
			continue
		}
		require.InDelta(t, tt.weight, f.Contribution/same, 0.01, "less affected by the level weight")
		require.Contains(t, f.Reason, "itself has too little history")
	}
}
