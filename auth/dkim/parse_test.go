package dkim

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTagScanner(t *testing.T) {
	for _, c := range []struct {
		in   string
		tags []string // name=value
		err  string
	}{
		{"a=1; b=2", []string{"a=1", "b=2"}, ""},
		{"a=1; b=2;", []string{"a=1", "b=2"}, ""},
		{" a = 1 ;\r\n\tb=x y ; ", []string{"a=1", "b=x y"}, ""},
		{"a=; b=", []string{"a=", "b="}, ""},
		{"a=1;;b=2", []string{"a=1", "b=2"}, ""},
		{"v=1; z=From:a@b|To:c=40d", []string{"v=1", "z=From:a@b|To:c=40d"}, ""},
		{"A=1; a=2", []string{"A=1", "a=2"}, ""}, // case-sensitive names
		{"a_b9=1", []string{"a_b9=1"}, ""},
		{"a=1; a=2", nil, "duplicate"},
		{"=1", nil, "tag name expected"},
		{"1a=1", nil, "tag name expected"},
		{"a 1", nil, `"=" expected`},
		{"a", nil, `"=" expected`},
		{"a=x\x00y", nil, "control character"},
		{"a=x\x7fy", nil, "control character"},
		{strings.Repeat("a=1;", 1) + func() string {
			var b strings.Builder
			for i := range MaxTags + 1 {
				b.WriteString("t" + strings.Repeat("x", i) + "=1;")
			}
			return b.String()
		}(), nil, "more than"},
	} {
		sc := newTagScanner(c.in)
		var got []string
		for tg, ok := sc.next(); ok; tg, ok = sc.next() {
			got = append(got, tg.name+"="+tg.value)
			// The region always spans from after "=" to ";" or the end.
			require.True(t, c.in[tg.start-1] == '=' || strings.TrimRight(c.in[:tg.start], " \t\r\n")[len(strings.TrimRight(c.in[:tg.start], " \t\r\n"))-1] == '=', c.in)
			require.True(t, tg.end == len(c.in) || c.in[tg.end] == ';', c.in)
		}
		if c.err != "" {
			require.ErrorContains(t, sc.err, c.err, c.in)
			continue
		}
		require.NoError(t, sc.err, c.in)
		require.Equal(t, c.tags, got, c.in)
	}
}

func TestFindCTL(t *testing.T) {
	naive := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x21 && !isWSPOrCRLF(c) || c == 0x7f {
				return true
			}
		}
		return false
	}
	buf := make([]byte, 40)
	for i := range 20000 {
		n := i % len(buf)
		_, _ = rand.Read(buf[:n])
		if i%2 == 0 { // mostly printable, to exercise the fast path
			for j := range buf[:n] {
				buf[j] = 0x20 + buf[j]%0x60
			}
			if n > 0 && i%6 == 0 {
				buf[i%n] = byte(i % 256)
			}
		}
		_, bad := findCTL(string(buf[:n]))
		require.Equal(t, naive(string(buf[:n])), bad, "%q", buf[:n])
	}
}

func TestDecodeBase64(t *testing.T) {
	raw := make([]byte, 200)
	_, _ = rand.Read(raw)
	enc := base64.StdEncoding.EncodeToString(raw)
	folded := enc[:50] + "\r\n\t " + enc[50:120] + " \t" + enc[120:]
	var dst [512]byte
	for _, in := range []string{enc, folded, strings.TrimRight(enc, "=")} {
		got, err := decodeBase64(dst[:], in)
		require.NoError(t, err, in)
		require.Equal(t, raw, got)
	}
	for _, bad := range []string{"ab*d", "a", "a===", "ab=c"} {
		_, err := decodeBase64(dst[:], bad)
		require.Error(t, err, bad)
	}
	_, err := decodeBase64(dst[:10], enc)
	require.Error(t, err, "too long for dst")
	_, err = decodeBase64(dst[:], strings.Repeat("A", 4000))
	require.Error(t, err, "too long")
	got, err := decodeBase64(dst[:], "")
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestParseKey(t *testing.T) {
	rsaKey := loadKey(t, "rsa2048.pem").(*rsa.PrivateKey)
	edKey := loadKey(t, "ed25519.pem").(ed25519.PrivateKey)
	rsaP := keyRecord(t, &rsaKey.PublicKey, "")[len("v=DKIM1; k=rsa; "):]
	edP := keyRecord(t, edKey.Public(), "")[len("v=DKIM1; k=ed25519; "):]
	for _, c := range []struct {
		rec             string
		err             error
		typ             keyType
		bits            int
		testing, strict bool
		sha256, email   bool
	}{
		{rec: "v=DKIM1; k=rsa; " + rsaP, typ: keyRSA, bits: 2048, sha256: true, email: true},
		{rec: rsaP, typ: keyRSA, bits: 2048, sha256: true, email: true},
		{rec: "k=rsa; v=DKIM1; " + rsaP, typ: keyRSA, bits: 2048, sha256: true, email: true},
		{rec: "v=DKIM1; k=ed25519; " + edP, typ: keyEd25519, bits: 256, sha256: true, email: true},
		{rec: "v=DKIM1; K=X; n=notes; " + rsaP, typ: keyRSA, bits: 2048, sha256: true, email: true},
		{rec: "t=y:s:x; " + rsaP, typ: keyRSA, bits: 2048, testing: true, strict: true, sha256: true, email: true},
		{rec: "h=sha1 : sha256; s=email:*; " + rsaP, typ: keyRSA, bits: 2048, sha256: true, email: true},
		{rec: "h=sha1; s=chat; " + rsaP, typ: keyRSA, bits: 2048},
		{rec: "v=DKIM1; p=", err: ErrKeyRevoked},
		{rec: "v=DKIM1; p= ", err: ErrKeyRevoked},
		{rec: "v=DKIM1", err: ErrKeySyntax},
		{rec: "", err: ErrKeySyntax},
		{rec: "v=DKIM2; " + rsaP, err: ErrKeySyntax},
		{rec: "v=DKIM1; t; " + rsaP, err: ErrKeySyntax},
		{rec: "k=dsa; " + rsaP, err: ErrKeyUnsuitable},
		{rec: "k=ed25519; " + rsaP, err: ErrKeySyntax},
		{rec: "k=rsa; " + edP, err: ErrKeySyntax},
		{rec: "k=ed25519; p=MCowBQYDK2VwAyEA3SUqa9UbfciWkk7tlcJ9P1VD5pXAasg0JUn/OgjVbKE=", err: ErrKeySyntax},
		{rec: "p=!!!!", err: ErrKeySyntax},
		{rec: "p=" + strings.Repeat("A", 3000), err: ErrLimit},
		{rec: "n=" + strings.Repeat("x", MaxKeyRecordSize) + "; " + rsaP, err: ErrLimit},
	} {
		k := parseKey(c.rec)
		if c.err != nil {
			require.ErrorIs(t, k.err, c.err, c.rec)
			continue
		}
		require.NoError(t, k.err, c.rec)
		require.Equal(t, c.typ, k.typ, c.rec)
		require.Equal(t, c.bits, k.bits)
		require.Equal(t, c.testing, k.testing)
		require.Equal(t, c.strict, k.strict)
		require.Equal(t, c.sha256, k.sha256, c.rec)
		require.Equal(t, c.email, k.email, c.rec)
	}
}

func TestParseSignature(t *testing.T) {
	now := time.Unix(1700000000, 0)
	base := "v=1; a=rsa-sha256; d=Example.COM; s=sel; h=From:To; bh=YWJj; b=YWJj"
	for _, c := range []struct {
		value string
		err   error
		check func(t *testing.T, sig *signature, r *Result)
	}{
		{value: base, check: func(t *testing.T, sig *signature, r *Result) {
			require.Equal(t, "example.com", r.Domain)
			require.Equal(t, "sel", r.Selector)
			require.Equal(t, canonSimpleSimple, r.Canonicalization, "c= defaults to simple/simple")
			require.Equal(t, []string{"From", "To"}, r.SignedHeaders())
			require.False(t, sig.hasL)
		}},
		{value: base + "; c=relaxed", check: func(t *testing.T, _ *signature, r *Result) {
			require.Equal(t, canonRelaxedSimple, r.Canonicalization, "c=relaxed is relaxed/simple")
		}},
		{value: base + "; c=Simple/Relaxed", check: func(t *testing.T, _ *signature, r *Result) {
			require.Equal(t, canonSimpleRelaxed, r.Canonicalization)
		}},
		{value: base + "; l=123; t=1699999999; x=1700000100; i=joe=40x@mail.example.com; q=foo:dns/txt", check: func(t *testing.T, sig *signature, r *Result) {
			require.Equal(t, BodyLength{Limited: true, Signed: 123}, r.BodyLength)
			require.Equal(t, time.Unix(1699999999, 0), r.Timestamp)
			require.Equal(t, time.Unix(1700000100, 0), r.Expiration)
			require.Equal(t, "joe@x@mail.example.com", r.Identity)
		}},
		{value: base + "; l=" + strings.Repeat("9", 76), check: func(t *testing.T, sig *signature, _ *Result) {
			require.Equal(t, int64(1<<63-1), sig.l, "saturates")
		}},
		{value: strings.Replace(base, "v=1; ", "", 1), err: ErrSyntax},
		{value: strings.Replace(base, "v=1", "v=1.0", 1), err: ErrVersion},
		{value: strings.Replace(base, "a=rsa-sha256; ", "", 1), err: ErrSyntax},
		{value: strings.Replace(base, "; b=YWJj", "", 1), err: ErrSyntax},
		{value: strings.Replace(base, "bh=YWJj; ", "", 1), err: ErrSyntax},
		{value: strings.Replace(base, "d=Example.COM; ", "", 1), err: ErrSyntax},
		{value: strings.Replace(base, "h=From:To; ", "", 1), err: ErrSyntax},
		{value: strings.Replace(base, "s=sel; ", "", 1), err: ErrSyntax},
		{value: strings.Replace(base, "rsa-sha256", "RSA-SHA1", 1), err: ErrSHA1},
		{value: strings.Replace(base, "rsa-sha256", "ed448-sha256", 1), err: ErrAlgorithm},
		{value: base + "; c=relaxed/", err: ErrCanonicalization},
		{value: base + "; q=dns", err: ErrQueryMethod},
		{value: strings.Replace(base, "From:To", "To:Subject", 1), err: ErrFromNotSigned},
		{value: strings.Replace(base, "From:To", "From::To", 1), err: ErrSyntax},
		{value: strings.Replace(base, "From:To", "From:"+strings.Repeat("X:", MaxSignedHeaders), 1), err: ErrLimit},
		{value: strings.Replace(base, "d=Example.COM", "d=exa mple.com", 1), err: ErrSyntax},
		{value: strings.Replace(base, "d=Example.COM", "d=.com", 1), err: ErrSyntax},
		{value: strings.Replace(base, "d=Example.COM", "d="+strings.Repeat("a", 64)+".com", 1), err: ErrSyntax},
		{value: strings.Replace(base, "s=sel", "s=a..b", 1), err: ErrSyntax},
		{value: base + "; i=joe@example.org", err: ErrIdentityMismatch},
		{value: base + "; i=joe", err: ErrSyntax},
		{value: base + "; i=joe=4@example.com", err: ErrSyntax},
		{value: base + "; l=-1", err: ErrSyntax},
		{value: base + "; l=" + strings.Repeat("9", 77), err: ErrSyntax},
		{value: base + "; t=abc", err: ErrSyntax},
		{value: base + "; t=1234567890123", err: ErrSyntax},
		{value: base + "; x=1699999000", err: ErrExpired},
		{value: base + "; t=1700000000; x=1700000000", err: ErrExpired},
		{value: base + "; t=1700000400", err: ErrFutureTimestamp},
		{value: base + "; t=1700000200"}, // within the skew
		{value: base + "; x=1699999900"}, // expired, within the skew
		{value: base + strings.Repeat(" ", MaxSignatureFieldSize), err: ErrLimit},
	} {
		var sig signature
		var r Result
		err := parseSignature(c.value, &sig, &r, now, DefaultClockSkew, false, nil)
		if c.err != nil {
			require.ErrorIs(t, err, c.err, c.value)
			continue
		}
		require.NoError(t, err, c.value)
		if c.check != nil {
			c.check(t, &sig, &r)
		}
	}
}

func TestNewSignerErrors(t *testing.T) {
	rsaKey := loadKey(t, "rsa2048.pem")
	short := loadKey(t, "rsa768.pem")
	for _, o := range []SignOptions{
		{Selector: "s", Key: rsaKey},
		{Domain: "example.com", Key: rsaKey},
		{Domain: "example.com", Selector: "s"},
		{Domain: "example.com", Selector: "s", Key: short},
		{Domain: "exa mple.com", Selector: "s", Key: rsaKey},
		{Domain: "example.com", Selector: "s", Key: rsaKey, Identity: "joe@example.org"},
		{Domain: "example.com", Selector: "s", Key: rsaKey, Identity: "joe"},
		{Domain: "example.com", Selector: "s", Key: rsaKey, HeaderCanonicalization: "nofws"},
		{Domain: "example.com", Selector: "s", Key: rsaKey, Headers: []string{"Bad:Name"}},
		{Domain: "example.com", Selector: "s", Key: rsaKey, Oversign: []string{""}},
		{Domain: "example.com", Selector: "s", Key: rsaKey, Expiration: -time.Second},
	} {
		_, err := NewSigner(o)
		require.Error(t, err, "%+v", o)
	}
}

func TestSignerOutput(t *testing.T) {
	key := loadKey(t, "ed25519.pem")
	clock := func() time.Time { return time.Unix(1700000000, 0) }
	s, err := NewSigner(SignOptions{Domain: "Example.COM.", Selector: "s1", Key: key, Now: clock, Expiration: time.Hour,
		Headers: []string{"Subject", "DKIM-Signature"}, Oversign: []string{"Subject"}})
	require.NoError(t, err)
	msg := crlfText(sampleMessage)
	field, err := s.Sign(strings.NewReader(msg))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(field, "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com;"), field)
	require.Contains(t, field, "s=s1;")
	require.Contains(t, field, "t=1700000000;")
	require.Contains(t, field, "x=1700003600;")
	require.Contains(t, field, "h=from:subject:subject;", "From, then Subject once and once more")
	for _, line := range strings.Split(strings.TrimSuffix(field, "\r\n"), "\r\n") {
		require.LessOrEqual(t, len(line), 78, "folded: %q", line)
	}
	m := mustMessage(t, msg)
	field2, err := s.SignMessage(m)
	require.NoError(t, err)
	require.Equal(t, field, field2, "Ed25519 is deterministic: Sign and SignMessage agree")

	_, err = s.Sign(strings.NewReader("Subject: no from\r\n\r\nbody\r\n"))
	require.Error(t, err)

	s, err = NewSigner(SignOptions{Domain: "example.com", Selector: "s1", Key: key, NoTimestamp: true})
	require.NoError(t, err)
	field, err = s.Sign(strings.NewReader(msg))
	require.NoError(t, err)
	require.NotContains(t, field, "t=")
}
