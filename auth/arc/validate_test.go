package arc

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore/auth/authres"
	"github.com/mailscore/mailscore/auth/dkim"
	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

// firstResults is what the first intermediary saw: the original message
// authenticated.
func firstResults() authres.Header {
	return authres.Header{AuthServID: "mx.lists.example.net", Results: []authres.Result{
		authres.SPF("pass", "alice@example.com", ""),
		authres.DKIM("pass", "", "example.com", "", "s1", "rsa-sha256", "AbCdEfGh"),
		authres.DMARC("pass", "example.com", "reject"),
	}}
}

// laterResults is what a later intermediary saw: DKIM and SPF broken by
// the list.
func laterResults(id string) authres.Header {
	return authres.Header{AuthServID: id, Results: []authres.Result{
		authres.SPF("fail", "alice@example.com", ""),
		authres.DKIM("fail", "body hash did not verify", "example.com", "", "s1", "rsa-sha256", "AbCdEfGh"),
		authres.DMARC("fail", "example.com", "reject"),
	}}
}

// threeHops seals baseMessage at the list (RSA), a forwarder (RSA) and an
// Ed25519 sealer; change, if not nil, lets each hop change the message
// after validating it and before sealing it.
func threeHops(t *testing.T, w *world, change func(hop int, msg string) string) string {
	at := func(hop int) func(string) string {
		return func(m string) string {
			if change == nil {
				return m
			}
			return change(hop, m)
		}
	}
	msg := seal(t, w.v, w.listS, baseMessage, firstResults(), at(1))
	msg = seal(t, w.v, w.fwdS, msg, laterResults("mx.fwd.example.org"), at(2))
	return seal(t, w.v, w.edS, msg, laterResults("mx.ed.example"), at(3))
}

func TestSealValidateRoundTrip(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	raw := threeHops(t, w, nil)
	res := w.v.Validate(ctx, mustMessage(t, raw))
	require.Equal(t, StatusPass, res.Status, "%v", res.Err)
	require.NoError(t, res.Err)
	require.Equal(t, 3, res.Instance)
	require.Zero(t, res.OldestPass, "nothing changed on the way")
	require.Zero(t, res.Failed)
	require.Len(t, res.Sets, 3)
	for i, s := range res.Sets {
		require.Equal(t, i+1, s.Instance)
		require.Equal(t, StatusPass, s.AMS.Status, "i=%d", i+1)
		require.Equal(t, StatusPass, s.Seal.Status, "i=%d", i+1)
		require.NoError(t, s.AAR.Err)
	}
	require.Equal(t, StatusNone, res.Sets[0].CV)
	require.Equal(t, StatusPass, res.Sets[2].CV)
	require.Equal(t, "ed25519-sha256", res.Sets[2].Seal.Algorithm)
	require.Equal(t, 256, res.Sets[2].Seal.KeyBits)
	require.Equal(t, "rsa-sha256", res.Sets[0].AMS.Algorithm)
	require.Equal(t, 2048, res.Sets[0].AMS.KeyBits)
	require.Equal(t, "relaxed/relaxed", res.Sets[0].AMS.Canonicalization)
	require.Equal(t, "lists.example.net", res.Sets[0].Seal.Domain)
	require.Equal(t, time.Unix(1795000000, 0), res.Sets[0].Seal.Timestamp)

	// What the first hop saw, for a receiver to read.
	first := res.FirstHop()
	require.Equal(t, "mx.lists.example.net", first.AAR.Header.AuthServID)
	require.Equal(t, "pass", first.AAR.Header.Find("dmarc")[0].Value)
	require.Equal(t, "none", first.AAR.Header.Find("arc")[0].Value, "the first hop recorded arc=none")
	require.Equal(t, "pass", res.Sets[1].AAR.Header.Find("arc")[0].Value)
	require.Equal(t, "ed.example", res.Newest().Seal.Domain)

	ar := res.AuthResult(netip.MustParseAddr("192.0.2.1"))
	h := authres.Header{AuthServID: "mx.example.org", Results: []authres.Result{ar}}
	require.Equal(t, "mx.example.org; arc=pass smtp.remote-ip=192.0.2.1 (i=3 spf=pass dkim=pass dmarc=pass)", h.String())
	parsed, err := authres.Parse(h.String())
	require.NoError(t, err)
	require.Equal(t, "pass", parsed.Find("arc")[0].Value)

	// The sets are prepended in the order AS, AMS, AAR, newest on top.
	lines := strings.SplitN(raw, "\r\n", 2)
	require.True(t, strings.HasPrefix(lines[0], "ARC-Seal: a=ed25519-sha256;"), lines[0])
	for _, l := range strings.Split(raw[:strings.Index(raw, "\r\n\r\n")], "\r\n") {
		require.LessOrEqual(t, len(l), 998, "RFC 5322 line length")
	}
}

func TestOldestPass(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	// The forwarder (hop 2) rewrites the Subject before sealing: AMS(1)
	// no longer validates, the chain still passes, oldest-pass is 2.
	raw := threeHops(t, w, func(hop int, msg string) string {
		if hop == 2 {
			return strings.Replace(msg, "Subject: Hello", "Subject: [list] Hello", 1)
		}
		return msg
	})
	res := w.v.Validate(ctx, mustMessage(t, raw))
	require.Equal(t, StatusPass, res.Status, "%v", res.Err)
	require.Equal(t, 2, res.OldestPass)
	require.Equal(t, StatusFail, res.Sets[0].AMS.Status)
	require.ErrorIs(t, res.Sets[0].AMS.Err, dkim.ErrSignatureMismatch)
	require.Equal(t, StatusPass, res.Sets[1].AMS.Status)
	h := authres.Header{AuthServID: "mx", Results: []authres.Result{res.AuthResult(netip.Addr{})}}
	require.Equal(t, "mx; arc=pass header.oldest-pass=2 (i=3 spf=pass dkim=pass dmarc=pass)", h.String())

	// A body footer added by the list at hop 3 breaks the body hash of
	// AMS(1) and AMS(2): oldest-pass 3.
	raw = threeHops(t, w, func(hop int, msg string) string {
		if hop == 3 {
			return msg + "-- \r\nlist footer\r\n"
		}
		return msg
	})
	res = w.v.Validate(ctx, mustMessage(t, raw))
	require.Equal(t, StatusPass, res.Status)
	require.Equal(t, 3, res.OldestPass)
	require.ErrorIs(t, res.Sets[1].AMS.Err, dkim.ErrBodyHashMismatch)

	// SkipOldestPass leaves the older AMSs alone.
	v := newValidator(t, Options{Resolver: w.r, SkipOldestPass: true})
	res = v.Validate(ctx, mustMessage(t, raw))
	require.Equal(t, StatusPass, res.Status)
	require.Zero(t, res.OldestPass)
	require.Equal(t, Status(""), res.Sets[0].AMS.Status)
	require.Equal(t, StatusPass, res.Sets[2].AMS.Status)
}

func TestChainFailures(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	good := threeHops(t, w, nil)
	for _, tc := range []struct {
		name   string
		edit   func(string) string
		kind   error
		failed int
		detail error
	}{
		{"body changed after the last seal", func(s string) string { return s + "appended\r\n" },
			ErrMessageSignature, 3, dkim.ErrBodyHashMismatch},
		{"signed field changed after the last seal", func(s string) string { return strings.Replace(s, "Subject: Hello", "Subject: Hi", 1) },
			ErrMessageSignature, 3, dkim.ErrSignatureMismatch},
		{"first hop's results rewritten", func(s string) string { return strings.Replace(s, "dmarc=pass", "dmarc=fail", 1) },
			ErrSeal, 3, dkim.ErrSignatureMismatch},
		{"a field removed", func(s string) string { return dropField(s, "ARC-Message-Signature: a=rsa-sha256", 1) },
			ErrStructure, 2, nil},
		{"a field repeated", func(s string) string { return firstField(s, "ARC-Authentication-Results: i=2") + s },
			ErrStructure, 2, nil},
		{"newest seal says cv=fail", func(s string) string { return strings.Replace(s, "cv=pass; d=ed.example", "cv=fail; d=ed.example", 1) },
			ErrChainEnded, 3, nil},
		{"first seal says cv=pass", func(s string) string { return strings.Replace(s, "cv=none", "cv=pass", 1) },
			ErrStructure, 1, nil},
		{"instance out of range", func(s string) string { return strings.Replace(s, "i=3; ", "i=51; ", 1) },
			ErrStructure, 0, nil},
		{"seal with h=", func(s string) string {
			return strings.Replace(s, "cv=pass; d=ed.example", "cv=pass; h=from; d=ed.example", 1)
		},
			ErrSeal, 3, ErrSealHasH},
		{"AMS signs an ARC-Seal", func(s string) string { return strings.Replace(s, "h=from:", "h=arc-seal:from:", 1) },
			ErrMessageSignature, 3, ErrSignsSeal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.edit(good)
			require.NotEqual(t, good, raw)
			res := w.v.Validate(ctx, mustMessage(t, raw))
			require.Equal(t, StatusFail, res.Status)
			require.ErrorIs(t, res.Err, tc.kind, "%v", res.Err)
			if tc.detail != nil {
				require.ErrorIs(t, res.Err, tc.detail, "%v", res.Err)
			}
			require.Equal(t, tc.failed, res.Failed, "%v", res.Err)
			var e *Error
			require.True(t, errors.As(res.Err, &e))
			require.NotEmpty(t, res.Reason())
			ar := res.AuthResult(netip.MustParseAddr("2001:db8::1"))
			require.Equal(t, "fail", ar.Value)
			require.Equal(t, res.Reason(), ar.Reason)
			h := authres.Header{AuthServID: "mx", Results: []authres.Result{ar}}
			_, err := authres.Parse(h.String())
			require.NoError(t, err)
		})
	}
}

// dropField removes the field starting with prefix (the n-th such, from 1).
func dropField(msg, prefix string, n int) string {
	hdr, body, _ := strings.Cut(msg, "\r\n\r\n")
	var out []string
	skip := false
	for _, l := range strings.Split(hdr, "\r\n") {
		if !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "\t") {
			skip = false
			if strings.HasPrefix(l, prefix) {
				if n--; n == 0 {
					skip = true
				}
			}
		}
		if !skip {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\r\n") + "\r\n\r\n" + body
}

// firstField returns the first field starting with prefix, with its CRLF.
func firstField(msg, prefix string) string {
	i := strings.Index(msg, prefix)
	end := i
	for {
		j := strings.Index(msg[end:], "\r\n")
		end += j + 2
		if msg[end] != ' ' && msg[end] != '\t' {
			return msg[i:end]
		}
	}
}

func TestTooManySets(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	raw := threeHops(t, w, nil)
	v := newValidator(t, Options{Resolver: w.r, MaxSets: 2})
	res := v.Validate(ctx, mustMessage(t, raw))
	require.Equal(t, StatusFail, res.Status)
	require.ErrorIs(t, res.Err, ErrTooManySets)
	_, err := NewValidator(Options{Resolver: w.r, MaxSets: MaxInstance + 1})
	require.Error(t, err)

	// 51 sets cannot be written: instances stop at 50 (RFC 8617 section
	// 4.2.1). Build 50 with one cheap sealer, then ask for one more.
	v50 := newValidator(t, Options{Resolver: w.r, MaxSets: MaxInstance, SkipOldestPass: true})
	msg := baseMessage
	for range MaxInstance {
		msg = seal(t, v50, w.edS, msg, laterResults("mx.ed.example"))
	}
	res = v50.Validate(ctx, mustMessage(t, msg))
	require.Equal(t, StatusPass, res.Status, "%v", res.Err)
	require.Equal(t, MaxInstance, res.Instance)
	_, err = w.edS.Seal(mustMessage(t, msg), res, laterResults("mx.ed.example"))
	require.ErrorIs(t, err, ErrTooManySets)

	// Hostile: hundreds of ARC fields. Parsing stops at the first
	// duplicate instance.
	many := strings.Repeat("ARC-Authentication-Results: i=1; x; none\r\n", 900) + baseMessage
	res = w.v.Validate(ctx, mustMessage(t, many))
	require.Equal(t, StatusFail, res.Status)
	require.ErrorIs(t, res.Err, ErrStructure)
}

func TestTempError(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	raw := threeHops(t, w, nil)
	o := dnsutil.Options{Servers: []string{w.srv.Addr()}, Attempts: 1, Timeout: 2 * time.Second}
	o.Cache.Size = -1
	r, err := dnsutil.New(o)
	require.NoError(t, err)
	v := newValidator(t, Options{Resolver: r, KeyCacheSize: -1})

	w.srv.SetFault("s2._domainkey.fwd.example.org.", 0, dnstest.Fault{ServFail: true})
	res := v.Validate(ctx, mustMessage(t, raw))
	require.Equal(t, StatusTempError, res.Status)
	require.True(t, dnsutil.IsTemporary(res.Err), "%v", res.Err)
	require.ErrorIs(t, res.Err, dkim.ErrKeyUnavailable)
	require.ErrorIs(t, res.Err, ErrSeal)
	require.Equal(t, 2, res.Failed)
	require.Equal(t, StatusTempError, res.Sets[1].Seal.Status)
	ar := res.AuthResult(netip.MustParseAddr("192.0.2.1"))
	require.Equal(t, "temperror", ar.Value)
	require.NotContains(t, ar.Reason, w.srv.Addr(), "DNS server details stay out of the header")

	// A definite failure elsewhere decides the chain all the same.
	res = v.Validate(ctx, mustMessage(t, raw+"appended\r\n"))
	require.Equal(t, StatusFail, res.Status)
	require.ErrorIs(t, res.Err, ErrMessageSignature)

	// And the sealer will not write an unknown status into cv=.
	_, err = w.listS.Seal(mustMessage(t, raw), v.Validate(ctx, mustMessage(t, raw)), firstResults())
	require.ErrorIs(t, err, ErrChainUnknown)

	w.srv.SetFault("s2._domainkey.fwd.example.org.", 0, dnstest.Fault{})
	res = v.Validate(ctx, mustMessage(t, raw))
	require.Equal(t, StatusPass, res.Status)

	// A key that is not there is a permanent failure.
	w.srv.Remove("s2._domainkey.fwd.example.org.", 0)
	res = v.Validate(ctx, mustMessage(t, raw))
	require.Equal(t, StatusFail, res.Status)
	require.ErrorIs(t, res.Err, dkim.ErrKeyNotFound)
	require.Contains(t, res.Reason(), w.srv.Addr(), "the signal's reason has the details")
	reason := res.AuthResult(netip.MustParseAddr("192.0.2.1")).Reason
	require.NotContains(t, reason, w.srv.Addr(), "the header's does not")
	require.Equal(t, "i=2 ARC-Seal did not validate: no DKIM key record: dnsutil: lookup s2._domainkey.fwd.example.org. TXT: no records of that type", reason)
}

func TestNoChain(t *testing.T) {
	w := newWorld(t)
	res := w.v.Validate(context.Background(), mustMessage(t, baseMessage))
	require.Equal(t, StatusNone, res.Status)
	require.NoError(t, res.Err)
	require.Nil(t, res.FirstHop())
	require.Nil(t, res.Newest())
	require.False(t, Present(mustMessage(t, baseMessage)))
	ar := res.AuthResult(netip.MustParseAddr("192.0.2.1"))
	require.Equal(t, authres.Result{Method: "arc", Value: "none"}, ar)

	var zero Result
	require.Equal(t, "none", zero.AuthResult(netip.Addr{}).Value)

	r, err := Validate(context.Background(), w.r, mustMessage(t, baseMessage))
	require.NoError(t, err)
	require.Equal(t, StatusNone, r.Status)
	_, err = Validate(context.Background(), nil, mustMessage(t, baseMessage))
	require.Error(t, err)
}

func TestBareLF(t *testing.T) {
	w := newWorld(t)
	lf := strings.ReplaceAll(baseMessage, "\r\n", "\n")
	msg := mustMessage(t, lf)
	set, err := w.listS.Seal(msg, w.v.Validate(context.Background(), msg), firstResults())
	require.NoError(t, err)
	require.NotContains(t, set, "\r")
	res := w.v.Validate(context.Background(), mustMessage(t, set+lf))
	require.Equal(t, StatusPass, res.Status, "%v", res.Err)
	// The same set passes with CRLF line endings.
	res = w.v.Validate(context.Background(), mustMessage(t, crlf(set+lf)))
	require.Equal(t, StatusPass, res.Status, "%v", res.Err)
}

func TestExpiryAndClock(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	raw := seal(t, w.v, w.listS, baseMessage, firstResults())
	// The sealer's clock says 2026-11-17; a validator a year later still
	// accepts the chain (no x=: ARC sets are not refused for age).
	later := newValidator(t, Options{Resolver: w.r, Now: func() time.Time { return time.Unix(1795000000+365*86400, 0) }})
	require.Equal(t, StatusPass, later.Validate(ctx, mustMessage(t, raw)).Status)
	// A validator whose clock is behind the sealer's by more than the
	// skew sees a t= in the future.
	earlier := newValidator(t, Options{Resolver: w.r, Now: func() time.Time { return time.Unix(1795000000-3600, 0) }})
	res := earlier.Validate(ctx, mustMessage(t, raw))
	require.Equal(t, StatusFail, res.Status)
	require.ErrorIs(t, res.Err, dkim.ErrFutureTimestamp)
	// MinRSABits above the key size is a local policy failure.
	strict := newValidator(t, Options{Resolver: w.r, MinRSABits: 4096})
	res = strict.Validate(ctx, mustMessage(t, raw))
	require.Equal(t, StatusFail, res.Status)
	require.ErrorIs(t, res.Err, dkim.ErrKeyTooShort)
}
