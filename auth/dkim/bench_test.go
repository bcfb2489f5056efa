package dkim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore"
)

// benchMessage returns an unsigned message of about size octets: the
// header fields of ordinary list mail and a plain-text body of ordinary
// prose, CRLF line endings.
func benchMessage(size int) string {
	var b strings.Builder
	b.WriteString("Received: from mail-out.example.com (mail-out.example.com [192.0.2.25])\r\n" +
		"\tby mx.example.net (Postfix) with ESMTPS id 4ZxQ9k1Lm2z9sRv\r\n" +
		"\tfor <bob@example.net>; Tue, 24 Nov 2026 10:00:00 +0000 (UTC)\r\n" +
		"From: Alice Example <alice@example.com>\r\n" +
		"To: Bob Example <bob@example.net>\r\n" +
		"Subject: Notes from the planning meeting\r\n" +
		"Date: Tue, 24 Nov 2026 09:59:58 +0000\r\n" +
		"Message-ID: <20261124095958.12345@mail-out.example.com>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: 7bit\r\n" +
		"List-Unsubscribe: <mailto:unsubscribe@example.com>\r\n" +
		"\r\n")
	words := strings.Fields(`The planning meeting covered the budget for next year, the hiring plan,
		and the schedule for moving the build servers to the new data centre. Everyone agreed
		that the migration should wait until the release is out, and that the budget needs
		another review before it goes to the board. Please send your comments by Friday.`)
	line := 0
	for i := 0; b.Len() < size; i++ {
		w := words[i%len(words)]
		if line+1+len(w) > 72 {
			b.WriteString("\r\n")
			line = 0
			if i%50 == 0 {
				b.WriteString("\r\n")
			}
		} else if line > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	b.WriteString("\r\n")
	return b.String()
}

// benchSetup signs a 4.8 KB message relaxed/relaxed with key and returns a
// verifier whose resolver (a dnsutil.Client on a dnstest server) has the
// key cached, like a busy MTA's.
func benchSetup(b *testing.B, sel string, key crypto.Signer) (*Verifier, []byte) {
	b.Helper()
	_, r := dnsServer(b, map[string]string{sel + "._domainkey.example.com": keyRecord(b, key.Public(), "")})
	v := newVerifier(b, Options{Resolver: r})
	s, err := NewSigner(SignOptions{Domain: "example.com", Selector: sel, Key: key})
	require.NoError(b, err)
	unsigned := benchMessage(4800 - 560)
	field, err := s.Sign(strings.NewReader(unsigned))
	require.NoError(b, err)
	msg := []byte(field + unsigned)
	m, err := mailscore.NewMessage(mailscore.Envelope{}, msg, mailscore.Limits{})
	require.NoError(b, err)
	res := v.VerifyMessage(context.Background(), m)
	require.Len(b, res, 1)
	require.Equal(b, StatusPass, res[0].Status, "%v", res[0].Err)
	return v, msg
}

// bareCrypto returns the work the verification cannot avoid: SHA-256 over
// the message and one signature check.
func bareCrypto(b *testing.B, key crypto.Signer, msg []byte) func() {
	sum := sha256.Sum256(msg)
	sig, err := key.Sign(nil, sum[:], cryptoOpts(key))
	require.NoError(b, err)
	switch k := key.Public().(type) {
	case *rsa.PublicKey:
		return func() {
			sum := sha256.Sum256(msg)
			if rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) != nil {
				b.Fatal("bad signature")
			}
		}
	case ed25519.PublicKey:
		return func() {
			sum := sha256.Sum256(msg)
			if !ed25519.Verify(k, sum[:], sig) {
				b.Fatal("bad signature")
			}
		}
	}
	b.Fatalf("unsupported key %T", key)
	return nil
}

func cryptoOpts(key crypto.Signer) crypto.SignerOpts {
	if _, ok := key.(ed25519.PrivateKey); ok {
		return crypto.Hash(0)
	}
	return crypto.SHA256
}

// BenchmarkVerify verifies a 4.8 KB relaxed/relaxed message signed with
// RSA-2048 and with Ed25519, and reports the time as a multiple of the bare
// cryptography (SHA-256 over the same octets plus rsa.VerifyPKCS1v15 or
// ed25519.Verify), measured in the same run right after the verifications,
// for the same number of iterations: x-crypto is the ratio.
//
//	message: VerifyMessage on a parsed mailscore.Message (what auth.Checker does)
//	reader:  Verify from an io.Reader (parses the header, streams the body)
//	crypto:  the bare cryptography alone
func BenchmarkVerify(b *testing.B) {
	for _, k := range []struct {
		name, sel string
		key       crypto.Signer
	}{
		{"rsa-2048", "rsa", loadKey(b, "rsa2048.pem")},
		{"ed25519", "ed", loadKey(b, "ed25519.pem")},
	} {
		v, msg := benchSetup(b, k.sel, k.key)
		bare := bareCrypto(b, k.key, msg)
		ctx := context.Background()
		// ratio measures, after the timed loop, verification and bare
		// cryptography alternately for b.N rounds each, so that load on
		// the machine weighs on both alike, and reports their ratio:
		// x-crypto from the CPU time of the thread (immune to other
		// processes taking the CPU, where the OS reports it), and
		// x-crypto-wall from the wall clock.
		ratio := func(b *testing.B, verify func()) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var tv, tc, cv, cc time.Duration
			cpu := true
			for range b.N {
				c0, ok0 := threadCPUTime()
				t0 := time.Now()
				verify()
				t1 := time.Now()
				c1, ok1 := threadCPUTime()
				bare()
				t2 := time.Now()
				c2, ok2 := threadCPUTime()
				tv += t1.Sub(t0)
				tc += t2.Sub(t1)
				cv += c1 - c0
				cc += c2 - c1
				cpu = cpu && ok0 && ok1 && ok2
			}
			b.ReportMetric(float64(tc.Nanoseconds())/float64(b.N), "crypto-ns/op")
			b.ReportMetric(float64(tv)/float64(tc), "x-crypto-wall")
			if cpu {
				b.ReportMetric(float64(cv)/float64(cc), "x-crypto")
			}
		}
		b.Run(k.name+"/message", func(b *testing.B) {
			m, err := mailscore.NewMessage(mailscore.Envelope{}, msg, mailscore.Limits{})
			require.NoError(b, err)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			verify := func() {
				if res := v.VerifyMessage(ctx, m); res[0].Status != StatusPass {
					b.Fatal(res[0].Err)
				}
			}
			for b.Loop() {
				verify()
			}
			ratio(b, verify)
		})
		b.Run(k.name+"/reader", func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			verify := func() {
				res, err := v.Verify(ctx, bytes.NewReader(msg))
				if err != nil || res[0].Status != StatusPass {
					b.Fatal(err, res)
				}
			}
			for b.Loop() {
				verify()
			}
			ratio(b, verify)
		})
		b.Run(k.name+"/crypto", func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				bare()
			}
		})
	}
}

func BenchmarkSign(b *testing.B) {
	for _, k := range []struct {
		name string
		key  crypto.Signer
	}{{"rsa-2048", loadKey(b, "rsa2048.pem")}, {"ed25519", loadKey(b, "ed25519.pem")}} {
		s, err := NewSigner(SignOptions{Domain: "example.com", Selector: "s", Key: k.key})
		require.NoError(b, err)
		m, err := mailscore.NewMessage(mailscore.Envelope{}, []byte(benchMessage(4800-560)), mailscore.Limits{})
		require.NoError(b, err)
		b.Run(k.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.SignMessage(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCanonicalizeBody measures the body canonicalization and hash
// alone, next to SHA-256 over the same octets.
func BenchmarkCanonicalizeBody(b *testing.B) {
	body := []byte(benchMessage(4800))
	b.Run("sha256", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			sha256.Sum256(body)
		}
	})
	for _, relaxed := range []bool{false, true} {
		b.Run(fmt.Sprintf("relaxed=%v", relaxed), func(b *testing.B) {
			var hb hashBuf
			hb.h = sha256.New()
			var bc bodyCanon
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				hb.h.Reset()
				bc.reset(&hb, relaxed, -1)
				bc.Write(body)
				bc.finish()
			}
		})
	}
}
