package dkim

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const sampleMessage = `From: Joe SixPack <joe@football.example.com>
To: Suzie Q <suzie@shopping.example.net>
Subject: Is dinner ready?
Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)
Message-ID: <20030712040037.46341.5F8J@football.example.com>

Hi.

We lost the game.  Are you hungry yet?	 
  
Joe.


`

func TestSignVerifyRoundTrip(t *testing.T) {
	rsaKey := loadKey(t, "rsa2048.pem").(*rsa.PrivateKey)
	edKey := loadKey(t, "ed25519.pem").(ed25519.PrivateKey)
	_, r := dnsServer(t, map[string]string{
		"rsa._domainkey.example.com": keyRecord(t, &rsaKey.PublicKey, ""),
		"ed._domainkey.example.com":  keyRecord(t, edKey.Public(), ""),
	})
	v := newVerifier(t, Options{Resolver: r})
	for _, key := range []struct {
		sel  string
		key  crypto.Signer
		alg  string
		bits int
	}{{"rsa", rsaKey, "rsa-sha256", 2048}, {"ed", edKey, "ed25519-sha256", 256}} {
		for _, hc := range []Canonicalization{Simple, Relaxed} {
			for _, bc := range []Canonicalization{Simple, Relaxed} {
				for _, l := range []bool{false, true} {
					for _, lf := range []bool{false, true} {
						name := fmt.Sprintf("%s/%s-%s/l=%v/lf=%v", key.sel, hc, bc, l, lf)
						t.Run(name, func(t *testing.T) {
							s, err := NewSigner(SignOptions{Domain: "example.com", Selector: key.sel, Key: key.key,
								HeaderCanonicalization: hc, BodyCanonicalization: bc, BodyLength: l})
							require.NoError(t, err)
							msg := crlfText(sampleMessage)
							if lf {
								msg = strings.ReplaceAll(msg, "\r\n", "\n")
							}
							field, err := s.Sign(strings.NewReader(msg))
							require.NoError(t, err)
							if lf {
								require.NotContains(t, field, "\r")
							}
							signed := []byte(field + msg)
							res := verifyBytes(t, v, signed)
							require.Len(t, res, 1)
							require.Equal(t, StatusPass, res[0].Status, "%v\n%s", res[0].Err, signed)
							require.NoError(t, res[0].Err)
							require.Equal(t, "example.com", res[0].Domain)
							require.Equal(t, key.alg, res[0].Algorithm)
							require.Equal(t, key.bits, res[0].KeyBits)
							require.Equal(t, string(hc)+"/"+string(bc), res[0].Canonicalization)
							require.Equal(t, l, res[0].BodyLength.Limited)

							// Appending to the body breaks the signature,
							// except with l=, which reports the extra.
							res = verifyBytes(t, v, append(bytes.Clone(signed), "Buy now!\r\n"...))
							if l {
								require.Equal(t, StatusPass, res[0].Status)
								require.Positive(t, res[0].BodyLength.Unsigned())
							} else {
								require.Equal(t, StatusFail, res[0].Status)
								require.ErrorIs(t, res[0].Err, ErrBodyHashMismatch)
							}
							// Changing the subject breaks it.
							res = verifyBytes(t, v, bytes.Replace(signed, []byte("dinner"), []byte("lunch"), 1))
							require.Equal(t, StatusFail, res[0].Status)
							require.True(t, errors.Is(res[0].Err, ErrSignatureMismatch), "%v", res[0].Err)
						})
					}
				}
			}
		}
	}
}
