package dkim

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mailscore/mailscore"
)

func FuzzParseSignature(f *testing.F) {
	for _, s := range []string{
		"v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=sel; h=from:to; bh=YWJj; b=YWJj",
		"v=1; a=ed25519-sha256; c=simple; d=example.com; i=joe=40x@example.com; q=dns/txt; s=s; t=1; x=2; l=10; h=From; bh=; b=",
		" v = 1 ;\r\n\ta=rsa-sha1;d=x;;s=y;h=a:b\r\n :c; z=From:a|To:b; bh=a b c; b=",
		"v=1; v=1", "=", ";", "a", "v=1; h=" + strings.Repeat("x:", 300),
	} {
		f.Add(s)
	}
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, value string) {
		var sig signature
		var r Result
		err := parseSignature(value, &sig, &r, now, DefaultClockSkew, false, nil)
		_ = r.AuthResValue()
		_ = r.SignedHeaders()
		if err != nil {
			return
		}
		if sig.domain == "" || sig.selector == "" || !strings.Contains(strings.ToLower(sig.h), "from") {
			t.Fatalf("accepted without d=, s= or From in h=: %q", value)
		}
		if sig.bStart > sig.bEnd || sig.bEnd > len(value) || value[sig.bStart-1] != '=' && !strings.HasSuffix(strings.TrimRight(value[:sig.bStart], " \t\r\n"), "=") {
			t.Fatalf("bad b= region %d..%d in %q", sig.bStart, sig.bEnd, value)
		}
		if sig.alg != algRSASHA256 && sig.alg != algEd25519SHA256 {
			t.Fatalf("accepted algorithm %v", sig.alg)
		}
	})
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{
		"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB",
		"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		"v=DKIM1; h=sha1:sha256; s=email:*; t=y:s; n=x; p=",
		"k=rsa; t; p=abc", "", "p", "v=DKIM1; p=MIGJAoGBALVI635dLK4cJJAH3Lx6upo3X/Lm1tQz3mezcWTA3BUBnyIhcjEYe9uQ9eVf7zrC0zlyuUDrJNXvq6hC2aOpHvr6Ov8mEWO0h4gTaC6ir3P6wKk6Hk3jVXk8ukovr/eNa1n5T3jkmk6PxfZkL4aP2o6hvQFLfl7PKmgpuy4RAgMBAAE=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rec string) {
		k := parseKey(rec)
		if k.err != nil {
			return
		}
		switch k.typ {
		case keyRSA:
			if k.rsa == nil || k.bits <= 0 || k.bits > MaxRSABits {
				t.Fatalf("bad RSA key %d bits from %q", k.bits, rec)
			}
		case keyEd25519:
			if len(k.ed) != 32 {
				t.Fatalf("bad Ed25519 key from %q", rec)
			}
		default:
			t.Fatalf("no key type from %q", rec)
		}
	})
}

// FuzzCanonicalization checks the streaming body canonicalizer against the
// line-at-a-time reference, whatever the chunking, and that relaxed output
// (body and header value) is a fixed point.
func FuzzCanonicalization(f *testing.F) {
	for _, s := range []string{" C \r\nD \t E\r\n\r\n\r\n", "", "a\nb\r\n\r", "\r\r\n\n \t\r\n", "x  y\t\r\n z"} {
		f.Add([]byte(s), uint16(1))
	}
	f.Fuzz(func(t *testing.T, body []byte, cut uint16) {
		c := int(cut) % (len(body) + 1)
		for _, relaxed := range []bool{false, true} {
			want := refBody(body, relaxed)
			got, total := canonBody(body, relaxed, -1, []int{c})
			if !bytes.Equal(got, want) || total != int64(len(want)) {
				t.Fatalf("relaxed=%v cut=%d: got %q want %q", relaxed, c, got, want)
			}
			if relaxed {
				again, _ := canonBody(got, true, -1, nil)
				if !bytes.Equal(again, got) {
					t.Fatalf("relaxed body not idempotent: %q -> %q", got, again)
				}
			}
			limited, total := canonBody(body, relaxed, int64(c), nil)
			if !bytes.Equal(limited, want[:min(c, len(want))]) || total != int64(len(want)) {
				t.Fatalf("l=%d: got %q of %q", c, limited, want)
			}
		}
		// Header value: relaxed output canonicalizes to itself.
		rec := &recorder{}
		w := &hashBuf{h: rec}
		rv := relaxedValue{w: w}
		rv.write(body[:c])
		rv.write(body[c:])
		w.flush()
		once := bytes.Clone(rec.Bytes())
		rec.Reset()
		rv = relaxedValue{w: w}
		rv.write(once)
		w.flush()
		if !bytes.Equal(once, rec.Bytes()) {
			t.Fatalf("relaxed header value not idempotent: %q -> %q", once, rec.Bytes())
		}
	})
}

// FuzzVerify runs whole messages through both verification paths, with a
// key served by dnstest: no panic, and both paths agree.
func FuzzVerify(f *testing.F) {
	key := loadKey(f, "ed25519.pem")
	_, r := dnsServer(f, map[string]string{"ed._domainkey.example.com": keyRecord(f, key.Public(), "")})
	v := newVerifier(f, Options{Resolver: r})
	s, err := NewSigner(SignOptions{Domain: "example.com", Selector: "ed", Key: key})
	if err != nil {
		f.Fatal(err)
	}
	msg := crlfText(sampleMessage)
	field, err := s.Sign(strings.NewReader(msg))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(field + msg))
	f.Add([]byte("DKIM-Signature: v=1; a=ed25519-sha256; d=example.com; s=ed; h=from; bh=; b=\r\nFrom: a\r\n\r\n"))
	f.Add([]byte("DKIM-Signature: x\nDKIM-Signature: v=1\n\n"))
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := mailscore.NewMessage(mailscore.Envelope{}, raw, mailscore.Limits{})
		res2, err2 := v.Verify(ctx, bytes.NewReader(raw))
		if err != nil {
			return
		}
		res := v.VerifyMessage(ctx, m)
		if err2 != nil {
			t.Fatalf("Verify failed (%v) where NewMessage did not", err2)
		}
		if len(res) != len(res2) {
			t.Fatalf("%d results vs %d", len(res), len(res2))
		}
		for i := range res {
			if res[i].Status != res2[i].Status {
				t.Fatalf("signature %d: %s (%v) vs %s (%v)", i, res[i].Status, res[i].Err, res2[i].Status, res2[i].Err)
			}
			if res[i].Status == StatusPass && res[i].Err != nil || res[i].Status != StatusPass && res[i].Err == nil {
				t.Fatalf("status %s with error %v", res[i].Status, res[i].Err)
			}
			_ = res[i].AuthResValue()
		}
	})
}
