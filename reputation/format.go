package reputation

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// appendCount appends a (decayed, weighted) count: whole numbers from 10
// up or when within 0.05 of one, else one decimal.
func appendCount(b []byte, v float64) []byte {
	if r := round(v); v >= 9.95 || math.Abs(v-r) < 0.05 {
		return appendInt(b, int64(r))
	}
	return appendTenths(b, int64(round(v*10)))
}

// round is math.Round (half away from zero) through math.Trunc, which is
// one instruction where the processor has SSE4.1. The difference x-t is
// exact (the fraction of a float), so the result is math.Round's to the
// bit, signed zeros, infinities and NaN included.
func round(x float64) float64 {
	t := math.Trunc(x)
	if math.Abs(x-t) >= 0.5 {
		return t + math.Copysign(1, x)
	}
	return t
}

// appendInt is strconv.AppendInt in base 10, with shortcuts for the
// small numbers reasons are mostly made of.
func appendInt(b []byte, n int64) []byte {
	switch {
	case n < 0:
		return strconv.AppendInt(b, n, 10)
	case n < 10:
		return append(b, byte('0'+n))
	case n < 100:
		return append(b, twoDigits[2*n], twoDigits[2*n+1])
	case n < 1000:
		return append(b, byte('0'+n/100), twoDigits[2*(n%100)], twoDigits[2*(n%100)+1])
	}
	return appendLargeInt(b, uint64(n))
}

// appendLargeInt appends u >= 1000, two digits at a time, straight into b.
func appendLargeInt(b []byte, u uint64) []byte {
	w := 4 // digits
	for p := uint64(10000); u >= p && w < 19; p *= 10 {
		w++
	}
	b = append(b, make([]byte, w)...)
	d := b[len(b)-w:]
	for i := w; i > 1; i -= 2 {
		q := u / 100
		r := 2 * (u - 100*q)
		d[i-2], d[i-1] = twoDigits[r], twoDigits[r+1]
		u = q
	}
	if w%2 == 1 {
		d[0] = byte('0' + u)
	}
	return b
}

// twoDigits holds "00" to "99".
const twoDigits = "0001020304050607080910111213141516171819" +
	"2021222324252627282930313233343536373839" +
	"4041424344454647484950515253545556575859" +
	"6061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// appendTenths appends n/10 with one decimal.
func appendTenths(b []byte, n int64) []byte {
	if n < 0 {
		b = append(b, '-')
		n = -n
	}
	b = appendInt(b, n/10)
	return append(b, '.', byte('0'+n%10))
}

// appendMessages appends "N message(s)".
func appendMessages(b []byte, v float64) []byte {
	b = appendCount(b, v)
	if math.Abs(v-1) < 0.05 {
		return append(b, " message"...)
	}
	return append(b, " messages"...)
}

// appendScore appends a score with its sign and one decimal: "+7.5",
// "-9.9", "0.0".
func appendScore(b []byte, s float64) []byte {
	n := int64(round(s * 10))
	if n > 0 {
		b = append(b, '+')
	}
	return appendTenths(b, n)
}

// appendDuration appends a rough duration: "30 days", "1 day", "5 hours",
// "3 minutes", "40 seconds".
func appendDuration(b []byte, d time.Duration) []byte {
	unit := func(b []byte, n int64, one, many string) []byte {
		b = appendInt(b, n)
		if n == 1 {
			return append(b, one...)
		}
		return append(b, many...)
	}
	switch {
	case d >= 48*time.Hour:
		return unit(b, int64(round(d.Hours()/24)), " day", " days")
	case d >= 2*time.Hour:
		return unit(b, int64(round(d.Hours())), " hour", " hours")
	case d >= 2*time.Minute:
		return unit(b, int64(round(d.Minutes())), " minute", " minutes")
	}
	return unit(b, int64(round(d.Seconds())), " second", " seconds")
}

// appendFraction appends a weight as people read it: "full", "1/2", "1/50".
func appendFraction(b []byte, w float64) []byte {
	if w >= 0.995 {
		return append(b, "full"...)
	}
	if w <= 0 {
		return append(b, '0')
	}
	b = append(b, "1/"...)
	return appendCount(b, 1/w)
}

// durationAdjective turns "30 days" into "30-day".
func durationAdjective(d string) string {
	n, unit, ok := strings.Cut(d, " ")
	if !ok {
		return d
	}
	return n + "-" + strings.TrimSuffix(unit, "s")
}

// appendRate appends a rate: "97 messages an hour", "0.21 messages an hour".
func appendRate(b []byte, perHour float64) []byte {
	switch {
	case perHour >= 10:
		b = strconv.AppendFloat(b, round(perHour), 'f', 0, 64)
	case perHour >= 1:
		b = strconv.AppendFloat(b, perHour, 'f', 1, 64)
	default:
		b = strconv.AppendFloat(b, perHour, 'g', 2, 64)
	}
	return append(b, " messages an hour"...)
}
