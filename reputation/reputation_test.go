package reputation

import (
	"context"
	"errors"
	"math"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore"
)

func TestSipHashVectors(t *testing.T) {
	// Reference vectors of SipHash-2-4 (Aumasson and Bernstein): key
	// 00 01 .. 0f, message 00 01 .. (n-1).
	k0, k1 := uint64(0x0706050403020100), uint64(0x0f0e0d0c0b0a0908)
	msg := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i)
		}
		return string(b)
	}
	for n, want := range map[int]uint64{
		0:  0x726fdb47dd0e0e31,
		1:  0x74f839c593dc67fd,
		8:  0x93f5f5799a932462,
		15: 0xa129ca6149be45e5,
	} {
		require.Equal(t, want, sipHash24(k0, k1, msg(n)), "length %d", n)
	}
}

func TestKeys(t *testing.T) {
	tests := []struct {
		key  Key
		str  string
		err  bool
		name string
	}{
		{AddrKey(netip.MustParseAddr("::ffff:192.0.2.1")), "192.0.2.1/32", false, "mapped address"},
		{IPKey(netip.MustParsePrefix("192.0.2.77/24")), "192.0.2.0/24", false, "masked"},
		{IPKey(netip.MustParsePrefix("::ffff:192.0.2.77/120")), "192.0.2.0/24", false, "mapped prefix"},
		{AddrKey(netip.MustParseAddr("2001:db8::1")), "2001:db8::1/128", false, "IPv6"},
		{DomainKey("Mail.Example.COM."), "mail.example.com", false, "case and dot"},
		{PairKey(netip.MustParsePrefix("192.0.2.9/24"), "Tenant.Example"), "tenant.example@192.0.2.0/24", false, "pair"},
		{DomainKey(""), "", true, "empty domain"},
		{DomainKey("a..b"), "a..b", true, "empty label"},
		{DomainKey("a b.example"), "a b.example", true, "space"},
		{DomainKey(strings.Repeat("a", 254)), strings.Repeat("a", 254), true, "too long"},
		{Key{Kind: KindIP, Prefix: netip.MustParsePrefix("192.0.2.1/24")}, "192.0.2.1/24", true, "unmasked"},
		{Key{Kind: KindIP}, "invalid Prefix", true, "no prefix"},
		{Key{Kind: KindIP, Prefix: netip.MustParsePrefix("192.0.2.0/24"), Domain: "x.example"}, "192.0.2.0/24", true, "IP with domain"},
		{Key{Kind: KindDomain, Prefix: netip.MustParsePrefix("192.0.2.0/24"), Domain: "x.example"}, "x.example", true, "domain with prefix"},
		{Key{Kind: 9}, "kind(9):invalid Prefix:", true, "kind"},
		{PairKey(netip.MustParsePrefix("2001:db8::/64"), "x.example"), "x.example@2001:db8::/64", true, "pair longer than /48"},
		{CoDomainKey("b.example", "A.example"), "a.example+b.example", false, "co-domain"},
		{Key{Kind: KindCoDomain, Domain: "b.example a.example"}, "b.example+a.example", true, "co-domain out of order"},
	}
	store := NewMemStore(MemStoreOptions{})
	for _, tt := range tests {
		require.Equal(t, tt.str, tt.key.String(), tt.name)
		err := tt.key.Validate()
		if tt.err {
			require.ErrorIs(t, err, ErrInvalidKey, tt.name)
			require.ErrorIs(t, store.Get(context.Background(), time.Now(), Decay{}, []Key{tt.key}, make([]Evidence, 1)), ErrInvalidKey, tt.name)
		} else {
			require.NoError(t, err, tt.name)
			require.Equal(t, tt.str, string(tt.key.appendTo(nil)))
		}
	}
}

func TestKeysDoNotCollide(t *testing.T) {
	// The same bits as different kinds, families and lengths are
	// different keys.
	ctx := context.Background()
	store := NewMemStore(MemStoreOptions{})
	keys := []Key{
		IPKey(netip.MustParsePrefix("192.0.2.0/24")),
		IPKey(netip.MustParsePrefix("192.0.2.0/25")),
		IPKey(netip.MustParsePrefix("c000:200::/24")),
		IPKey(netip.MustParsePrefix("::/0")),
		IPKey(netip.MustParsePrefix("0.0.0.0/0")),
		AddrKey(netip.MustParseAddr("::")),
		DomainKey("example.com"),
		PairKey(netip.MustParsePrefix("192.0.2.0/24"), "example.com"),
		PairKey(netip.MustParsePrefix("192.0.2.0/24"), "example.net"),
		PairKey(netip.MustParsePrefix("2001:db8:1::/48"), "example.net"),
		PairKey(netip.MustParsePrefix("2001:db8:2::/48"), "example.net"),
		AddrKey(netip.MustParseAddr("2001:db8:1::1")),
		AddrKey(netip.MustParseAddr("2001:db8:1::2")),
		IPKey(netip.MustParsePrefix("2001:db8:1::/64")),
		IPKey(netip.MustParsePrefix("2001:db8:1::/65")),
		CoDomainKey("example.net", "example.com"),
		CoDomainKey("example.org", "example.com"),
	}
	now := time.Unix(1e9, 0)
	for i, k := range keys {
		require.NoError(t, store.Update(ctx, now, Decay{}, []Update{{Key: k, Delta: Evidence{SpamUser: float32(i + 1)}}}, nil))
	}
	got := make([]Evidence, len(keys))
	require.NoError(t, store.Get(ctx, now, Decay{}, keys, got))
	for i := range keys {
		require.Equal(t, float32(i+1), got[i].SpamUser, keys[i].String())
	}
	require.Equal(t, len(keys), store.Len())
	// Every key compacts to a canonical form that a snapshot accepts.
	st := store.state.Load()
	for _, k := range keys {
		mk, err := st.compact(k)
		require.NoError(t, err)
		require.True(t, mk.canonical(), k.String())
	}
	require.NoError(t, store.Delete(ctx, keys[:2]))
	require.Equal(t, len(keys)-2, store.Len())
}

func TestEvidenceDecay(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	d := Decay{HalfLife: 10 * day, VolumeHalfLife: time.Hour}
	e := Evidence{}.Apply(t0, d, Evidence{SpamUser: 8, HamVerdict: 4, Seen: 2, Recent: 16, Tenants: 1})
	require.Equal(t, uint32(t0.Unix()), e.First)
	later := e.At(t0.Add(10*day), d)
	require.InDelta(t, 4, later.SpamUser, 1e-5)
	require.InDelta(t, 2, later.HamVerdict, 1e-5)
	require.InDelta(t, 1, later.Seen, 1e-5)
	require.InDelta(t, 0.5, later.Tenants, 1e-5)
	require.InDelta(t, 16*math.Exp2(-240), later.Recent, 1e-30)
	require.Equal(t, e.First, later.First)
	require.Equal(t, e.At(t0.Add(-day), d), e, "evidence from the future is not grown")
	// Apply decays, then adds.
	e2 := e.Apply(t0.Add(20*day), d, Evidence{SpamUser: 1})
	require.InDelta(t, 3, e2.SpamUser, 1e-5)
	require.Equal(t, t0, e2.FirstSeen())
	require.Equal(t, t0.Add(20*day), e2.LastSeen())
	require.True(t, Evidence{}.FirstSeen().IsZero())
}

func TestEstimator(t *testing.T) {
	c := newChecker(t, newClock(), Options{})
	tests := []struct {
		ev    Evidence
		known bool
		score float64
	}{
		{Evidence{}, false, 0},
		{Evidence{HamUser: 3}, false, 6},
		{Evidence{SpamUser: 5}, true, -10 * 5 / 7.0},
		{Evidence{SpamUser: 100}, true, -10 * 100 / 102.0},
		{Evidence{SpamTrap: 50}, true, -10 * 100 / 102.0}, // a trap hit counts twice
		{Evidence{HamVerdict: 1000}, true, 10 * 100 / 102.0},
		{Evidence{SpamUser: 500, HamUser: 500}, true, 0},
	}
	for _, tt := range tests {
		r := c.m.estimate(&tt.ev)
		require.Equal(t, tt.known, r.known, "%+v", tt.ev)
		require.InDelta(t, tt.score, r.score, 1e-9, "%+v", tt.ev)
		if r.known {
			// Known means the 95% interval is within +/-0.25 of p.
			require.LessOrEqual(t, z95*r.sd, DefaultMaxHalfWidth+1e-12)
			require.InDelta(t, 1-z95*r.sd/DefaultMaxHalfWidth, r.confidence, 1e-9)
		} else {
			require.Greater(t, z95*r.sd, DefaultMaxHalfWidth)
			require.Zero(t, r.confidence)
		}
	}
	// Confidence grows with evidence.
	prev := 0.0
	for _, n := range []float32{6, 10, 30, 100, 1000} {
		r := c.m.estimate(&Evidence{SpamUser: n})
		require.Greater(t, r.confidence, prev)
		prev = r.confidence
	}
	// Options change the estimator.
	_, err := New(Options{MaxHalfWidth: 0.7})
	require.Error(t, err)
	strict := newChecker(t, newClock(), Options{MaxHalfWidth: 0.05, PriorStrength: 10})
	require.False(t, strict.m.estimate(&Evidence{SpamUser: 30}).known)
	require.True(t, c.m.estimate(&Evidence{SpamUser: 30}).known)
	noVerdict := newChecker(t, newClock(), Options{VerdictWeight: -1})
	require.Zero(t, noVerdict.m.estimate(&Evidence{SpamVerdict: 1000}).spam)
}

// authCheck stands in for the auth package: it reports the domains that
// authenticated as keys, as SIGNALS.md says.
type authCheck struct{ domains, orgs []string }

func (a authCheck) Name() string { return "auth" }
func (a authCheck) Check(context.Context, *mailscore.Message, []mailscore.Signal) ([]mailscore.Signal, error) {
	var sigs []mailscore.Signal
	for i, d := range a.domains {
		keys := []mailscore.Key{{Kind: mailscore.KeyAuthDomain, Value: d}}
		if i < len(a.orgs) {
			keys = append(keys, mailscore.Key{Kind: mailscore.KeyOrgDomain, Value: a.orgs[i]})
		}
		sigs = append(sigs, mailscore.Signal{Symbol: "DKIM_PASS", Value: 1, Confidence: 1, Reason: "signature verified", Keys: keys})
	}
	sigs = append(sigs, mailscore.Signal{Symbol: "DMARC_PASS", Value: 1, Confidence: 1, Keys: []mailscore.Key{{Kind: mailscore.KeyDomain, Value: "from.example"}}})
	return sigs, nil
}

func testMsg(t testing.TB, ip string) *mailscore.Message {
	t.Helper()
	env := mailscore.Envelope{}
	if ip != "" {
		env.ClientIP = netip.MustParseAddr(ip)
	}
	m, err := mailscore.NewMessage(env, []byte("From: a@from.example\r\nSubject: hi\r\n\r\nhello\r\n"), mailscore.Limits{})
	require.NoError(t, err)
	return m
}

func TestEngineWiring(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	c := newChecker(t, clk, Options{})
	// The auth check gives the org domain of news.shop.example; the org of
	// bounce.esp.example comes from the public suffix list.
	auth := authCheck{domains: []string{"News.Shop.Example", "bounce.esp.example"}, orgs: []string{"shop.example"}}
	e, err := mailscore.NewEngine(mailscore.EngineOptions{}, auth, c)
	require.NoError(t, err)
	msg := testMsg(t, "192.0.2.44")
	for range 20 {
		require.NoError(t, e.Learn(ctx, msg, mailscore.Spam))
	}
	wantKeys := []string{"192.0.2.44/32", "192.0.2.0/24", "news.shop.example", "shop.example", "news.shop.example@192.0.2.0/24",
		"bounce.esp.example", "esp.example", "bounce.esp.example@192.0.2.0/24"}
	var got []string
	for _, k := range c.KeysFor(msg.Envelope.ClientIP, "news.shop.example", "bounce.esp.example") {
		got = append(got, k.String())
		est, err := c.Estimate(ctx, k)
		require.NoError(t, err)
		require.InDelta(t, 20, est.Spam, 1e-6, k.String())
		require.Equal(t, Known, est.State)
	}
	require.ElementsMatch(t, wantKeys, got)

	v := e.Score(ctx, msg)
	require.Empty(t, v.Incomplete)
	for _, sym := range []string{SymIPReputation, SymDomainReputation, SymTenantReputation} {
		f := factor(t, v, sym)
		require.Greater(t, f.Contribution, 2.0, sym)
		require.Equal(t, Name, f.Check)
	}
	d := factor(t, v, SymDomainReputation)
	require.Contains(t, d.Reason, "(2 domains authenticated; the most decisive shown)")
	require.Equal(t, "", keyValue(mailscore.Signal{Keys: d.Keys}, "nonexistent"))

	// A new subdomain of a bad organizational domain answers through it.
	auth2 := authCheck{domains: []string{"promo.shop.example"}, orgs: []string{"shop.example"}}
	e2, err := mailscore.NewEngine(mailscore.EngineOptions{}, auth2, c)
	require.NoError(t, err)
	v2 := e2.Score(ctx, testMsg(t, "198.51.100.1"))
	d2 := factor(t, v2, SymDomainReputation)
	require.Greater(t, d2.Contribution, 2.0)
	require.Contains(t, d2.Reason, "shop.example: reputation -9.1 (bad)")
	require.Contains(t, d2.Reason, "promo.shop.example itself has too little history, so its organizational domain answers")
	require.Equal(t, "shop.example", keyValue(mailscore.Signal{Keys: d2.Keys}, mailscore.KeyOrgDomain))
	require.Zero(t, factor(t, v2, SymIPReputation).Contribution)

	// Without an auth check, reputation runs on the address alone.
	e3, err := mailscore.NewEngine(mailscore.EngineOptions{}, c)
	require.NoError(t, err)
	v3 := e3.Score(ctx, msg)
	require.Empty(t, v3.Incomplete)
	require.Greater(t, factor(t, v3, SymIPReputation).Contribution, 2.0)
	for _, f := range v3.Factors {
		require.NotEqual(t, SymDomainReputation, f.Symbol)
	}

	// Learn without a message finds the address in the signals.
	sigs, err := c.CheckIP(ctx, netip.MustParseAddr("203.0.113.5"))
	require.NoError(t, err)
	require.NoError(t, c.Learn(ctx, nil, mailscore.Feedback{Label: mailscore.Ham, Signals: sigs}))
	est, err := c.Estimate(ctx, AddrKey(netip.MustParseAddr("203.0.113.5")))
	require.NoError(t, err)
	require.InDelta(t, 1, est.Ham, 1e-6)
}

func TestLearnRefusesBadFeedback(t *testing.T) {
	c := newChecker(t, newClock(), Options{})
	ctx := context.Background()
	msg := testMsg(t, "192.0.2.1")
	require.ErrorContains(t, c.Learn(ctx, msg, mailscore.Feedback{Label: mailscore.Ham, Source: mailscore.SourceTrap}), "trap cannot report ham")
	require.ErrorContains(t, c.Learn(ctx, msg, mailscore.Feedback{Label: mailscore.LabelUnknown}), "spam or ham")
	require.ErrorContains(t, c.Learn(ctx, msg, mailscore.Feedback{Label: mailscore.Spam, Source: 7}), "source")
	// Nothing to learn on is not an error.
	require.NoError(t, c.Learn(ctx, testMsg(t, ""), mailscore.Feedback{Label: mailscore.Spam}))
	require.Zero(t, c.Store().(*MemStore).Len())
}

func TestNoClientIP(t *testing.T) {
	c := newChecker(t, newClock(), Options{})
	sigs, err := c.Check(context.Background(), testMsg(t, ""), nil)
	require.ErrorIs(t, err, ErrNoClientIP)
	s := signal(t, sigs, SymIPReputation)
	require.Zero(t, s.Confidence)
	require.Contains(t, s.Reason, "client IP address unknown")
	_, err = c.Check(context.Background(), nil, nil)
	require.Error(t, err)
}

// failingStore fails every call.
type failingStore struct{ err error }

func (f failingStore) Get(context.Context, time.Time, Decay, []Key, []Evidence) error { return f.err }
func (f failingStore) Update(context.Context, time.Time, Decay, []Update, []Evidence) error {
	return f.err
}
func (f failingStore) Delete(context.Context, []Key) error { return f.err }

func TestStoreFailureIsUnknown(t *testing.T) {
	boom := errors.New("connection refused")
	for _, ro := range []bool{false, true} {
		c := newChecker(t, newClock(), Options{Store: failingStore{boom}, ReadOnly: ro})
		sigs, err := c.CheckIP(context.Background(), netip.MustParseAddr("192.0.2.1"), "shop.example")
		require.ErrorIs(t, err, boom)
		require.Len(t, sigs, 3)
		for _, s := range sigs {
			require.Zero(t, s.Confidence, s.Symbol)
			require.Contains(t, s.Reason, "reputation store failed - unknown (neutral), not held against the sender")
		}
		require.Zero(t, verdict(c, sigs).Score)
		_, err = c.Estimate(context.Background(), DomainKey("shop.example"))
		require.ErrorIs(t, err, boom)
		require.ErrorIs(t, c.LearnIP(context.Background(), netip.MustParseAddr("192.0.2.1"), nil, mailscore.Spam, mailscore.SourceUser), boom)
		require.ErrorIs(t, c.Reset(context.Background(), DomainKey("shop.example")), boom)
	}
}

func TestVolumeSpike(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	c := newChecker(t, clk, Options{})
	ip := netip.MustParseAddr("192.0.2.80")
	// Ten days at 24 messages a day, evenly.
	for range 240 {
		_, err := c.CheckIP(ctx, ip, "steady.example")
		require.NoError(t, err)
		clk.Advance(time.Hour)
	}
	sigs := checkIP(t, c, ip.String(), "steady.example")
	require.False(t, hasSymbol(sigs, SymVolumeSpike), "steady volume is no spike")
	// Then 300 messages in half an hour.
	var last []mailscore.Signal
	for range 300 {
		last = checkIP(t, c, ip.String(), "steady.example")
		clk.Advance(6 * time.Second)
	}
	s := signal(t, last, SymVolumeSpike)
	t.Logf("value %.2f confidence %.2f: %s", s.Value, s.Confidence, s.Reason)
	require.Greater(t, s.Value, 0.5)
	require.Greater(t, s.Confidence, 0.8)
	require.Contains(t, s.Reason, "a sudden rise, reported apart from reputation")
	// Reputation is untouched by volume: still no evidence.
	require.Zero(t, signal(t, last, SymIPReputation).Confidence)

	// A sender first seen today has no baseline, hence no spike.
	fresh := netip.MustParseAddr("192.0.2.81")
	for range 300 {
		last = checkIP(t, c, fresh.String())
		clk.Advance(6 * time.Second)
	}
	require.False(t, hasSymbol(last, SymVolumeSpike))

	// A read-only checker counts nothing.
	ro := newChecker(t, clk, Options{Store: c.Store(), ReadOnly: true})
	before, err := c.Estimate(ctx, AddrKey(fresh))
	require.NoError(t, err)
	for range 10 {
		checkIP(t, ro, fresh.String())
	}
	after, err := c.Estimate(ctx, AddrKey(fresh))
	require.NoError(t, err)
	require.Equal(t, before.Seen, after.Seen)
}

// Acceptance: go test -race with parallel Learn and Check (and Save,
// Reset and eviction in a small store).
func TestConcurrentLearnAndCheck(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	store := NewMemStore(MemStoreOptions{MaxKeys: 500, Shards: 8})
	c := newChecker(t, clk, Options{Store: store})
	e, err := mailscore.NewEngine(mailscore.EngineOptions{}, authCheck{domains: []string{"shared.example"}}, c)
	require.NoError(t, err)
	const workers, ops = 4, 400
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range ops {
				ip := netip.AddrFrom4([4]byte{198, 18, byte(w), byte(i % 64)})
				if _, err := c.CheckIP(ctx, ip, "shared.example", "w.example"); err != nil {
					t.Error(err)
					return
				}
				label := mailscore.Spam
				if i%3 == 0 {
					label = mailscore.Ham
				}
				if err := c.LearnIP(ctx, ip, []string{"shared.example"}, label, mailscore.SourceUser); err != nil {
					t.Error(err)
					return
				}
				if i%50 == 0 {
					clk.Advance(time.Hour)
					if err := e.Learn(ctx, testMsg(t, ip.String()), label); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			var b strings.Builder
			if err := store.Save(&b); err != nil {
				t.Error(err)
				return
			}
			_ = c.Reset(ctx, DomainKey("w.example"))
		}
	})
	wg.Wait()
	require.LessOrEqual(t, store.Len(), 504) // 8 shards of 63
	est, err := c.Estimate(ctx, DomainKey("shared.example"))
	require.NoError(t, err)
	require.Equal(t, Known, est.State)
	require.Greater(t, est.Evidence(), 1000.0)
}

// Loading a snapshot while checks and reports run swaps the whole state at
// once: no race, no error, no torn state.
func TestConcurrentLoad(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	store := NewMemStore(MemStoreOptions{MaxKeys: 2000, Shards: 4})
	c := newChecker(t, clk, Options{Store: store})
	populate(t, c, clk, 100)
	var snap strings.Builder
	require.NoError(t, store.Save(&snap))
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for i := range 300 {
				ip := netip.AddrFrom4([4]byte{198, 19, byte(w), byte(i)})
				if _, err := c.CheckIP(ctx, ip, "a.example", "b.example"); err != nil {
					t.Error(err)
					return
				}
				if err := c.LearnIP(ctx, ip, []string{"a.example"}, mailscore.Spam, mailscore.SourceTrap); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 30 {
			if err := store.Load(strings.NewReader(snap.String())); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	require.LessOrEqual(t, store.Len(), 2000)
	_, err := c.Estimate(ctx, DomainKey("a.example"))
	require.NoError(t, err)
}
