package urlcheck

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEstimator(t *testing.T) {
	r := newReputation(ReputationOptions{}, time.Now)
	tests := []struct {
		name                  string
		s, h, S, H            float64
		value, conf, rate, p0 float64
	}{
		// 20 spam reports, all the feedback there is: base rate 30/40.
		{"one-sided feedback", 20, 0, 20, 0, 0.909, 0.8, 0.977, 0.75},
		// A host serving spam and ham like everyone: near neutral (the
		// base rate is still pulled a little toward one half).
		{"base-rate host", 40, 60, 40, 60, -0.039, 0.952, 0.400, 0.417},
		{"base-rate host, more feedback", 400, 600, 4000, 6000, -0.0004, 0.995, 0.400, 0.400},
		// Ham-ward: 0 spam, 30 ham where 42% of feedback is spam.
		{"ham host", 0, 30, 62, 90, -0.938, 0.857, 0.026, 0.419},
		// Too little evidence: unknown.
		{"two reports", 2, 0, 100, 100, 0.5, 0, 0.75, 0.5},
		{"nothing", 0, 0, 0, 0, 0, 0, 0.5, 0.5},
	}
	for _, tt := range tests {
		e := r.compute("x", tally{Spam: tt.s, Ham: tt.h}, tally{Spam: tt.S, Ham: tt.H})
		require.InDelta(t, tt.value, e.Value, 0.001, tt.name)
		require.InDelta(t, tt.conf, e.Confidence, 0.001, tt.name)
		require.InDelta(t, tt.rate, e.Rate, 0.001, tt.name)
		require.InDelta(t, tt.p0, e.BaseRate, 0.001, tt.name)
	}
}
