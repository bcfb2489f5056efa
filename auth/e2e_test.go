package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/auth/authres"
	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

// factorsBySymbol indexes a verdict's factors.
func factorsBySymbol(v mailscore.Verdict) map[string]mailscore.Factor {
	m := map[string]mailscore.Factor{}
	for _, f := range v.Factors {
		m[f.Symbol] = f
	}
	return m
}

func symbolsOf(v mailscore.Verdict) []string {
	var out []string
	for _, f := range v.Factors {
		out = append(out, f.Symbol)
	}
	return out
}

func hasKey(f mailscore.Factor, kind, value string) bool {
	for _, k := range f.Keys {
		if k.Kind == kind && k.Value == value {
			return true
		}
	}
	return false
}

// fixedCheck stands in for other evidence (content, reputation).
type fixedCheck struct {
	name   string
	points float64
}

func (f fixedCheck) Name() string { return f.name }
func (f fixedCheck) Check(context.Context, *mailscore.Message, []mailscore.Signal) ([]mailscore.Signal, error) {
	return []mailscore.Signal{{Symbol: "OTHER_EVIDENCE", Value: 1, Confidence: 1, Reason: "stand-in for other checks"}}, nil
}
func (f fixedCheck) Symbols() []mailscore.Symbol {
	return []mailscore.Symbol{{Name: "OTHER_EVIDENCE", Weight: f.points}}
}

// TestEndToEnd: a message signed with the dkim package's Signer, SPF and
// DMARC records in dnstest, scored by mailscore.NewEngine with the auth
// Checker: the factors and the Authentication-Results header are what a
// postmaster expects, for pass, fail and temperror.
func TestEndToEnd(t *testing.T) {
	good, evil := keys(t)
	srv := dnstest.New(t, testZone(t))
	c, err := New(Options{Resolver: newResolver(t, srv, false)})
	require.NoError(t, err)
	engine, err := mailscore.NewEngine(mailscore.EngineOptions{}, c)
	require.NoError(t, err)
	ctx := context.Background()
	raw := message(4800)

	t.Run("pass", func(t *testing.T) {
		msg := newMessage(t, sign(t, raw, "example.com", "s1", good), "192.0.2.10", "mail.example.com", "bounce@example.com")
		v := engine.Score(ctx, msg)
		require.Empty(t, v.Incomplete)
		require.ElementsMatch(t, []string{SPFPass, SPFHELOPass, DKIMValid, DMARCPass, IPRevPass}, symbolsOf(v))
		require.Equal(t, mailscore.ActionAccept, v.Action)
		require.InDelta(t, -0.5-0.1-1-1-0.1, v.Score, 1e-9)
		f := factorsBySymbol(v)
		require.True(t, hasKey(f[DKIMValid], mailscore.KeyAuthDomain, "example.com"))
		require.True(t, hasKey(f[DKIMValid], mailscore.KeyOrgDomain, "example.com"))
		require.True(t, hasKey(f[SPFPass], mailscore.KeyAuthDomain, "example.com"))
		require.True(t, hasKey(f[DMARCPass], mailscore.KeyDomain, "example.com"))
		require.Contains(t, f[DMARCPass].Reason, "DMARC pass for example.com")
		dom, ok := v.Dominant()
		require.True(t, ok)
		require.Contains(t, []string{DKIMValid, DMARCPass}, dom.Symbol)

		res, err := c.Evaluate(ctx, msg)
		require.NoError(t, err)
		ar := res.AuthResults("mx.example.org")
		require.True(t, strings.HasPrefix(ar, "mx.example.org; spf=pass smtp.mailfrom=bounce@example.com; spf=pass smtp.helo=mail.example.com; "+
			"dkim=pass header.d=example.com header.s=s1 header.a=rsa-sha256 header.b="), ar)
		require.True(t, strings.HasSuffix(ar, "; dmarc=pass header.from=example.com policy.dmarc=none (p=reject dis=none); "+
			"iprev=pass policy.iprev=192.0.2.10 (mail.example.com)"), ar)
		h, err := authres.Parse(ar)
		require.NoError(t, err)
		require.Equal(t, "pass", h.Find("dmarc")[0].Value)
		require.Equal(t, res.DKIM[0].SignaturePrefix(), h.Find("dkim")[0].Get("header", "b"))
		field := res.AuthResultsField("mx.example.org")
		withAR, err := mailscore.NewMessage(msg.Envelope, append([]byte(field), msg.Raw()...), mailscore.Limits{})
		require.NoError(t, err)
		require.Equal(t, msg.Header.Len()+1, withAR.Header.Len(), "one field added")
	})

	t.Run("fail: spoofed From, attacker's own signature", func(t *testing.T) {
		msg := newMessage(t, sign(t, raw, "evil.example", "e1", evil), "203.0.113.5", "mx.evil.example", "alice@example.com")
		v := engine.Score(ctx, msg)
		require.Empty(t, v.Incomplete)
		f := factorsBySymbol(v)
		require.ElementsMatch(t, []string{SPFFail, DKIMValid, DMARCPolicyReject, IPRevNoPTR}, symbolsOf(v), "HELO mx.evil.example has no SPF record: no HELO signal")
		dom, _ := v.Dominant()
		require.Equal(t, DMARCPolicyReject, dom.Symbol, "DMARC decides")
		require.Equal(t, 4.0, dom.Contribution)
		require.InDelta(t, 2-1+4+1, v.Score, 1e-9)
		require.Equal(t, mailscore.ActionTag, v.Action, "tagged, not rejected on DMARC alone (RFC 9989 section 5.4)")
		require.Contains(t, dom.Reason, "DMARC fail for example.com")
		require.Contains(t, dom.Reason, "policy reject from _dmarc.example.com")
		require.True(t, hasKey(dom, mailscore.KeyDomain, "example.com"))
		// The attacker's domain authenticated (its keys are there for
		// reputation), but never example.com.
		require.True(t, hasKey(f[DKIMValid], mailscore.KeyAuthDomain, "evil.example"))
		for _, fac := range v.Factors {
			require.False(t, hasKey(fac, mailscore.KeyAuthDomain, "example.com"), fac.Symbol)
		}
		require.Contains(t, v.Explain(), "Dominant factor: DMARC_POLICY_REJECT")

		res, err := c.Evaluate(ctx, msg)
		require.NoError(t, err)
		h, err := authres.Parse(res.AuthResults("mx.example.org"))
		require.NoError(t, err)
		require.Equal(t, "fail", h.Find("spf")[0].Value)
		require.Equal(t, "pass", h.Find("dkim")[0].Value)
		require.Equal(t, "evil.example", h.Find("dkim")[0].Get("header", "d"))
		d := h.Find("dmarc")[0]
		require.Equal(t, "fail", d.Value)
		require.Equal(t, "example.com", d.Get("header", "from"))
		require.Equal(t, "reject", d.Get("policy", "dmarc"))
		require.Equal(t, "permerror", h.Find("iprev")[0].Value)
	})

	t.Run("fail: body altered in transit", func(t *testing.T) {
		signed := sign(t, raw, "example.com", "s1", good)
		signed = append(signed, []byte("Appended by a list.\r\n")...)
		msg := newMessage(t, signed, "198.51.100.7", "lists.example.net", "list-bounce@example.net")
		v := engine.Score(ctx, msg)
		syms := symbolsOf(v)
		require.Contains(t, syms, DKIMInvalid)
		require.Contains(t, syms, DMARCPolicyReject)
		require.Contains(t, factorsBySymbol(v)[DKIMInvalid].Reason, "body hash did not verify")
	})

	t.Run("temperror: DNS fails, nothing held against the message", func(t *testing.T) {
		for _, n := range []string{"example.com", "s1._domainkey.example.com", "_dmarc.example.com", "mail.example.com", "10.2.0.192.in-addr.arpa"} {
			srv.SetFault(n, 0, dnstest.Fault{ServFail: true})
		}
		defer func() {
			for _, n := range []string{"example.com", "s1._domainkey.example.com", "_dmarc.example.com", "mail.example.com", "10.2.0.192.in-addr.arpa"} {
				srv.SetFault(n, 0, dnstest.Fault{})
			}
		}()
		msg := newMessage(t, sign(t, raw, "example.com", "s1", good), "192.0.2.10", "mail.example.com", "bounce@example.com")
		v := engine.Score(ctx, msg)
		require.Len(t, v.Incomplete, 1)
		require.Equal(t, Name, v.Incomplete[0].Check)
		require.True(t, dnsutil.IsTemporary(v.Incomplete[0].Err), "%v", v.Incomplete[0].Err)
		require.ElementsMatch(t, []string{SPFTempError, SPFHELOTempError, DKIMTempError, DMARCTempError, IPRevTempError}, symbolsOf(v))
		for _, f := range v.Factors {
			require.Zero(t, f.Confidence, f.Symbol)
			require.Zero(t, f.Contribution, f.Symbol)
		}
		require.Zero(t, v.Score)
		require.Equal(t, mailscore.ActionAccept, v.Action)
		require.Contains(t, v.Explain(), "Incomplete checks, their missing evidence not held against the message: auth")

		res, err := c.Evaluate(ctx, msg)
		require.Error(t, err)
		require.True(t, dnsutil.IsTemporary(err))
		ar := res.AuthResults("mx.example.org")
		require.NotContains(t, ar, srv.Addr(), "DNS server details stay out of the header")
		h, perr := authres.Parse(ar)
		require.NoError(t, perr)
		for _, m := range []string{"spf", "dkim", "dmarc", "iprev"} {
			require.Equal(t, "temperror", h.Find(m)[0].Value, m)
		}

		// With other evidence at the reject threshold, the incomplete auth
		// check could still have pulled the score down: defer, not reject.
		e2, err := mailscore.NewEngine(mailscore.EngineOptions{}, c, fixedCheck{"content", 16})
		require.NoError(t, err)
		v = e2.Score(ctx, msg)
		require.Equal(t, 16.0, v.Score)
		require.Equal(t, mailscore.ActionDefer, v.Action, v.Explain())
	})

	t.Run("temperror only where it matters", func(t *testing.T) {
		// Only the DMARC record lookup fails: DMARC is unknown, but the
		// SPF and DKIM passes stand and count.
		srv.SetFault("_dmarc.example.com", 0, dnstest.Fault{ServFail: true})
		defer srv.SetFault("_dmarc.example.com", 0, dnstest.Fault{})
		msg := newMessage(t, sign(t, raw, "example.com", "s1", good), "192.0.2.10", "mail.example.com", "bounce@example.com")
		v := engine.Score(ctx, msg)
		require.Len(t, v.Incomplete, 1)
		f := factorsBySymbol(v)
		require.Equal(t, 1.0, f[DKIMValid].Confidence)
		require.Equal(t, 1.0, f[SPFPass].Confidence)
		require.Zero(t, f[DMARCTempError].Confidence)
		require.Less(t, v.Score, 0.0)
	})
}

func TestNoClientIP(t *testing.T) {
	good, _ := keys(t)
	srv := dnstest.New(t, testZone(t))
	c, err := New(Options{Resolver: newResolver(t, srv, false)})
	require.NoError(t, err)
	ctx := context.Background()
	raw := message(2000)

	// Signed and aligned: DMARC passes through DKIM even without SPF.
	res, err := c.Evaluate(ctx, newMessage(t, sign(t, raw, "example.com", "s1", good), "", "", ""))
	require.ErrorIs(t, err, ErrNoClientIP)
	require.False(t, res.SPFChecked)
	require.False(t, res.IPRevChecked)
	require.Equal(t, "pass", string(res.DMARC.Status))

	// Unsigned: SPF might have passed, so DMARC is unknown, not fail.
	res, err = c.Evaluate(ctx, newMessage(t, raw, "", "", ""))
	require.ErrorIs(t, err, ErrNoClientIP)
	require.Equal(t, "temperror", string(res.DMARC.Status))
	for _, s := range res.Signals() {
		require.Zero(t, s.Confidence, s.Symbol)
	}
	require.NotContains(t, res.AuthResults("mx"), "spf=")
}

func TestFromProblems(t *testing.T) {
	srv := dnstest.New(t, testZone(t))
	c, err := New(Options{Resolver: newResolver(t, srv, false)})
	require.NoError(t, err)
	body := "Subject: x\r\n\r\nhello\r\n"
	for _, hdr := range []string{"", "From: a@example.com\r\nFrom: b@example.com\r\n", "From: a@example.com, b@evil.example\r\n"} {
		msg := newMessage(t, []byte(hdr+body), "192.0.2.10", "mail.example.com", "bounce@example.com")
		res, err := c.Evaluate(context.Background(), msg)
		require.NoError(t, err)
		require.Equal(t, "permerror", string(res.DMARC.Status), hdr)
		var got []string
		for _, s := range res.Signals() {
			got = append(got, s.Symbol)
		}
		require.Contains(t, got, DMARCPermError, hdr)
		require.NotContains(t, got, DMARCPass, hdr)
		require.Contains(t, res.AuthResults("mx"), "dmarc=permerror reason=", hdr)
	}
}

func TestSymbols(t *testing.T) {
	srv := dnstest.New(t, "")
	c, err := New(Options{Resolver: newResolver(t, srv, false)})
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, s := range c.Symbols() {
		require.False(t, seen[s.Name], s.Name)
		seen[s.Name] = true
		require.NotEmpty(t, s.Group, s.Name)
		require.NotEmpty(t, s.Description, s.Name)
		if strings.HasSuffix(s.Name, "_TEMPERROR") {
			require.Zero(t, s.Weight, s.Name)
		}
		if strings.HasSuffix(s.Name, "_PASS") || s.Name == DKIMValid {
			require.Less(t, s.Weight, 0.0, "good evidence has a negative weight: %s", s.Name)
		}
	}
	_, err = New(Options{})
	require.Error(t, err)
	require.True(t, errors.Is(ErrNoClientIP, ErrNoClientIP))
}

func TestConcurrencyModes(t *testing.T) {
	good, _ := keys(t)
	srv := dnstest.New(t, testZone(t))
	r := newResolver(t, srv, true)
	msg := newMessage(t, sign(t, message(2000), "example.com", "s1", good), "192.0.2.10", "mail.example.com", "bounce@example.com")
	var want []string
	for _, mode := range []Concurrency{ConcurrencyAuto, ConcurrencyAlways, ConcurrencyNever} {
		c, err := New(Options{Resolver: r, Concurrency: mode})
		require.NoError(t, err)
		for range 40 {
			sigs, err := c.Check(context.Background(), msg, nil)
			require.NoError(t, err)
			var got []string
			for _, s := range sigs {
				got = append(got, s.Symbol)
			}
			if want == nil {
				want = got
			}
			require.Equal(t, want, got, "every mode gives the same signals")
		}
		if mode == ConcurrencyAuto {
			// Cached answers: the average fell below the threshold.
			require.Less(t, c.othersNs.Load(), int64(slowOthers))
		}
	}
	// Slow DNS pushes the average up again, so the next message runs
	// SPF, HELO and iprev beside DKIM.
	c, err := New(Options{Resolver: newResolver(t, srv, false)})
	require.NoError(t, err)
	c.othersNs.Store(0)
	srv.SetFault("example.com", 0, dnstest.Fault{Delay: 30 * time.Millisecond})
	defer srv.SetFault("example.com", 0, dnstest.Fault{})
	for range 3 {
		_, err := c.Evaluate(context.Background(), msg)
		require.NoError(t, err)
	}
	require.GreaterOrEqual(t, c.othersNs.Load(), int64(slowOthers))
}
