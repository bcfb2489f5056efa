package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/auth/dkim"
	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

// Keys are generated once per test binary: 2048-bit RSA, the common case.
var (
	keyOnce          sync.Once
	goodKey, evilKey *rsa.PrivateKey
)

func keys(tb testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	keyOnce.Do(func() {
		var err error
		if goodKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if evilKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return goodKey, evilKey
}

// keyRecord returns zone text publishing the public key at name, the TXT
// data split into 255-octet strings.
func keyRecord(tb testing.TB, name string, k *rsa.PrivateKey) string {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	require.NoError(tb, err)
	txt := "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	var parts []string
	for len(txt) > 255 {
		parts = append(parts, `"`+txt[:255]+`"`)
		txt = txt[255:]
	}
	parts = append(parts, `"`+txt+`"`)
	return fmt.Sprintf("%s 300 IN TXT %s\n", name, strings.Join(parts, " "))
}

// testZone is the DNS of the tests: example.com sends from 192.0.2.0/24
// through mail.example.com (192.0.2.10, with matching reverse DNS), signs
// with selector s1 and publishes p=reject; evil.example signs its own mail.
func testZone(tb testing.TB) string {
	good, evil := keys(tb)
	return `
example.com. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
mail.example.com. 300 IN TXT "v=spf1 a -all"
mail.example.com. 300 IN A 192.0.2.10
10.2.0.192.in-addr.arpa. 300 IN PTR mail.example.com.
_dmarc.example.com. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"
evil.example. 300 IN TXT "v=spf1 ip4:203.0.113.0/24 -all"
` + keyRecord(tb, "s1._domainkey.example.com.", good) + keyRecord(tb, "e1._domainkey.evil.example.", evil)
}

// message returns a message of about size bytes from alice@example.com.
func message(size int) []byte {
	var b strings.Builder
	b.WriteString("From: Alice Example <alice@example.com>\r\n" +
		"To: Bob <bob@example.org>\r\n" +
		"Subject: Quarterly report\r\n" +
		"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n" +
		"Message-ID: <20261124100000.1234@mail.example.com>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n")
	line := "The figures for the quarter are attached below, with the notes from the meeting.\r\n"
	for b.Len() < size {
		b.WriteString(line)
	}
	return []byte(b.String())
}

func sign(tb testing.TB, raw []byte, domain, selector string, k *rsa.PrivateKey) []byte {
	s, err := dkim.NewSigner(dkim.SignOptions{Domain: domain, Selector: selector, Key: k})
	require.NoError(tb, err)
	field, err := s.Sign(bytes.NewReader(raw))
	require.NoError(tb, err)
	return append([]byte(field), raw...)
}

func newMessage(tb testing.TB, raw []byte, ip, helo, mailFrom string) *mailscore.Message {
	env := mailscore.Envelope{HELO: helo, MailFrom: mailFrom, RcptTo: []string{"bob@example.org"}}
	if ip != "" {
		env.ClientIP = netip.MustParseAddr(ip)
	}
	m, err := mailscore.NewMessage(env, raw, mailscore.Limits{})
	require.NoError(tb, err)
	return m
}

func newResolver(tb testing.TB, srv *dnstest.Server, cache bool) *dnsutil.Client {
	o := dnsutil.Options{Servers: []string{srv.Addr()}, Attempts: 1}
	if !cache {
		o.Cache.Size = -1
	}
	r, err := dnsutil.New(o)
	require.NoError(tb, err)
	return r
}
