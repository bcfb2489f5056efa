package arc

import (
	"strings"
	"testing"
	"time"

	"github.com/mailscore/mailscore"
)

const (
	seedAMS = "a=rsa-sha256;\r\n b=QsRzR/UqwRfVLBc1TnoQomlVw5qi6jp08q8lHpBSl4RehWyHQtY3uOIAGdghDk/mO+/Xpm=;\r\n" +
		" bh=KWSe46TZKCcDbH4klJPo+tjk5LWJnVRlP5pvjXFZYLQ=; c=relaxed/relaxed;\r\n" +
		" d=example.org; h=from:to:date:subject:mime-version:arc-authentication-results;\r\n i=1; s=dummy; t=12345"
	seedAS  = "a=rsa-sha256; b=dOdFEyhrk/tw5wl3vMIogoxhaVsKJkrkEhnAcq2XqOLSQhPpGzhGBJzR7k1sWGokon3TmQ=; cv=none; d=example.org; i=1; s=dummy; t=12345"
	seedAAR = " i=1; lists.example.org;\r\n spf=pass smtp.mfrom=jqd@d1.example;\r\n dkim=pass (1024-bit key) header.i=@d1.example;\r\n dmarc=pass"
)

func FuzzParseAAR(f *testing.F) {
	for _, s := range []string{seedAAR, "i=50;x", " (c) i (c) = (c) 7 (c) ; p", "i=0; x", "i=1 x", "I=1; x", "i=(", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		inst, payload, err := parseAAR(v)
		if err != nil {
			return
		}
		if inst < 1 || inst > MaxInstance {
			t.Fatalf("instance %d out of range", inst)
		}
		if !strings.HasSuffix(v, payload) {
			t.Fatalf("payload %q is not the end of %q", payload, v)
		}
		_ = parsePayload(payload)
	})
}

func FuzzParseTagged(f *testing.F) {
	for _, s := range []string{seedAMS, seedAS, "i=1; cv=pass", "i=01;a=ed25519-sha256;b=;bh=;d=x;s=y;h=From", "i=1;;", "i=99", "x=1; i=1; c=simple; l=5; q=dns/txt"} {
		f.Add(s)
	}
	now := time.Unix(1795000000, 0)
	f.Fuzz(func(t *testing.T, v string) {
		ts, err := parseTagged(v)
		if err != nil {
			return
		}
		if ts.instance < 1 || ts.instance > MaxInstance {
			t.Fatalf("instance %d out of range", ts.instance)
		}
		if cv, err := parseCV(&ts); err == nil && cv != StatusNone && cv != StatusPass && cv != StatusFail {
			t.Fatalf("cv %q", cv)
		}
		var sig Signature
		if a, err := parseAMS(&ts, &sig, now, time.Minute); err == nil {
			if a.bStart > a.bEnd || a.bEnd > len(v) || len(a.b) == 0 || len(a.bh) != 32 {
				t.Fatalf("bad AMS parse of %q: %+v", v, a)
			}
		}
		if s, err := parseSeal(&ts, &sig, now, time.Minute); err == nil {
			if s.bStart > s.bEnd || s.bEnd > len(v) || len(s.b) == 0 {
				t.Fatalf("bad seal parse of %q: %+v", v, s)
			}
		}
	})
}

// FuzzChainStructure feeds whole header sections to the structure checks
// and the signature parsing of the Validator (steps 1 to 3 of RFC 8617
// section 5.2; no DNS).
func FuzzChainStructure(f *testing.F) {
	f.Add("ARC-Seal: " + seedAS + "\r\nARC-Message-Signature: " + seedAMS + "\r\nARC-Authentication-Results:" + seedAAR + "\r\nFrom: a@example.com\r\n")
	f.Add("ARC-Seal: i=2; cv=pass\r\nARC-Seal: i=1; cv=none\r\nFrom: a\r\n")
	f.Add("arc-authentication-results: i=1; x; none\r\nARC-MESSAGE-SIGNATURE: i=1\r\n")
	v := &Validator{maxSets: DefaultMaxSets, skew: time.Minute}
	f.Fuzz(func(t *testing.T, hdr string) {
		msg, err := mailscore.NewMessage(mailscore.Envelope{}, []byte(hdr+"\r\n\r\nbody\r\n"), mailscore.Limits{})
		if err != nil {
			return
		}
		c := &chain{v: v, msg: msg, fields: msg.Header.Fields(), res: &Result{Status: StatusNone}, now: time.Unix(1795000000, 0)}
		if r := c.collect(); r != nil {
			switch r.Status {
			case StatusNone:
				if Present(msg) {
					t.Fatal("none with ARC fields present")
				}
			case StatusFail:
				if r.Err == nil || len(r.Sets) != 0 {
					t.Fatalf("fail without a reason, or with sets: %+v", r)
				}
			default:
				t.Fatalf("structure check gave %s", r.Status)
			}
			return
		}
		if len(c.res.Sets) != c.res.Instance || c.res.Instance < 1 || c.res.Instance > DefaultMaxSets {
			t.Fatalf("%d sets for instance %d", len(c.res.Sets), c.res.Instance)
		}
		c.parseSignatures()
	})
}

// FuzzSealText checks the text handling of the Sealer: a payload it
// accepts folds back to itself and can never start a header line.
func FuzzSealText(f *testing.F) {
	for _, s := range []string{
		"mx.example.org; spf=pass smtp.mailfrom=a@example.com; dkim=none",
		`mx; dkim=fail reason="x; \"y\" (z)" header.d=example.com (comment; with ; semicolons)`,
		"mx;\r\n\tspf=pass",
		"mx; spf=pass\r\nX-Injected: 1",
		strings.Repeat("mx; dkim=pass header.d=example.com ", 20),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		clean, err := cleanPayload(p)
		if err != nil {
			return
		}
		out := foldText(FieldAAR+": i=1; ", clean)
		lines := strings.Split(out, "\r\n")
		for i, l := range lines {
			if i > 0 && (l == "" || (l[0] != '\t' && l[0] != ' ')) {
				t.Fatalf("line %d of %q does not continue the field", i, out)
			}
			if strings.ContainsAny(l, "\r\n") {
				t.Fatalf("stray line break in %q", out)
			}
		}
		if got := strings.ReplaceAll(out, "\r\n\t", " "); got != FieldAAR+": i=1; "+clean {
			t.Fatalf("folding changed the text: %q", got)
		}
		msg, err := mailscore.NewMessage(mailscore.Envelope{}, []byte("Authentication-Results: "+p+"\r\nFrom: a\r\n\r\nb\r\n"), mailscore.Limits{})
		if err == nil {
			_, _ = MergeAuthResults(msg, "mx")
		}
	})
}
