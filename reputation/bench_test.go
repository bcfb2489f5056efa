package reputation

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore"
)

// cpuTime returns the CPU time the process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds a cpu-ns/op metric: CPU time rather than wall time, so
// that the figure means something on a shared, loaded machine (wall time
// there includes waiting for a CPU). Call it before the loop and call
// what it returns after.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
}

// warmChecker returns a checker whose store knows n senders, and a message
// from one of them with the auth check's signals.
func warmChecker(b testing.TB, opts Options, n int) (*Checker, *mailscore.Message, []mailscore.Signal) {
	clk := newClock()
	c := newChecker(b, clk, opts)
	ctx := context.Background()
	for i := range n {
		ip := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		d := fmt.Sprintf("sender%d.example", i)
		_, err := c.CheckIP(ctx, ip, d)
		require.NoError(b, err)
		label := mailscore.Ham
		if i%4 == 0 {
			label = mailscore.Spam
		}
		for range 20 {
			require.NoError(b, c.LearnIP(ctx, ip, []string{d}, label, mailscore.SourceUser))
		}
	}
	msg := testMsg(b, "198.18.0.8")
	prior, err := authCheck{domains: []string{"sender8.example"}, orgs: []string{"sender8.example"}}.Check(ctx, msg, nil)
	require.NoError(b, err)
	return c, msg, prior
}

// BenchmarkCheck is one message through Check with a warm store: IP
// levels, domain, pair, volume and sightings (aim: <= 1 us, <= 5 allocs).
func BenchmarkCheck(b *testing.B) {
	c, msg, prior := warmChecker(b, Options{}, 10000)
	ctx := context.Background()
	b.ReportAllocs()
	done := reportCPU(b)
	for b.Loop() {
		if _, err := c.Check(ctx, msg, prior); err != nil {
			b.Fatal(err)
		}
	}
	done()
}

// BenchmarkCheckReadOnly is Check without counting the message.
func BenchmarkCheckReadOnly(b *testing.B) {
	c, msg, prior := warmChecker(b, Options{ReadOnly: true}, 10000)
	ctx := context.Background()
	b.ReportAllocs()
	done := reportCPU(b)
	for b.Loop() {
		if _, err := c.Check(ctx, msg, prior); err != nil {
			b.Fatal(err)
		}
	}
	done()
}

// BenchmarkCheckIP is the standalone entry point, which finds the
// organizational domain in the public suffix list.
func BenchmarkCheckIP(b *testing.B) {
	c, _, _ := warmChecker(b, Options{}, 10000)
	ctx := context.Background()
	ip := netip.MustParseAddr("198.18.0.8")
	b.ReportAllocs()
	done := reportCPU(b)
	for b.Loop() {
		if _, err := c.CheckIP(ctx, ip, "sender8.example"); err != nil {
			b.Fatal(err)
		}
	}
	done()
}

// BenchmarkCheckIPv6 checks an IPv6 sender (four IP levels).
func BenchmarkCheckIPv6(b *testing.B) {
	c, _, _ := warmChecker(b, Options{}, 1000)
	ctx := context.Background()
	ip := netip.MustParseAddr("2001:db8:5::abcd")
	require.NoError(b, c.LearnIP(ctx, ip, []string{"v6.example"}, mailscore.Spam, mailscore.SourceUser))
	msg := testMsg(b, ip.String())
	prior, _ := authCheck{domains: []string{"v6.example"}, orgs: []string{"v6.example"}}.Check(ctx, msg, nil)
	b.ReportAllocs()
	done := reportCPU(b)
	for b.Loop() {
		if _, err := c.Check(ctx, msg, prior); err != nil {
			b.Fatal(err)
		}
	}
	done()
}

// BenchmarkLearn is one "spam" report applied to every key of a message
// (aim: <= 2 us).
func BenchmarkLearn(b *testing.B) {
	c, msg, prior := warmChecker(b, Options{}, 10000)
	ctx := context.Background()
	sigs, err := c.Check(ctx, msg, prior)
	require.NoError(b, err)
	fb := mailscore.Feedback{Label: mailscore.Spam, Source: mailscore.SourceUser, Signals: append(prior, sigs...)}
	b.ReportAllocs()
	done := reportCPU(b)
	for b.Loop() {
		if err := c.Learn(ctx, msg, fb); err != nil {
			b.Fatal(err)
		}
	}
	done()
}

// fillStore puts n keys into s, a realistic mix: per sender its /32, its
// /24 (shared by 64 senders), its domain, its organizational domain
// (shared by 4) and its pair.
func fillStore(tb testing.TB, s *MemStore, n int) {
	ctx := context.Background()
	ups := make([]Update, 0, 5)
	now := newClock().Now()
	for i := 0; s.Len() < n; i++ {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 14), byte(i >> 6), byte(i)})
		net := netip.PrefixFrom(ip, 24).Masked()
		d := fmt.Sprintf("s%d.org%d.example", i, i/4)
		ups = append(ups[:0],
			Update{Key: AddrKey(ip), Delta: Evidence{Seen: 1, SpamUser: 1}},
			Update{Key: IPKey(net), Delta: Evidence{Seen: 1, SpamUser: 1}},
			Update{Key: DomainKey(d), Delta: Evidence{Seen: 1, HamUser: 1}},
			Update{Key: DomainKey(fmt.Sprintf("org%d.example", i/4)), Delta: Evidence{Seen: 1}},
			Update{Key: PairKey(net, d), Delta: Evidence{Seen: 1, HamUser: 1}},
		)
		require.NoError(tb, s.Update(ctx, now, Decay{}, ups, nil))
	}
}

// heapPerKey fills a store with n keys and returns the heap it holds, per
// key.
func heapPerKey(tb testing.TB, n int) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := NewMemStore(MemStoreOptions{MaxKeys: n})
	fillStore(tb, s, n)
	runtime.GC()
	runtime.ReadMemStats(&after)
	require.Equal(tb, n, s.Len())
	perKey := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
	runtime.KeepAlive(s)
	return perKey
}

// BenchmarkMemStoreMemory reports the heap of a MemStore holding one
// million keys (aim: <= 200 bytes a key).
func BenchmarkMemStoreMemory(b *testing.B) {
	for b.Loop() {
		b.ReportMetric(heapPerKey(b, 1_000_000), "B/key")
	}
}

// TestMemoryPerKey checks the memory aim on one million keys (not under
// the race detector, whose shadow memory would be counted, nor -short).
func TestMemoryPerKey(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("fills a million keys; run without -race and -short")
	}
	perKey := heapPerKey(t, 1_000_000)
	t.Logf("1,000,000 keys: %.1f bytes a key (%.0f MB)", perKey, perKey)
	require.LessOrEqual(t, perKey, 200.0)
}

// BenchmarkMemStoreUpdate is one key's read-modify-write.
func BenchmarkMemStoreUpdate(b *testing.B) {
	s := NewMemStore(MemStoreOptions{})
	fillStore(b, s, 100_000)
	ctx := context.Background()
	now := newClock().Now()
	ups := []Update{{Key: DomainKey("s77.org19.example"), Delta: Evidence{SpamUser: 1}}}
	before := make([]Evidence, 1)
	b.ReportAllocs()
	done := reportCPU(b)
	for b.Loop() {
		if err := s.Update(ctx, now, Decay{}, ups, before); err != nil {
			b.Fatal(err)
		}
	}
	done()
}

// BenchmarkSave is the snapshot of 100,000 keys.
func BenchmarkSave(b *testing.B) {
	s := NewMemStore(MemStoreOptions{})
	fillStore(b, s, 100_000)
	var n countWriter
	b.ReportAllocs()
	for b.Loop() {
		n = 0
		if err := s.Save(&n); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/100_000, "bytes/key")
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

// BenchmarkEstimate reads one key's reputation.
func BenchmarkEstimate(b *testing.B) {
	c, _, _ := warmChecker(b, Options{}, 10000)
	ctx := context.Background()
	k := DomainKey("sender8.example")
	b.ReportAllocs()
	done := reportCPU(b)
	for b.Loop() {
		if _, err := c.Estimate(ctx, k); err != nil {
			b.Fatal(err)
		}
	}
	done()
}

// BenchmarkLoad is loading a snapshot of 100,000 keys.
func BenchmarkLoad(b *testing.B) {
	s := NewMemStore(MemStoreOptions{})
	fillStore(b, s, 100_000)
	var buf bytes.Buffer
	require.NoError(b, s.Save(&buf))
	b.ReportAllocs()
	for b.Loop() {
		if err := NewMemStore(MemStoreOptions{}).Load(bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}
