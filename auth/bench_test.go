package auth

import (
	"context"
	"testing"
	"time"

	"github.com/mailscore/mailscore/auth/arc"
	"github.com/mailscore/mailscore/auth/dkim"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

// BenchmarkAuth measures the whole auth check (SPF MAIL FROM and HELO,
// DKIM, DMARC, iprev, signals) on a signed 4.8 KB message with a warm DNS
// cache (a dnsutil.Client with its cache, pointed at dnstest), and the
// DKIM verification of the same message alone, in the same run. The
// auth-check sub-benchmark reports x-dkim: its time over DKIM's (aim:
// at most 1.3).
func BenchmarkAuth(b *testing.B) {
	good, _ := keys(b)
	srv, err := dnstest.Start(testZone(b) + arcZone(b))
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	r := newResolver(b, srv, true)
	c, err := New(Options{Resolver: r})
	if err != nil {
		b.Fatal(err)
	}
	v, err := dkim.NewVerifier(dkim.Options{Resolver: r})
	if err != nil {
		b.Fatal(err)
	}
	msg := newMessage(b, sign(b, message(4100), "example.com", "s1", good), "192.0.2.10", "mail.example.com", "bounce@example.com")
	if n := len(msg.Raw()); n < 4700 || n > 4950 {
		b.Fatalf("message is %d bytes", n)
	}
	ctx := context.Background()
	// Warm both caches, and make sure everything passes.
	if res, err := c.Evaluate(ctx, msg); err != nil || res.DMARC.Status != "pass" || res.IPRev.Status != "pass" {
		b.Fatalf("warm-up: %v %+v", err, res)
	}
	var dkimNs float64
	b.Run("dkim-verify-only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if rs := v.VerifyMessage(ctx, msg); rs[0].Status != dkim.StatusPass {
				b.Fatal(rs[0].Err)
			}
		}
		dkimNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("auth-check", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sigs, err := c.Check(ctx, msg, nil)
			if err != nil || len(sigs) != 5 {
				b.Fatal(err, sigs)
			}
		}
		if dkimNs > 0 {
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/dkimNs, "x-dkim")
		}
	})
	// paired alternates the DKIM verification and the whole check in one
	// loop, so that the load of a shared machine falls on both alike; its
	// x-dkim is the ratio to trust. The default is ConcurrencyAuto; the
	// other two force each mode.
	always, err := New(Options{Resolver: r, Concurrency: ConcurrencyAlways})
	if err != nil {
		b.Fatal(err)
	}
	seq, err := New(Options{Resolver: r, Concurrency: ConcurrencyNever})
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range []struct {
		name string
		c    *Checker
	}{{"paired", c}, {"paired-always-concurrent", always}, {"paired-never-concurrent", seq}} {
		b.Run(p.name, func(b *testing.B) {
			var dk, au time.Duration
			for b.Loop() {
				t0 := time.Now()
				v.VerifyMessage(ctx, msg)
				t1 := time.Now()
				if _, err := p.c.Check(ctx, msg, nil); err != nil {
					b.Fatal(err)
				}
				dk += t1.Sub(t0)
				au += time.Since(t1)
			}
			b.ReportMetric(float64(dk.Nanoseconds())/float64(b.N), "dkim-ns/op")
			b.ReportMetric(float64(au.Nanoseconds())/float64(b.N), "auth-ns/op")
			b.ReportMetric(float64(au)/float64(dk), "x-dkim")
		})
	}
	// A message relayed by a mailing list that sealed it (ARC, Ed25519),
	// to a receiver that trusts the list: ARC runs beside DKIM.
	trusting, err := New(Options{Resolver: r, TrustedSealers: []string{"lists.example.net"}})
	if err != nil {
		b.Fatal(err)
	}
	sealer, err := arc.NewSealer(arc.SealOptions{Domain: "lists.example.net", Selector: "arc1", Key: listKey()})
	if err != nil {
		b.Fatal(err)
	}
	relayed := listRelay(b, []byte(throughList(b, c, sealer, sign(b, message(4100), "example.com", "s1", good))))
	if res, err := trusting.Evaluate(ctx, relayed); err != nil || res.ARCTrusted == nil {
		b.Fatalf("warm-up: %v %+v", err, res)
	}
	b.Run("auth-check-arc-relayed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sigs, err := trusting.Check(ctx, relayed, nil)
			if err != nil || len(sigs) != 7 {
				b.Fatal(err, sigs)
			}
		}
	})
	b.Run("auth-results-header", func(b *testing.B) {
		res, _ := c.Evaluate(ctx, msg)
		b.ReportAllocs()
		for b.Loop() {
			_ = res.AuthResultsField("mx.example.org")
		}
	})
}
