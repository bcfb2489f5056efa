package auth

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/auth/arc"
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

// arcZone publishes what the ARC tests need: lists.example.net, a mailing
// list that relays from 198.51.100.7 and seals with an Ed25519 key, and an
// ARC key for evil.example.
func arcZone(tb testing.TB) string {
	_, evil := keys(tb)
	return `
lists.example.net. 300 IN TXT "v=spf1 ip4:198.51.100.0/24 -all"
lists.example.net. 300 IN A 198.51.100.7
7.100.51.198.in-addr.arpa. 300 IN PTR lists.example.net.
arc1._domainkey.lists.example.net. 300 IN TXT "v=DKIM1; k=ed25519; p=` +
		base64.StdEncoding.EncodeToString(listKey().Public().(ed25519.PublicKey)) + `"
` + keyRecord(tb, "arc._domainkey.evil.example.", evil)
}

// listKey is the mailing list's ARC key (a fixed Ed25519 key).
func listKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{42}, ed25519.SeedSize))
}

// throughList is the mailing list at work: the message arrives from
// example.com's server, passes everything, is changed (Subject tag, footer)
// and leaves sealed. It returns the sealed message.
func throughList(tb testing.TB, list *Checker, sealer *arc.Sealer, orig []byte) string {
	in := newMessage(tb, orig, "192.0.2.10", "mail.example.com", "bounce@example.com")
	seen, err := list.Evaluate(context.Background(), in)
	require.NoError(tb, err)
	require.Equal(tb, "pass", string(seen.DMARC.Status))
	require.Equal(tb, arc.StatusNone, seen.ARC.Status)
	changed := strings.Replace(string(orig), "Subject: Quarterly report", "Subject: [team] Quarterly report", 1) +
		"-- \r\nteam mailing list\r\n"
	set, err := sealer.Seal(listRelay(tb, []byte(changed)), seen.ARC, seen.Header("mx.lists.example.net"))
	require.NoError(tb, err)
	return set + changed
}

// listRelay is a message as the list sends it: from its address, with its
// own envelope sender.
func listRelay(tb testing.TB, raw []byte) *mailscore.Message {
	return newMessage(tb, raw, "198.51.100.7", "lists.example.net", "team-bounces@lists.example.net")
}

// TestEndToEndARC: alice@example.com (DMARC p=reject) writes to a mailing
// list, which checks the message, tags the Subject, appends a footer and
// resends it from its own address: DKIM breaks, SPF passes for the list's
// domain only, DMARC fails. The list seals what it saw with ARC; the
// receiver's auth check validates the chain, and with the list among its
// TrustedSealers offsets the DMARC failure.
func TestEndToEndARC(t *testing.T) {
	good, evil := keys(t)
	srv := dnstest.New(t, testZone(t)+arcZone(t))
	r := newResolver(t, srv, false)
	ctx := context.Background()
	list, err := New(Options{Resolver: r})
	require.NoError(t, err)
	plain, err := New(Options{Resolver: r})
	require.NoError(t, err)
	trusting, err := New(Options{Resolver: r, TrustedSealers: []string{"Example.NET."}})
	require.NoError(t, err)
	listSealer, err := arc.NewSealer(arc.SealOptions{Domain: "lists.example.net", Selector: "arc1", Key: listKey()})
	require.NoError(t, err)
	evilSealer, err := arc.NewSealer(arc.SealOptions{Domain: "evil.example", Selector: "arc", Key: evil})
	require.NoError(t, err)

	sealed := throughList(t, list, listSealer, sign(t, message(2000), "example.com", "s1", good))
	relay := func(raw string) *mailscore.Message { return listRelay(t, []byte(raw)) }
	require.Contains(t, sealed, "ARC-Authentication-Results: i=1; mx.lists.example.net; spf=pass")

	t.Run("validated, not trusted", func(t *testing.T) {
		engine, err := mailscore.NewEngine(mailscore.EngineOptions{}, plain)
		require.NoError(t, err)
		v := engine.Score(ctx, relay(sealed))
		require.Empty(t, v.Incomplete)
		require.ElementsMatch(t, []string{SPFPass, SPFHELOPass, DKIMInvalid, ARCPass, DMARCPolicyReject, IPRevPass}, symbolsOf(v))
		require.InDelta(t, -0.5-0.1+1-0.2+4-0.1, v.Score, 1e-9)
		f := factorsBySymbol(v)
		require.True(t, hasKey(f[ARCPass], mailscore.KeyAuthDomain, "lists.example.net"))
		require.True(t, hasKey(f[ARCPass], mailscore.KeyOrgDomain, "example.net"))
		require.Contains(t, f[ARCPass].Reason, "ARC chain of 1 set(s) validated, sealed last by lists.example.net")
		require.Contains(t, f[ARCPass].Reason, "the first hop (mx.lists.example.net) saw spf=pass dkim=pass dmarc=pass")
		for _, fac := range v.Factors {
			require.False(t, hasKey(fac, mailscore.KeyAuthDomain, "example.com"), "the list did not make example.com authenticate: %s", fac.Symbol)
		}

		res, err := plain.Evaluate(ctx, relay(sealed))
		require.NoError(t, err)
		require.Nil(t, res.ARCTrusted)
		require.Equal(t, "mx.lists.example.net", res.ARC.FirstHop().AAR.Header.AuthServID)
		ar := res.AuthResults("mx.example.org")
		require.Contains(t, ar, "; arc=pass smtp.remote-ip=198.51.100.7 (i=1 spf=pass dkim=pass dmarc=pass); dmarc=fail")
		h, err := authres.Parse(ar)
		require.NoError(t, err)
		require.Equal(t, "pass", h.Find("arc")[0].Value)
	})

	t.Run("trusted list offsets DMARC", func(t *testing.T) {
		engine, err := mailscore.NewEngine(mailscore.EngineOptions{}, trusting)
		require.NoError(t, err)
		v := engine.Score(ctx, relay(sealed))
		require.ElementsMatch(t, []string{SPFPass, SPFHELOPass, DKIMInvalid, ARCPass, ARCTrustedPass, DMARCPolicyReject, IPRevPass}, symbolsOf(v))
		f := factorsBySymbol(v)
		require.InDelta(t, -4.0, f[ARCTrustedPass].Contribution, 1e-9, "cancels DMARC_POLICY_REJECT")
		require.InDelta(t, -0.5-0.1+1-0.2+4-0.1-4, v.Score, 1e-9)
		require.Contains(t, f[ARCTrustedPass].Reason, "trusted ARC sealer lists.example.net")
		require.Contains(t, f[ARCTrustedPass].Reason, "say dmarc=pass for example.com")
		require.Contains(t, f[ARCTrustedPass].Reason, "RFC 8617 section 7.2")
		res, err := trusting.Evaluate(ctx, relay(sealed))
		require.NoError(t, err)
		require.Equal(t, &TrustedARC{Sealer: "lists.example.net", Instance: 1, AuthServID: "mx.lists.example.net", Method: "dmarc", Domain: "example.com"}, res.ARCTrusted)
		require.Equal(t, "fail", string(res.DMARC.Status), "DMARC's own result does not change")
	})

	t.Run("untrusted sealer, forged results", func(t *testing.T) {
		// evil.example spoofs example.com and seals an ARC set claiming
		// it saw DMARC pass. The chain is valid; its sealer is not trusted.
		spoof := string(message(1500))
		fake := authres.Header{AuthServID: "mx.evil.example", Results: []authres.Result{
			authres.DMARC("pass", "example.com", "reject"), {Method: "arc", Value: "none"}}}
		m := newMessage(t, []byte(spoof), "203.0.113.5", "mx.evil.example", "alice@example.com")
		eset, err := evilSealer.Seal(m, nil, fake)
		require.NoError(t, err)
		res, err := trusting.Evaluate(ctx, newMessage(t, []byte(eset+spoof), "203.0.113.5", "mx.evil.example", "alice@example.com"))
		require.NoError(t, err)
		require.Equal(t, arc.StatusPass, res.ARC.Status)
		require.Nil(t, res.ARCTrusted)
		var syms []string
		for _, s := range res.Signals() {
			syms = append(syms, s.Symbol)
		}
		require.Contains(t, syms, ARCPass)
		require.Contains(t, syms, DMARCPolicyReject)
		require.NotContains(t, syms, ARCTrustedPass)

		// Nor does an untrusted hop after the trusted list count: it
		// could have changed the message the list vouched for.
		m2 := relay(sealed)
		chain, err := trusting.Evaluate(ctx, m2)
		require.NoError(t, err)
		resealed := strings.Replace(sealed, "team mailing list", "buy now", 1)
		eset2, err := evilSealer.Seal(relay(resealed), chain.ARC, chain.Header("mx.evil.example"))
		require.NoError(t, err)
		res, err = trusting.Evaluate(ctx, relay(eset2+resealed))
		require.NoError(t, err)
		require.Equal(t, arc.StatusPass, res.ARC.Status)
		require.Equal(t, 2, res.ARC.OldestPass, "the body changed after the list sealed it")
		require.Nil(t, res.ARCTrusted)
	})

	t.Run("changed after sealing", func(t *testing.T) {
		engine, err := mailscore.NewEngine(mailscore.EngineOptions{}, trusting)
		require.NoError(t, err)
		v := engine.Score(ctx, relay(sealed+"Appended later.\r\n"))
		f := factorsBySymbol(v)
		require.Contains(t, symbolsOf(v), ARCFail)
		require.NotContains(t, symbolsOf(v), ARCTrustedPass)
		require.Equal(t, 0.5, f[ARCFail].Contribution, "a broken chain is weak evidence")
		require.Contains(t, f[ARCFail].Reason, "ARC chain broken: i=1 ARC-Message-Signature did not validate: body hash did not verify")
	})

	t.Run("temperror", func(t *testing.T) {
		srv.SetFault("arc1._domainkey.lists.example.net.", 0, dnstest.Fault{ServFail: true})
		defer srv.SetFault("arc1._domainkey.lists.example.net.", 0, dnstest.Fault{})
		engine, err := mailscore.NewEngine(mailscore.EngineOptions{}, trusting)
		require.NoError(t, err)
		v := engine.Score(ctx, relay(sealed))
		require.Len(t, v.Incomplete, 1)
		require.True(t, dnsutil.IsTemporary(v.Incomplete[0].Err), "%v", v.Incomplete[0].Err)
		f := factorsBySymbol(v)
		require.Contains(t, symbolsOf(v), ARCTempError)
		require.Zero(t, f[ARCTempError].Confidence)
		require.NotContains(t, symbolsOf(v), ARCTrustedPass)
		res, err := trusting.Evaluate(ctx, relay(sealed))
		require.Error(t, err)
		ar := res.AuthResults("mx.example.org")
		require.Contains(t, ar, `arc=temperror reason="DNS lookup failed temporarily"`)
		require.NotContains(t, ar, srv.Addr())
	})

	t.Run("every concurrency mode, and SkipARC", func(t *testing.T) {
		var want []mailscore.Signal
		for _, mode := range []Concurrency{ConcurrencyAlways, ConcurrencyNever, ConcurrencyAuto} {
			c, err := New(Options{Resolver: r, Concurrency: mode, TrustedSealers: []string{"lists.example.net"}})
			require.NoError(t, err)
			for range 5 {
				sigs, err := c.Check(ctx, relay(sealed), nil)
				require.NoError(t, err)
				if want == nil {
					want = sigs
				}
				require.Equal(t, want, sigs, "mode %d", mode)
			}
		}
		c, err := New(Options{Resolver: r, SkipARC: true, TrustedSealers: []string{"lists.example.net"}})
		require.NoError(t, err)
		res, err := c.Evaluate(ctx, relay(sealed))
		require.NoError(t, err)
		require.False(t, res.ARCChecked)
		require.Nil(t, res.ARC)
		require.NotContains(t, res.AuthResults("mx"), "; arc=")
		for _, s := range res.Signals() {
			require.False(t, strings.HasPrefix(s.Symbol, "ARC_"), s.Symbol)
		}
		_, err = New(Options{Resolver: r, TrustedSealers: []string{" "}})
		require.Error(t, err)
		_, err = New(Options{Resolver: r, ARC: arc.Options{MaxSets: 99}})
		require.Error(t, err)
	})
}
