package reputation

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore"
)

// fakeClock is an injectable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
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

const day = 24 * time.Hour

func newChecker(t testing.TB, clk *fakeClock, opts Options) *Checker {
	t.Helper()
	opts.Now = clk.Now
	c, err := New(opts)
	require.NoError(t, err)
	return c
}

// verdict scores signals with the default scorer and the checker's
// published weights.
func verdict(c *Checker, sigs []mailscore.Signal) mailscore.Verdict {
	syms := map[string]mailscore.Symbol{}
	for _, s := range c.Symbols() {
		syms[s.Name] = s
	}
	var sc mailscore.WeightedScorer
	return sc.Score(&mailscore.Observation{Signals: sigs, Symbols: syms})
}

// factor returns the factor of a symbol in a verdict.
func factor(t testing.TB, v mailscore.Verdict, symbol string) mailscore.Factor {
	t.Helper()
	for _, f := range v.Factors {
		if f.Symbol == symbol {
			return f
		}
	}
	t.Fatalf("no %s among %+v", symbol, v.Factors)
	return mailscore.Factor{}
}

func hasSymbol(sigs []mailscore.Signal, symbol string) bool {
	for _, s := range sigs {
		if s.Symbol == symbol {
			return true
		}
	}
	return false
}

func signal(t testing.TB, sigs []mailscore.Signal, symbol string) mailscore.Signal {
	t.Helper()
	for _, s := range sigs {
		if s.Symbol == symbol {
			return s
		}
	}
	t.Fatalf("no %s among %+v", symbol, sigs)
	return mailscore.Signal{}
}

func keyValue(s mailscore.Signal, kind string) string {
	for _, k := range s.Keys {
		if k.Kind == kind {
			return k.Value
		}
	}
	return ""
}

func learnN(t testing.TB, c *Checker, ip string, domains []string, label mailscore.Label, src mailscore.Source, n int) {
	t.Helper()
	a := netip.MustParseAddr(ip)
	for range n {
		require.NoError(t, c.LearnIP(context.Background(), a, domains, label, src))
	}
}

func checkIP(t testing.TB, c *Checker, ip string, domains ...string) []mailscore.Signal {
	t.Helper()
	sigs, err := c.CheckIP(context.Background(), netip.MustParseAddr(ip), domains...)
	require.NoError(t, err)
	return sigs
}
