package arc

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/auth/authres"
	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

// txtRR returns a TXT record with value split into 255-octet strings (RFC
// 6376 section 3.6.2.2).
func txtRR(name, value string) dns.RR {
	var parts []string
	for len(value) > 255 {
		parts = append(parts, value[:255])
		value = value[255:]
	}
	parts = append(parts, value)
	return &dns.TXT{Hdr: dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 300}, Txt: parts}
}

// dnsServer starts a dnstest server with the given TXT records and returns
// it with a caching resolver pointed at it.
func dnsServer(tb testing.TB, records map[string]string) (*dnstest.Server, *dnsutil.Client) {
	tb.Helper()
	srv := dnstest.New(tb, "")
	for name, value := range records {
		srv.AddRR(txtRR(name, value))
	}
	r, err := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}, Timeout: 5 * time.Second})
	require.NoError(tb, err)
	return srv, r
}

// keyRecord returns the DNS TXT value publishing pub.
func keyRecord(tb testing.TB, pub crypto.PublicKey) string {
	tb.Helper()
	switch k := pub.(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(k)
		require.NoError(tb, err)
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(k)
	}
	tb.Fatalf("unsupported key %T", pub)
	return ""
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

// loadKey reads a PEM private key from testdata (made for these tests
// with openssl).
func loadKey(tb testing.TB, name string) crypto.Signer {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(tb, err)
	return parsePrivateKey(tb, b)
}

// hop is one intermediary of the tests: its domain, selector and key.
type hop struct {
	domain, selector string
	key              crypto.Signer
}

// world is the DNS and the intermediaries of the tests.
type world struct {
	srv           *dnstest.Server
	r             *dnsutil.Client
	list, fwd, ed hop
	v             *Validator
	listS, fwdS   *Sealer
	edS           *Sealer
}

func newWorld(tb testing.TB) *world {
	tb.Helper()
	w := &world{
		list: hop{"lists.example.net", "arc1", loadKey(tb, "rsa2048-a.pem")},
		fwd:  hop{"fwd.example.org", "s2", loadKey(tb, "rsa2048-b.pem")},
		ed:   hop{"ed.example", "ed", loadKey(tb, "ed25519.pem")},
	}
	recs := map[string]string{}
	for _, h := range []hop{w.list, w.fwd, w.ed} {
		recs[h.selector+"._domainkey."+h.domain] = keyRecord(tb, h.key.Public())
	}
	w.srv, w.r = dnsServer(tb, recs)
	w.v = newValidator(tb, Options{Resolver: w.r})
	w.listS = w.sealer(tb, w.list)
	w.fwdS = w.sealer(tb, w.fwd)
	w.edS = w.sealer(tb, w.ed)
	return w
}

func (w *world) sealer(tb testing.TB, h hop) *Sealer {
	return newSealer(tb, SealOptions{Domain: h.domain, Selector: h.selector, Key: h.key,
		Now: func() time.Time { return time.Unix(1795000000, 0) }})
}

func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

func mustMessage(tb testing.TB, raw string) *mailscore.Message {
	tb.Helper()
	m, err := mailscore.NewMessage(mailscore.Envelope{}, []byte(raw), mailscore.Limits{})
	require.NoError(tb, err)
	return m
}

func newValidator(tb testing.TB, opts Options) *Validator {
	tb.Helper()
	v, err := NewValidator(opts)
	require.NoError(tb, err)
	return v
}

func newSealer(tb testing.TB, opts SealOptions) *Sealer {
	tb.Helper()
	s, err := NewSealer(opts)
	require.NoError(tb, err)
	return s
}

// seal is one intermediary at work: it validates the chain of the message
// as received, changes the message (change may be nil), and seals it with
// its results and the chain's arc= result. It returns the sealed message.
func seal(tb testing.TB, v *Validator, s *Sealer, raw string, results authres.Header, change ...func(string) string) string {
	tb.Helper()
	chain := v.Validate(context.Background(), mustMessage(tb, raw))
	for _, c := range change {
		raw = c(raw)
	}
	results.Results = append(results.Results, chain.AuthResult(netip.Addr{}))
	set, err := s.Seal(mustMessage(tb, raw), chain, results)
	require.NoError(tb, err)
	return set + raw
}

// baseMessage is a small message with the usual signed fields.
const baseMessage = "From: Alice <alice@example.com>\r\n" +
	"To: list@lists.example.net\r\n" +
	"Subject: Hello\r\n" +
	"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n" +
	"Message-ID: <hello-1@example.com>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"Hello,  world.\r\n" +
	"\r\n" +
	"Second line\twith a tab.\r\n"
