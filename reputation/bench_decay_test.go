package reputation

import (
	"context"
	"testing"
	"time"
)

// BenchmarkCheckAdvancingClock is BenchmarkCheck with the clock moving a
// second per message, so that every key's evidence is decayed on each
// check and the sender ages past SpikeMinAge (BenchmarkCheck keeps the
// clock still).
func BenchmarkCheckAdvancingClock(b *testing.B) {
	c, msg, prior := warmChecker(b, Options{}, 10000)
	clk := newClock() // warmChecker's start time
	c.now = clk.Now
	ctx := context.Background()
	b.ReportAllocs()
	done := reportCPU(b)
	for b.Loop() {
		clk.Advance(time.Second)
		if _, err := c.Check(ctx, msg, prior); err != nil {
			b.Fatal(err)
		}
	}
	done()
}
