package dkim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

// testKeys are the keys of verify_test.go's zone.
type testKeys struct {
	rsa2048, rsa1024, rsa768 *rsa.PrivateKey
	ed                       ed25519.PrivateKey
}

func loadTestKeys(t *testing.T) testKeys {
	return testKeys{
		rsa2048: loadKey(t, "rsa2048.pem").(*rsa.PrivateKey),
		rsa1024: loadKey(t, "rsa1024.pem").(*rsa.PrivateKey),
		rsa768:  loadKey(t, "rsa768.pem").(*rsa.PrivateKey),
		ed:      loadKey(t, "ed25519.pem").(ed25519.PrivateKey),
	}
}

// testZone serves one key record per situation under example.com.
func testZone(t *testing.T, k testKeys) (*dnstest.Server, dnsutil.Resolver) {
	rec := func(pub crypto.PublicKey, extra string) string { return keyRecord(t, pub, extra) }
	srv, r := dnsServer(t, map[string]string{
		"rsa._domainkey.example.com":       rec(&k.rsa2048.PublicKey, ""),
		"r1024._domainkey.example.com":     rec(&k.rsa1024.PublicKey, ""),
		"short._domainkey.example.com":     rec(&k.rsa768.PublicKey, ""),
		"ed._domainkey.example.com":        rec(k.ed.Public(), ""),
		"revoked._domainkey.example.com":   "v=DKIM1; k=rsa; p=",
		"bad._domainkey.example.com":       "v=DKIM1; k=rsa; p=!!notbase64",
		"v2._domainkey.example.com":        "v=DKIM2; " + rec(&k.rsa2048.PublicKey, "")[len("v=DKIM1; "):],
		"wrongtype._domainkey.example.com": rec(k.ed.Public(), ""),
		"sha1only._domainkey.example.com":  rec(&k.rsa2048.PublicKey, "h=sha1; "),
		"chat._domainkey.example.com":      rec(&k.rsa2048.PublicKey, "s=chat; "),
		"star._domainkey.example.com":      rec(&k.rsa2048.PublicKey, "s=*; h=sha1:sha256; "),
		"strict._domainkey.example.com":    rec(&k.rsa2048.PublicKey, "t=s; "),
		"testing._domainkey.example.com":   rec(&k.rsa2048.PublicKey, "t=y; "),
		"pkcs1._domainkey.example.com":     "v=DKIM1; p=" + pkcs1Base64(t, &k.rsa2048.PublicKey),
	})
	// Two records at one name: the first is no key, the second is.
	srv.AddRR(txtRR("multi._domainkey.example.com", "v=spf1 -all"))
	srv.AddRR(txtRR("multi._domainkey.example.com", rec(&k.rsa2048.PublicKey, "")))
	srv.SetFault("servfail._domainkey.example.com", dns.TypeTXT, dnstest.Fault{ServFail: true})
	srv.SetFault("timeout._domainkey.example.com", dns.TypeTXT, dnstest.Fault{Drop: true})
	return srv, r
}

func sign(t *testing.T, opts SignOptions, msg string) []byte {
	t.Helper()
	if opts.Domain == "" {
		opts.Domain = "example.com"
	}
	s, err := NewSigner(opts)
	require.NoError(t, err)
	field, err := s.Sign(strings.NewReader(msg))
	require.NoError(t, err)
	return []byte(field + msg)
}

func TestVerifyOutcomes(t *testing.T) {
	k := loadTestKeys(t)
	_, r := testZone(t, k)
	msg := crlfText(sampleMessage)
	now := time.Now()
	// A resolver that gives up quickly, for the timeout case.
	srvFast, _ := testZone(t, k)
	fast, err := dnsutil.New(dnsutil.Options{Servers: []string{srvFast.Addr()}, Timeout: 200 * time.Millisecond, Attempts: 1})
	require.NoError(t, err)

	// replace rewrites the signature field of a signed message.
	replace := func(b []byte, old, new string) []byte {
		require.Contains(t, string(b), old)
		return bytes.Replace(b, []byte(old), []byte(new), 1)
	}
	for _, c := range []struct {
		name     string
		msg      []byte
		opts     Options
		status   Status
		err      error
		temp     bool // the error is a temporary dnsutil error
		testing  bool
		keyBits  int
		identity string
	}{
		{name: "rsa pass", msg: sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048}, msg), status: StatusPass, keyBits: 2048},
		{name: "ed25519 pass", msg: sign(t, SignOptions{Selector: "ed", Key: k.ed}, msg), status: StatusPass, keyBits: 256},
		{name: "PKCS#1 RSAPublicKey in p=", msg: sign(t, SignOptions{Selector: "pkcs1", Key: k.rsa2048}, msg), status: StatusPass, keyBits: 2048},
		{name: "second TXT record is the key", msg: sign(t, SignOptions{Selector: "multi", Key: k.rsa2048}, msg), status: StatusPass},
		{name: "key s=* and h= list", msg: sign(t, SignOptions{Selector: "star", Key: k.rsa2048}, msg), status: StatusPass},
		{name: "testing key", msg: sign(t, SignOptions{Selector: "testing", Key: k.rsa2048}, msg), status: StatusPass, testing: true},
		{name: "identity", msg: sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048, Identity: "joe@mail.example.com"}, msg), status: StatusPass, identity: "joe@mail.example.com"},
		{name: "identity with ; encoded", msg: sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048, Identity: "a;b=c@example.com"}, msg), status: StatusPass, identity: "a;b=c@example.com"},
		{name: "strict key, i= at d=", msg: sign(t, SignOptions{Selector: "strict", Key: k.rsa2048, Identity: "joe@example.com"}, msg), status: StatusPass},
		{name: "1024-bit key below policy", msg: sign(t, SignOptions{Selector: "r1024", Key: k.rsa1024}, msg), opts: Options{MinRSABits: 2048}, status: StatusPolicy, err: ErrKeyTooShort},
		{name: "1024-bit key", msg: sign(t, SignOptions{Selector: "r1024", Key: k.rsa1024}, msg), status: StatusPass, keyBits: 1024},

		{name: "no key", msg: sign(t, SignOptions{Selector: "missing", Key: k.rsa2048}, msg), status: StatusPermError, err: ErrKeyNotFound},
		{name: "servfail", msg: sign(t, SignOptions{Selector: "servfail", Key: k.rsa2048}, msg), status: StatusTempError, err: ErrKeyUnavailable, temp: true},
		{name: "timeout", msg: sign(t, SignOptions{Selector: "timeout", Key: k.rsa2048}, msg), opts: Options{Resolver: fast}, status: StatusTempError, err: ErrKeyUnavailable, temp: true},
		{name: "revoked", msg: sign(t, SignOptions{Selector: "revoked", Key: k.rsa2048}, msg), status: StatusPermError, err: ErrKeyRevoked},
		{name: "malformed key", msg: sign(t, SignOptions{Selector: "bad", Key: k.rsa2048}, msg), status: StatusPermError, err: ErrKeySyntax},
		{name: "key v=DKIM2", msg: sign(t, SignOptions{Selector: "v2", Key: k.rsa2048}, msg), status: StatusPermError, err: ErrKeySyntax},
		{name: "768-bit key", msg: sign(t, SignOptions{Selector: "short", Key: k.rsa2048}, msg), status: StatusPermError, err: ErrKeyTooShort, keyBits: 768},
		{name: "ed25519 key for rsa signature", msg: sign(t, SignOptions{Selector: "wrongtype", Key: k.rsa2048}, msg), status: StatusPermError, err: ErrKeyUnsuitable},
		{name: "key h=sha1", msg: sign(t, SignOptions{Selector: "sha1only", Key: k.rsa2048}, msg), status: StatusPermError, err: ErrKeyUnsuitable},
		{name: "key s=chat", msg: sign(t, SignOptions{Selector: "chat", Key: k.rsa2048}, msg), status: StatusPermError, err: ErrKeyUnsuitable},
		{name: "strict key, i= in subdomain", msg: sign(t, SignOptions{Selector: "strict", Key: k.rsa2048, Identity: "joe@sub.example.com"}, msg), status: StatusPermError, err: ErrIdentityMismatch},

		{name: "rsa-sha1", msg: replace(sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048}, msg), "a=rsa-sha256", "a=rsa-sha1"), status: StatusPermError, err: ErrSHA1},
		{name: "unknown algorithm", msg: replace(sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048}, msg), "a=rsa-sha256", "a=rsa-sha512"), status: StatusPermError, err: ErrAlgorithm},
		{name: "v=2", msg: replace(sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048}, msg), "v=1;", "v=2;"), status: StatusPermError, err: ErrVersion},
		{name: "no v=", msg: replace(sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048}, msg), "v=1;", ""), status: StatusPermError, err: ErrSyntax},
		{name: "c=unknown", msg: replace(sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048}, msg), "c=relaxed/relaxed", "c=relaxed/fancy"), status: StatusPermError, err: ErrCanonicalization},
		{name: "q=http", msg: replace(sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048}, msg), "v=1;", "v=1; q=http/get;"), status: StatusPermError, err: ErrQueryMethod},
		{name: "i= outside d=", msg: replace(sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048}, msg), "v=1;", "v=1; i=joe@example.org;"), status: StatusPermError, err: ErrIdentityMismatch},
		{name: "i= at a look-alike", msg: replace(sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048}, msg), "v=1;", "v=1; i=@badexample.com;"), status: StatusPermError, err: ErrIdentityMismatch},
		{name: "duplicate tag", msg: replace(sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048}, msg), "v=1;", "v=1; s=other;"), status: StatusPermError, err: ErrSyntax},
		{name: "From not signed", msg: replace(sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048, Oversign: []string{}}, msg), "h=from:", "h="), status: StatusPermError, err: ErrFromNotSigned},
		{name: "expired", msg: sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048, Now: func() time.Time { return now.Add(-48 * time.Hour) }, Expiration: 24 * time.Hour}, msg), status: StatusPermError, err: ErrExpired},
		{name: "not yet expired", msg: sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048, Expiration: time.Hour}, msg), status: StatusPass},
		{name: "future timestamp", msg: sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048, Now: func() time.Time { return now.Add(time.Hour) }}, msg), status: StatusPermError, err: ErrFutureTimestamp},
		{name: "future timestamp within skew", msg: sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048, Now: func() time.Time { return now.Add(time.Minute) }}, msg), status: StatusPass},
		{name: "future timestamp, no skew", msg: sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048, Now: func() time.Time { return now.Add(time.Minute) }}, msg), opts: Options{ClockSkew: -1}, status: StatusPermError, err: ErrFutureTimestamp},
		{name: "bad b= base64", msg: replace(sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048}, msg), "b=", "b=*"), status: StatusPermError, err: ErrSyntax},
		{name: "body changed", msg: replace(sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048}, msg), "hungry", "angry"), status: StatusFail, err: ErrBodyHashMismatch},
		{name: "header changed", msg: replace(sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048}, msg), "Suzie", "Susie"), status: StatusFail, err: ErrSignatureMismatch},
		{name: "signature tag changed", msg: replace(sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048}, msg), "v=1;", "v=1; z=x;"), status: StatusFail, err: ErrSignatureMismatch},
		{name: "ed25519 body changed", msg: replace(sign(t, SignOptions{Selector: "ed", Key: k.ed}, msg), "hungry", "angry"), status: StatusFail, err: ErrBodyHashMismatch},
		{name: "ed25519 header changed", msg: replace(sign(t, SignOptions{Selector: "ed", Key: k.ed}, msg), "Suzie", "Susie"), status: StatusFail, err: ErrSignatureMismatch},
		{name: "l= longer than body", msg: replace(sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048, BodyLength: true}, msg), "l=", "l=9"), status: StatusFail, err: ErrBodyHashMismatch},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := c.opts
			if opts.Resolver == nil {
				opts.Resolver = r
			}
			res := verifyBytes(t, newVerifier(t, opts), c.msg)
			require.Len(t, res, 1)
			got := res[0]
			require.Equal(t, c.status, got.Status, "%v", got.Err)
			if c.err == nil {
				require.NoError(t, got.Err)
				require.Empty(t, got.Reason())
			} else {
				require.ErrorIs(t, got.Err, c.err)
				require.NotEmpty(t, got.Reason())
				require.Contains(t, got.AuthResValue(), string(c.status)+" reason=")
			}
			require.Equal(t, c.temp, dnsutil.IsTemporary(got.Err), "temporary: %v", got.Err)
			require.Equal(t, c.testing, got.Testing)
			if c.keyBits != 0 {
				require.Equal(t, c.keyBits, got.KeyBits)
			}
			if c.identity != "" {
				require.Equal(t, c.identity, got.Identity)
			}
			require.Equal(t, "example.com", got.Domain)
		})
	}
}

// TestVerifyKeyNotFoundWrapsDNS: a missing key's error says which DNS
// answer it was.
func TestVerifyKeyNotFoundWrapsDNS(t *testing.T) {
	k := loadTestKeys(t)
	_, r := testZone(t, k)
	res := verifyBytes(t, newVerifier(t, Options{Resolver: r}), sign(t, SignOptions{Selector: "nosuch", Key: k.ed}, crlfText(sampleMessage)))
	require.ErrorIs(t, res[0].Err, ErrKeyNotFound)
	require.ErrorIs(t, res[0].Err, dnsutil.ErrNXDomain)
	require.True(t, dnsutil.IsNotFound(res[0].Err))
}

// TestOversigning: a From (or Subject, To) present more often than h=
// signs it fails; the Signer's over-signing stops the extra copy at the
// signature.
func TestOversigning(t *testing.T) {
	k := loadTestKeys(t)
	_, r := testZone(t, k)
	v := newVerifier(t, Options{Resolver: r})
	msg := crlfText(sampleMessage)
	evil := func(signed []byte, field string) []byte {
		// Added above the signed fields, where a reader sees it first.
		return append([]byte(field+"\r\n"), signed...)
	}

	plain := sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048, Oversign: []string{}}, msg)
	require.Equal(t, StatusPass, verifyBytes(t, v, plain)[0].Status)
	for _, f := range []string{"From: ceo@example.com", "Subject: Wire the money", "To: everyone@example.net"} {
		res := verifyBytes(t, v, evil(plain, f))
		require.Equal(t, StatusFail, res[0].Status, f)
		require.ErrorIs(t, res[0].Err, ErrHeaderNotSigned, f)
	}
	// Not a singleton by default: an added Cc passes (it is not signed).
	require.Equal(t, StatusPass, verifyBytes(t, v, evil(plain, "Cc: x@example.net"))[0].Status)
	// Unless configured.
	vcc := newVerifier(t, Options{Resolver: r, SingletonHeaders: []string{"Date"}})
	res := verifyBytes(t, vcc, append([]byte("Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"), plain...))
	require.ErrorIs(t, res[0].Err, ErrHeaderNotSigned)
	// From counts even with an empty list; Subject then does not.
	vfrom := newVerifier(t, Options{Resolver: r, SingletonHeaders: []string{}})
	require.ErrorIs(t, verifyBytes(t, vfrom, evil(plain, "From: x@example.com"))[0].Err, ErrHeaderNotSigned)
	require.Equal(t, StatusPass, verifyBytes(t, vfrom, evil(plain, "Subject: x"))[0].Status)

	// Over-signed: the extra copy breaks the signature itself.
	over := sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048}, msg)
	require.Equal(t, StatusPass, verifyBytes(t, v, over)[0].Status)
	res = verifyBytes(t, v, evil(over, "From: ceo@example.com"))
	require.Equal(t, StatusFail, res[0].Status)
	require.ErrorIs(t, res[0].Err, ErrSignatureMismatch)
	// Adding a field that was absent and over-signed breaks it too.
	res = verifyBytes(t, v, evil(over, "Reply-To: thief@example.org"))
	require.ErrorIs(t, res[0].Err, ErrSignatureMismatch)
	require.Contains(t, string(over), "reply-to")
}

func TestMaxSignatures(t *testing.T) {
	k := loadTestKeys(t)
	_, r := testZone(t, k)
	msg := []byte(crlfText(sampleMessage))
	s, err := NewSigner(SignOptions{Domain: "example.com", Selector: "ed", Key: k.ed})
	require.NoError(t, err)
	for range 7 {
		field, err := s.Sign(bytes.NewReader(msg))
		require.NoError(t, err)
		msg = append([]byte(field), msg...)
	}
	for _, c := range []struct{ max, want int }{{0, DefaultMaxSignatures}, {2, 2}, {10, 7}} {
		res := verifyBytes(t, newVerifier(t, Options{Resolver: r, MaxSignatures: c.max}), msg)
		require.Len(t, res, 7)
		for i, r := range res {
			if i < c.want {
				require.Equal(t, StatusPass, r.Status, "signature %d", i)
			} else {
				require.Equal(t, StatusNeutral, r.Status, "signature %d", i)
				require.ErrorIs(t, r.Err, ErrTooManySignatures)
				require.Equal(t, "example.com", r.Domain)
			}
			require.Equal(t, i, r.Index)
		}
	}
}

func TestVerifyContextCancelled(t *testing.T) {
	k := loadTestKeys(t)
	_, r := testZone(t, k)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m, err := mailscore.NewMessage(mailscore.Envelope{}, sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048}, crlfText(sampleMessage)), mailscore.Limits{})
	require.NoError(t, err)
	res := newVerifier(t, Options{Resolver: r}).VerifyMessage(ctx, m)
	require.Equal(t, StatusTempError, res[0].Status)
	require.True(t, dnsutil.IsTemporary(res[0].Err))
	require.ErrorIs(t, res[0].Err, context.Canceled)
}

func TestVerifyUnsigned(t *testing.T) {
	_, r := dnsServer(t, nil)
	v := newVerifier(t, Options{Resolver: r})
	res, err := v.Verify(context.Background(), strings.NewReader(crlfText(sampleMessage)))
	require.NoError(t, err)
	require.Empty(t, res)
	res, err = Verify(context.Background(), r, strings.NewReader(crlfText(sampleMessage)))
	require.NoError(t, err)
	require.Empty(t, res)
}

type failingReader struct{ r io.Reader }

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errors.New("connection reset")
	}
	return n, err
}

func TestVerifyReaderLimits(t *testing.T) {
	k := loadTestKeys(t)
	_, r := testZone(t, k)
	signed := sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048}, crlfText(sampleMessage))

	v := newVerifier(t, Options{Resolver: r, Limits: mailscore.Limits{MaxHeaderSize: 100}})
	_, err := v.Verify(context.Background(), bytes.NewReader(signed))
	require.ErrorIs(t, err, mailscore.ErrHeaderTooLarge)

	v = newVerifier(t, Options{Resolver: r, Limits: mailscore.Limits{MaxSize: len(signed) - 10}})
	_, err = v.Verify(context.Background(), bytes.NewReader(signed))
	require.ErrorIs(t, err, mailscore.ErrMessageTooLarge)

	v = newVerifier(t, Options{Resolver: r})
	_, err = v.Verify(context.Background(), &failingReader{bytes.NewReader(signed)})
	require.ErrorContains(t, err, "connection reset")

	// After errors, the pooled state is clean: a good message passes.
	res, err := v.Verify(context.Background(), bytes.NewReader(signed))
	require.NoError(t, err)
	require.Equal(t, StatusPass, res[0].Status)

	// A long header line is read whole.
	long := append([]byte("X-Long: "+strings.Repeat("a", 10000)+"\r\n"), signed...)
	res, err = v.Verify(context.Background(), bytes.NewReader(long))
	require.NoError(t, err)
	require.Equal(t, StatusPass, res[0].Status)
}

func TestNewVerifierOptions(t *testing.T) {
	_, err := NewVerifier(Options{})
	require.Error(t, err)
	_, r := dnsServer(t, nil)
	_, err = NewVerifier(Options{Resolver: r, MinRSABits: 16384})
	require.Error(t, err)
	_, err = NewVerifier(Options{Resolver: r, SingletonHeaders: []string{"Bad Name"}})
	require.Error(t, err)
	v, err := NewVerifier(Options{Resolver: r, MinRSABits: 512, KeyCacheSize: -1})
	require.NoError(t, err)
	require.Equal(t, MinRSABits, v.minRSA, "the minimum is never below RFC 8301's")
	require.Equal(t, DefaultMaxSignatures, v.maxSigs)
	require.Equal(t, DefaultClockSkew, v.skew)
	require.Equal(t, []string{"From", "To", "Subject"}, v.singles)
}

func TestKeyCache(t *testing.T) {
	k := loadTestKeys(t)
	srv, r := testZone(t, k)
	v := newVerifier(t, Options{Resolver: r})
	rec := keyRecord(t, &k.rsa2048.PublicKey, "")
	require.Same(t, v.keys.get(rec), v.keys.get(rec), "parsed once per record text")
	signed := sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048}, crlfText(sampleMessage))
	for range 3 {
		require.Equal(t, StatusPass, verifyBytes(t, v, signed)[0].Status)
	}
	require.Equal(t, 1, srv.Count("rsa._domainkey.example.com", dns.TypeTXT), "DNS answers are cached by the resolver")
	nocache := newVerifier(t, Options{Resolver: r, KeyCacheSize: -1})
	require.NotSame(t, nocache.keys.get(rec), nocache.keys.get(rec))
}

func TestInternationalizedDomain(t *testing.T) {
	k := loadTestKeys(t)
	_, r := dnsServer(t, map[string]string{"sel._domainkey.xn--bcher-kva.example": keyRecord(t, k.ed.Public(), "")})
	v := newVerifier(t, Options{Resolver: r})
	signed := sign(t, SignOptions{Domain: "xn--bcher-kva.example", Selector: "sel", Key: k.ed}, crlfText(sampleMessage))
	require.Equal(t, StatusPass, verifyBytes(t, v, signed)[0].Status)
	// The same signature with the domain as a U-label (RFC 8616) looks up
	// the A-label; the signature no longer matches, as d= changed.
	res := verifyBytes(t, v, bytes.Replace(signed, []byte("d=xn--bcher-kva.example"), []byte("d=bücher.example"), 1))
	require.Equal(t, StatusFail, res[0].Status, "%v", res[0].Err)
	require.ErrorIs(t, res[0].Err, ErrSignatureMismatch)
}

func TestAuthResValue(t *testing.T) {
	r := Result{Status: StatusPass, Domain: "example.com", Selector: "s1", Algorithm: "rsa-sha256", b: "Ab/+cd\r\n\tEfGhIj"}
	require.Equal(t, `pass header.d=example.com header.s=s1 header.a=rsa-sha256 header.b="Ab/+cdEf"`, r.AuthResValue())
	require.Equal(t, "Ab/+cdEf", r.SignaturePrefix())
	r.Identity = "joe@sub.example.com"
	require.Contains(t, r.AuthResValue(), " header.i=joe@sub.example.com ")
	r.Identity = "a b@example.com"
	require.Contains(t, r.AuthResValue(), ` header.i="a b@example.com" `)
	r = Result{Status: StatusFail, Err: newError(ErrBodyHashMismatch, ""), Domain: "example.com"}
	require.Equal(t, `fail reason="body hash did not verify" header.d=example.com`, r.AuthResValue())
	require.Equal(t, []Property{{"header", "d", "example.com"}}, r.Properties())
	r = Result{Status: StatusPermError, Err: newError(ErrSyntax, `bad "tag"`)}
	require.Equal(t, `permerror reason="malformed DKIM-Signature: bad \"tag\""`, r.AuthResValue())
}

func TestResultHelpers(t *testing.T) {
	r := Result{h: "From : to:\r\n\tSubject"}
	require.Equal(t, []string{"From", "to", "Subject"}, r.SignedHeaders())
	require.Nil(t, (&Result{}).SignedHeaders())
	require.Equal(t, int64(0), BodyLength{}.Unsigned())
	require.Equal(t, int64(5), BodyLength{Limited: true, Signed: 10, Canonical: 15}.Unsigned())
	require.Equal(t, int64(0), BodyLength{Limited: true, Signed: 10, Canonical: 5}.Unsigned())
}

// TestVerifyConcurrent shares one Verifier between goroutines (run with
// -race): results must not leak between verifications through the pooled
// scratch memory.
func TestVerifyConcurrent(t *testing.T) {
	k := loadTestKeys(t)
	_, r := testZone(t, k)
	v := newVerifier(t, Options{Resolver: r})
	msg := crlfText(sampleMessage)
	good := sign(t, SignOptions{Selector: "rsa", Key: k.rsa2048}, msg)
	two := sign(t, SignOptions{Selector: "ed", Key: k.ed}, string(good))
	bad := bytes.Replace(good, []byte("hungry"), []byte("angry"), 1)
	want := map[string][]Status{
		"good": {StatusPass},
		"two":  {StatusPass, StatusPass},
		"bad":  {StatusFail},
	}
	msgs := map[string][]byte{"good": good, "two": two, "bad": bad}
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 30 {
				name := []string{"good", "two", "bad"}[(g+i)%3]
				var res []Result
				if i%2 == 0 {
					m, err := mailscore.NewMessage(mailscore.Envelope{}, msgs[name], mailscore.Limits{})
					if err != nil {
						errs <- err
						return
					}
					res = v.VerifyMessage(context.Background(), m)
				} else {
					var err error
					if res, err = v.Verify(context.Background(), bytes.NewReader(msgs[name])); err != nil {
						errs <- err
						return
					}
				}
				if len(res) != len(want[name]) {
					errs <- errors.New(name + ": wrong number of results")
					return
				}
				for j, st := range want[name] {
					if res[j].Status != st {
						errs <- errors.New(name + ": " + string(res[j].Status))
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
}
