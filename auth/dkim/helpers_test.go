package dkim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

// loadKey reads a PEM private key from testdata (generated for these tests
// with openssl).
func loadKey(tb testing.TB, name string) crypto.Signer {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(tb, err)
	return parsePrivateKey(tb, b)
}

func parsePrivateKey(tb testing.TB, b []byte) crypto.Signer {
	tb.Helper()
	blk, _ := pem.Decode(b)
	require.NotNil(tb, blk, "no PEM block")
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	require.NoError(tb, err)
	return k.(crypto.Signer)
}

// keyRecord returns the DNS TXT value publishing pub.
func keyRecord(tb testing.TB, pub crypto.PublicKey, extra string) string {
	tb.Helper()
	switch k := pub.(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(k)
		require.NoError(tb, err)
		return "v=DKIM1; k=rsa; " + extra + "p=" + base64.StdEncoding.EncodeToString(der)
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; " + extra + "p=" + base64.StdEncoding.EncodeToString(k)
	}
	tb.Fatalf("unsupported key %T", pub)
	return ""
}

// txtRR returns a TXT record with value split into 255-octet strings, as
// RFC 6376 section 3.6.2.2 requires of long keys.
func txtRR(name, value string) dns.RR {
	var parts []string
	for len(value) > 255 {
		parts = append(parts, value[:255])
		value = value[255:]
	}
	parts = append(parts, value)
	return &dns.TXT{Hdr: dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 300}, Txt: parts}
}

// dnsServer starts a dnstest server with the given TXT records (name ->
// value) and returns it with a resolver pointed at it.
func dnsServer(tb testing.TB, records map[string]string) (*dnstest.Server, dnsutil.Resolver) {
	tb.Helper()
	srv := dnstest.New(tb, "")
	for name, value := range records {
		srv.AddRR(txtRR(name, value))
	}
	r, err := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}, Timeout: 5 * time.Second})
	require.NoError(tb, err)
	return srv, r
}

func newVerifier(tb testing.TB, opts Options) *Verifier {
	tb.Helper()
	v, err := NewVerifier(opts)
	require.NoError(tb, err)
	return v
}

func verifyBytes(tb testing.TB, v *Verifier, msg []byte) []Result {
	tb.Helper()
	m, err := mailscore.NewMessage(mailscore.Envelope{}, msg, mailscore.Limits{})
	require.NoError(tb, err)
	res := v.VerifyMessage(context.Background(), m)
	// The streaming path must agree with the parsed-message path.
	res2, err := v.Verify(context.Background(), bytes.NewReader(msg))
	require.NoError(tb, err)
	require.Equal(tb, len(res), len(res2))
	for i := range res {
		require.Equal(tb, res[i].Status, res2[i].Status, "signature %d: VerifyMessage and Verify disagree", i)
		require.Equal(tb, errString(res[i].Err), errString(res2[i].Err))
	}
	return res
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func crlfText(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// recorder is a hash.Hash that keeps what it is given, to test
// canonicalization output.
type recorder struct{ bytes.Buffer }

func (r *recorder) Sum(b []byte) []byte { return append(b, r.Bytes()...) }
func (r *recorder) Size() int           { return 0 }
func (r *recorder) BlockSize() int      { return 1 }

// pkcs1Base64 returns pub as a base64 PKCS#1 RSAPublicKey, the form RFC
// 6376 section 3.6.1 names (most publish SubjectPublicKeyInfo).
func pkcs1Base64(tb testing.TB, pub *rsa.PublicKey) string {
	tb.Helper()
	return base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PublicKey(pub))
}

func mustMessage(tb testing.TB, msg string) *mailscore.Message {
	tb.Helper()
	m, err := mailscore.NewMessage(mailscore.Envelope{}, []byte(msg), mailscore.Limits{})
	require.NoError(tb, err)
	return m
}
