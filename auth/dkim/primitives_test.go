package dkim

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

func TestParseTagList(t *testing.T) {
	for _, tc := range []struct {
		in    string
		names []string
		bad   string
	}{
		{in: "a=1; b=2", names: []string{"a", "b"}},
		{in: "a=1; b=2;", names: []string{"a", "b"}},
		{in: "a=1; b=2; \r\n\t", names: []string{"a", "b"}},
		{in: " a = 1 ;\r\n b\t=\t2 ", names: []string{"a", "b"}},
		{in: "", names: nil},
		{in: "a=1;; b=2", bad: "empty tag-spec"},
		{in: ";a=1", bad: "empty tag-spec"},
		{in: "a=1; ;", bad: "empty tag-spec"},
		{in: "a=1; a=2", bad: "duplicate tag"},
		{in: "a=1; ==", bad: "tag name expected"},
		{in: "a=1; 1b=2", bad: "tag name expected"},
		{in: "a 1", bad: `"=" expected`},
		{in: "a=x\x00y", bad: "control character"},
	} {
		tags, err := ParseTagList(tc.in)
		if tc.bad != "" {
			require.ErrorIs(t, err, ErrSyntax, tc.in)
			require.Contains(t, err.Error(), tc.bad, tc.in)
			require.NotContains(t, err.Error(), "DKIM-Signature", "the building blocks parse more than signatures")
			continue
		}
		require.NoError(t, err, tc.in)
		var names []string
		for _, tg := range tags {
			names = append(names, tg.Name)
		}
		require.Equal(t, tc.names, names, tc.in)
	}

	// Values are trimmed; Start and End span the whole value region, so
	// that deleting it leaves "b=" empty (RFC 6376 section 3.7).
	in := "a=rsa-sha256; b= AbC\r\n\tdEf ; c=x"
	tags, err := ParseTagList(in)
	require.NoError(t, err)
	require.Equal(t, "AbC\r\n\tdEf", tags[1].Value)
	require.Equal(t, "a=rsa-sha256; b=; c=x", in[:tags[1].Start]+in[tags[1].End:])

	// The tag limit matches ErrLimit too.
	_, err = ParseTagList(strings.Repeat("a=1; ", 0) + manyTags(MaxTags+1))
	require.ErrorIs(t, err, ErrSyntax)
	require.ErrorIs(t, err, ErrLimit)

	// The verifier itself stays lenient with empty tag-specs in key records.
	k := parseKey("v=DKIM1;; k=ed25519; p=" + base64.StdEncoding.EncodeToString(make([]byte, 32)))
	require.NoError(t, k.err)
}

func manyTags(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("t")
		b.WriteString(strings.Repeat("x", i%26))
		b.WriteByte(byte('a' + i/26))
		b.WriteString("=1;")
	}
	return b.String()
}

func TestDecodeBase64AndDomainName(t *testing.T) {
	b, err := DecodeBase64(" aGVs\r\n\tbG8 ")
	require.NoError(t, err)
	require.Equal(t, "hello", string(b))
	_, err = DecodeBase64("not base64!")
	require.ErrorIs(t, err, ErrSyntax)
	_, err = DecodeBase64(strings.Repeat("QUJD", MaxRSABits/6))
	require.ErrorIs(t, err, ErrSyntax)

	require.NoError(t, CheckDomainName("sel_1.example-x.org"))
	for _, bad := range []string{"", "a..b", "a.", "x y", strings.Repeat("a", 64) + ".org"} {
		require.ErrorIs(t, CheckDomainName(bad), ErrSyntax, bad)
	}
}

// TestHashersMatchVerifier rebuilds the hashes of a signature made by the
// Signer with the exported hashers, and checks it with PublicKey.Verify:
// the building blocks are the verifier's own code paths.
func TestHashersMatchVerifier(t *testing.T) {
	rsaKey := loadKey(t, "rsa2048.pem").(*rsa.PrivateKey)
	edKey := loadKey(t, "ed25519.pem").(ed25519.PrivateKey)
	_, r := dnsServer(t, map[string]string{
		"rsa._domainkey.example.com": keyRecord(t, &rsaKey.PublicKey, ""),
		"ed._domainkey.example.com":  keyRecord(t, edKey.Public(), ""),
	})
	v := newVerifier(t, Options{Resolver: r})
	for _, key := range []struct {
		sel string
		key crypto.Signer
	}{{"rsa", rsaKey}, {"ed", edKey}} {
		for _, c := range []Canonicalization{Simple, Relaxed} {
			s, err := NewSigner(SignOptions{Domain: "example.com", Selector: key.sel, Key: key.key,
				HeaderCanonicalization: c, BodyCanonicalization: c, NoTimestamp: true})
			require.NoError(t, err)
			field, err := s.Sign(strings.NewReader(crlfText(sampleMessage)))
			require.NoError(t, err)
			msg := mustMessage(t, field+crlfText(sampleMessage))
			sig := msg.Header.Fields()[0]
			tags, err := ParseTagList(sig.RawValue())
			require.NoError(t, err)
			get := func(n string) Tag {
				for _, tg := range tags {
					if tg.Name == n {
						return tg
					}
				}
				t.Fatalf("no %s= tag", n)
				return Tag{}
			}

			var bh BodyHasher
			bh.Reset(sha256.New(), c, -1)
			_, _ = bh.Write(msg.Body())
			sum := bh.Sum(nil)
			want, err := DecodeBase64(get("bh").Value)
			require.NoError(t, err)
			require.Equal(t, want, sum, "%s %s body hash", key.sel, c)
			require.Positive(t, bh.Len())

			var hh HeaderHasher
			hh.Reset(sha256.New())
			hh.WriteSelected(msg.Header.Fields(), get("h").Value, c, 0)
			b := get("b")
			hh.WriteSignature(sig.Raw, b.Start, b.End, c)
			digest := hh.Sum(nil)
			sigBytes, err := DecodeBase64(b.Value)
			require.NoError(t, err)

			pk, err := v.LookupKey(context.Background(), key.sel, "example.com")
			require.NoError(t, err)
			require.NoError(t, pk.Verify(get("a").Value, digest, sigBytes), "%s %s", key.sel, c)
			digest[0] ^= 1
			require.ErrorIs(t, pk.Verify(get("a").Value, digest, sigBytes), ErrSignatureMismatch)

			// SignDigest signs as the Signer does.
			d := sha256.Sum256([]byte("digest"))
			s2, alg, err := SignDigest(key.key, d[:])
			require.NoError(t, err)
			require.Equal(t, get("a").Value, alg)
			require.NoError(t, pk.Verify(alg, d[:], s2))
		}
	}

	// WriteField on a field as written equals what the verifier hashes
	// for a selected field.
	raw := []byte("SubJect :  Hello \r\n\tworld  \r\n")
	for _, c := range []Canonicalization{Simple, Relaxed} {
		var a, b HeaderHasher
		ra, rb := &recorder{}, &recorder{}
		a.Reset(ra)
		a.WriteField(raw, c)
		a.Sum(nil)
		m := mustMessage(t, string(raw)+"\r\nbody\r\n")
		b.Reset(rb)
		b.WriteSelected(m.Header.Fields(), "subject", c, -1)
		b.Sum(nil)
		require.Equal(t, rb.String(), ra.String(), string(c))
	}
	var hh HeaderHasher
	rec := &recorder{}
	hh.Reset(rec)
	hh.WriteField(raw, Relaxed)
	hh.Sum(nil)
	require.Equal(t, "subject:Hello world\r\n", rec.String())
}

func TestLookupKeyAndVerifyErrors(t *testing.T) {
	edKey := loadKey(t, "ed25519.pem").(ed25519.PrivateKey)
	short := loadKey(t, "rsa768.pem").(*rsa.PrivateKey)
	srv, r := dnsServer(t, map[string]string{
		"ed._domainkey.example.com":      keyRecord(t, edKey.Public(), ""),
		"short._domainkey.example.com":   keyRecord(t, &short.PublicKey, ""),
		"sha1._domainkey.example.com":    keyRecord(t, edKey.Public(), "h=sha1; "),
		"web._domainkey.example.com":     keyRecord(t, edKey.Public(), "s=web; "),
		"revoked._domainkey.example.com": "v=DKIM1; p=",
		"bad._domainkey.example.com":     "v=DKIM1; k=rsa; omg",
	})
	v := newVerifier(t, Options{Resolver: r})
	ctx := context.Background()
	d := sha256.Sum256([]byte("x"))
	sig := ed25519.Sign(edKey, d[:])

	k, err := v.LookupKey(ctx, "ed", "example.com")
	require.NoError(t, err)
	require.Equal(t, "ed25519", k.Type())
	require.Equal(t, 256, k.Bits())
	require.False(t, k.Testing())
	require.NoError(t, k.Verify("ED25519-SHA256", d[:], sig))
	require.ErrorIs(t, k.Verify("rsa-sha256", d[:], sig), ErrKeyUnsuitable)
	require.ErrorIs(t, k.Verify("rsa-sha1", d[:], sig), ErrSHA1)
	require.ErrorIs(t, k.Verify("foo", d[:], sig), ErrAlgorithm)

	for sel, want := range map[string]error{
		"sha1":    ErrKeyUnsuitable,
		"web":     ErrKeyUnsuitable,
		"short":   ErrKeyTooShort,
		"revoked": ErrKeyRevoked,
		"bad":     ErrKeySyntax,
		"missing": ErrKeyNotFound,
	} {
		k, err := v.LookupKey(ctx, sel, "example.com")
		if err == nil {
			alg := "ed25519-sha256"
			if k.Type() == "rsa" {
				alg = "rsa-sha256"
			}
			err = k.Verify(alg, d[:], sig)
		}
		require.ErrorIs(t, err, want, sel)
	}

	srv.SetFault("ed._domainkey.example.com.", 0, dnstest.Fault{ServFail: true})
	o := dnsutil.Options{Servers: []string{srv.Addr()}, Attempts: 1}
	o.Cache.Size = -1
	r2, err := dnsutil.New(o)
	require.NoError(t, err)
	v2 := newVerifier(t, Options{Resolver: r2})
	_, err = v2.LookupKey(ctx, "ed", "example.com")
	require.ErrorIs(t, err, ErrKeyUnavailable)
	require.True(t, dnsutil.IsTemporary(err))

	_, _, err = SignDigest(short, d[:])
	require.ErrorIs(t, err, ErrKeyTooShort)
	var nope notAKey
	_, _, err = SignDigest(nope, d[:])
	require.Error(t, err)
	require.False(t, errors.Is(err, ErrKeyTooShort))
}

type notAKey struct{}

func (notAKey) Public() crypto.PublicKey { return "none" }
func (notAKey) Sign(_ io.Reader, _ []byte, _ crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("no")
}
