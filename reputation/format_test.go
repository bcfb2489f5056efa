package reputation

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFormat(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 0.04: "0", 0.3: "0.3", 2.96: "3", 3.5: "3.5", 9.94: "9.9", 9.96: "10", 499.4: "499", 1e6: "1000000"} {
		require.Equal(t, want, string(appendCount(nil, v)), "%v", v)
	}
	for v, want := range map[float64]string{0: "0.0", -0.04: "0.0", 0.05: "+0.1", -9.96: "-10.0", 7.49: "+7.5", -0.55: "-0.6"} {
		require.Equal(t, want, string(appendScore(nil, v)), "%v", v)
	}
	for d, want := range map[time.Duration]string{30 * day: "30 days", 2 * day: "2 days", 47 * time.Hour: "47 hours", time.Hour: "60 minutes",
		2 * time.Minute: "2 minutes", time.Second: "1 second", 0: "0 seconds"} {
		require.Equal(t, want, string(appendDuration(nil, d)), "%v", d)
	}
	require.Equal(t, "30-day", durationAdjective("30 days"))
	require.Equal(t, "1-hour", durationAdjective("1 hour"))
	for w, want := range map[float64]string{1: "full", 0.5: "1/2", 0.02: "1/50", 1.0 / 46.6: "1/47", 0: "0"} {
		require.Equal(t, want, string(appendFraction(nil, w)), "%v", w)
	}
	for r, want := range map[float64]string{97.2: "97 messages an hour", 1.23: "1.2 messages an hour", 0.2083: "0.21 messages an hour"} {
		require.Equal(t, want, string(appendRate(nil, r)), "%v", r)
	}
	require.Equal(t, "1 message", string(appendMessages(nil, 1)))
	require.Equal(t, "3 messages", string(appendMessages(nil, 3)))
}
