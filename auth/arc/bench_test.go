package arc

import (
	"context"
	"testing"
)

// BenchmarkValidate3Hops validates a three-set chain (RSA 2048, RSA 2048,
// Ed25519) with warm DNS and key caches: per message, three body hashes
// would be one (same canonicalization), three AMS and three AS signature
// checks, and the AS hashes over 1, 2 and 3 sets.
func BenchmarkValidate3Hops(b *testing.B) {
	w := newWorld(b)
	raw := threeHopsTB(b, w)
	msg := mustMessage(b, raw)
	ctx := context.Background()
	if res := w.v.Validate(ctx, msg); res.Status != StatusPass {
		b.Fatal(res.Err)
	}
	b.Run("oldest-pass", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if res := w.v.Validate(ctx, msg); res.Status != StatusPass {
				b.Fatal(res.Err)
			}
		}
	})
	v := newValidator(b, Options{Resolver: w.r, SkipOldestPass: true})
	v.Validate(ctx, msg)
	b.Run("skip-oldest-pass", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if res := v.Validate(ctx, msg); res.Status != StatusPass {
				b.Fatal(res.Err)
			}
		}
	})
	none := mustMessage(b, baseMessage)
	b.Run("no-chain", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if res := w.v.Validate(ctx, none); res.Status != StatusNone {
				b.Fatal(res.Status)
			}
		}
	})
}

// BenchmarkSeal adds a fourth set to the three-set chain with an RSA 2048
// key (the validation that decides cv= is not included).
func BenchmarkSeal(b *testing.B) {
	w := newWorld(b)
	msg := mustMessage(b, threeHopsTB(b, w))
	ctx := context.Background()
	chain := w.v.Validate(ctx, msg)
	results := laterResults("mx.lists.example.net")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.listS.Seal(msg, chain, results); err != nil {
			b.Fatal(err)
		}
	}
}

func threeHopsTB(tb testing.TB, w *world) string {
	msg := seal(tb, w.v, w.listS, baseMessage, firstResults())
	msg = seal(tb, w.v, w.fwdS, msg, laterResults("mx.fwd.example.org"))
	return seal(tb, w.v, w.edS, msg, laterResults("mx.ed.example"))
}
