package arc

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore/auth/authres"
	"github.com/mailscore/mailscore/auth/dkim"
)

func TestNewSealerOptions(t *testing.T) {
	key := loadKey(t, "ed25519.pem")
	small := loadKey(t, "rsa768.pem")
	for _, tc := range []struct {
		name string
		opts SealOptions
	}{
		{"no domain", SealOptions{Selector: "s", Key: key}},
		{"bad selector", SealOptions{Domain: "example.org", Selector: "a b", Key: key}},
		{"no key", SealOptions{Domain: "example.org", Selector: "s"}},
		{"short RSA key", SealOptions{Domain: "example.org", Selector: "s", Key: small}},
		{"bad canonicalization", SealOptions{Domain: "example.org", Selector: "s", Key: key, BodyCanonicalization: "nowsp"}},
		{"signs ARC-Seal", SealOptions{Domain: "example.org", Selector: "s", Key: key, Headers: []string{"From", "arc-seal"}}},
		{"signs Authentication-Results", SealOptions{Domain: "example.org", Selector: "s", Key: key, Headers: []string{"Authentication-Results"}}},
		{"oversigns an AAR", SealOptions{Domain: "example.org", Selector: "s", Key: key, Oversign: []string{"ARC-Authentication-Results"}}},
		{"bad header name", SealOptions{Domain: "example.org", Selector: "s", Key: key, Headers: []string{"Sub:ject"}}},
	} {
		_, err := NewSealer(tc.opts)
		require.Error(t, err, tc.name)
	}
	s := newSealer(t, SealOptions{Domain: "Example.ORG.", Selector: "s", Key: key, Headers: []string{"Subject"}, Oversign: []string{}})
	require.Equal(t, "example.org", s.opts.Domain)
	require.Equal(t, []string{"subject", "from"}, s.headers, "From is always signed")
	require.Contains(t, DefaultSignedHeaders(), "DKIM-Signature")
}

func TestSealerChainRules(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	msg := mustMessage(t, baseMessage)

	// A message without ARC: cv=none, whatever the (absent) result.
	set, err := w.listS.Seal(msg, nil, firstResults())
	require.NoError(t, err)
	require.Contains(t, set, "cv=none")
	require.Contains(t, set, "ARC-Authentication-Results: i=1; mx.lists.example.net; spf=pass")
	_, err = w.listS.Seal(msg, &Result{Status: StatusPass, Instance: 1}, firstResults())
	require.ErrorIs(t, err, ErrChainMismatch)

	sealed := mustMessage(t, set+baseMessage)
	_, err = w.fwdS.Seal(sealed, nil, laterResults("fwd"))
	require.ErrorIs(t, err, ErrChainMismatch, "a chain needs its validation result")
	_, err = w.fwdS.Seal(sealed, &Result{Status: StatusNone}, laterResults("fwd"))
	require.ErrorIs(t, err, ErrChainMismatch)
	_, err = w.fwdS.Seal(sealed, &Result{Status: StatusPass, Instance: 3}, laterResults("fwd"))
	require.ErrorIs(t, err, ErrChainMismatch)

	// A broken chain is sealed with cv=fail over the new set alone (RFC
	// 8617 section 5.1.2), and then never again (section 5.1 step 1).
	broken := mustMessage(t, set+strings.Replace(baseMessage, "Hello,", "Goodbye,", 1))
	chain := w.v.Validate(ctx, broken)
	require.Equal(t, StatusFail, chain.Status)
	set2, err := w.fwdS.Seal(broken, chain, laterResults("fwd"))
	require.NoError(t, err)
	require.Contains(t, set2, "cv=fail")
	require.Contains(t, set2, "i=2")
	twice := mustMessage(t, set2+string(broken.Raw()))
	res := w.v.Validate(ctx, twice)
	require.Equal(t, StatusFail, res.Status)
	require.ErrorIs(t, res.Err, ErrChainEnded)
	_, err = w.edS.Seal(twice, res, laterResults("ed"))
	require.ErrorIs(t, err, ErrNoSeal)

	// Payloads that could inject header lines are refused.
	for _, p := range []string{"mx; spf=pass\r\nX-Injected: yes", "mx; spf=pass\nX: y", "mx; spf=pass\x00", "not; a = valid ; results (", ""} {
		_, err := w.listS.SealPayload(msg, nil, p)
		require.Error(t, err, "%q", p)
	}
	// Folded payloads are fine.
	set, err = w.listS.SealPayload(msg, nil, "mx; spf=pass smtp.mailfrom=a@example.com;\r\n\tdkim=none")
	require.NoError(t, err)
	_, _, aar := splitSet(t, set)
	require.Equal(t, "i=1; mx; spf=pass smtp.mailfrom=a@example.com; dkim=none", squash(aar))

	_, err = w.listS.Seal(mustMessage(t, "Subject: no from\r\n\r\nbody\r\n"), nil, firstResults())
	require.Error(t, err)
}

func TestSealerFieldLayout(t *testing.T) {
	w := newWorld(t)
	long := authres.Header{AuthServID: "mx.lists.example.net"}
	for range 12 {
		long.Results = append(long.Results, authres.DKIM("fail", `reason with "quotes"; and a semicolon`, "example.com", "", "sel", "rsa-sha256", "AbCdEfGh"))
	}
	set, err := w.listS.Seal(mustMessage(t, baseMessage), nil, long)
	require.NoError(t, err)
	for _, l := range strings.Split(strings.TrimSuffix(set, "\r\n"), "\r\n") {
		require.LessOrEqual(t, len(l), 998)
		require.NotEqual(t, "", strings.TrimSpace(l), "no blank continuation lines")
	}
	as, ams, aar := splitSet(t, set)
	require.Equal(t, squash("i=1; "+long.String()), squash(aar), "folding only replaces spaces")
	for _, v := range []string{as, ams} {
		tags, err := dkim.ParseTagList(v)
		require.NoError(t, err)
		var names []string
		for _, tg := range tags {
			names = append(names, tg.Name)
		}
		require.IsNonDecreasing(t, names, "tags in alphabetical order")
	}
	res := w.v.Validate(context.Background(), mustMessage(t, set+baseMessage))
	require.Equal(t, StatusPass, res.Status, "%v", res.Err)
	require.Equal(t, len(long.Results), len(res.FirstHop().AAR.Header.Results))

	// Long h= lists fold after colons.
	many := make([]string, 0, 60)
	for i := range 60 {
		many = append(many, "X-Header-"+strings.Repeat("x", i%7))
	}
	s := newSealer(t, SealOptions{Domain: w.list.domain, Selector: w.list.selector, Key: w.list.key, Headers: many})
	set, err = s.Seal(mustMessage(t, baseMessage), nil, firstResults())
	require.NoError(t, err)
	for _, l := range strings.Split(set, "\r\n") {
		require.LessOrEqual(t, len(l), 998)
	}
	res = w.v.Validate(context.Background(), mustMessage(t, set+baseMessage))
	require.Equal(t, StatusPass, res.Status, "%v", res.Err)
}

func TestMergeAuthResults(t *testing.T) {
	msg := mustMessage(t, "Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=a@example.com\r\n"+
		"Authentication-Results: other.example; dkim=fail\r\n"+
		"Authentication-Results: MX.example.org 1; dkim=pass (2048-bit key; \"quoted\") header.d=example.com;\r\n"+
		"\tdmarc=pass reason=\"a; b\"\r\n"+
		"Authentication-Results: mx.example.org; none\r\n"+
		baseMessage)
	p, ok := MergeAuthResults(msg, "mx.example.org")
	require.True(t, ok)
	require.Equal(t, `mx.example.org; spf=pass smtp.mailfrom=a@example.com; dkim=pass (2048-bit key; "quoted") header.d=example.com; dmarc=pass reason="a; b"`, squash(p))
	h, err := authres.Parse(p)
	require.NoError(t, err)
	require.Len(t, h.Results, 3)

	p, ok = MergeAuthResults(msg, "nobody.example")
	require.False(t, ok)
	require.Empty(t, p)
	only := mustMessage(t, "Authentication-Results: mx; none\r\n"+baseMessage)
	p, ok = MergeAuthResults(only, "mx")
	require.True(t, ok)
	require.Equal(t, "mx; none", p)
}

func TestFoldText(t *testing.T) {
	for _, text := range []string{
		"",
		"short",
		strings.Repeat("word ", 40),
		`mx; dkim=fail reason="a very long quoted reason that must not be folded inside because that would change it" header.d=x`,
		strings.Repeat("x", 200) + " y",
		"a  b   c (comment with ; and spaces (nested) inside) d",
	} {
		out := foldText("Prefix: ", text)
		require.Equal(t, "Prefix: "+text, strings.ReplaceAll(out, "\r\n\t", " "), "a fold replaces one space")
		for i, l := range strings.Split(out, "\r\n") {
			if i == 0 {
				l = strings.TrimPrefix(l, "Prefix: ")
			}
			if len(l) > foldWidth {
				require.Len(t, splitTopLevel(strings.TrimLeft(l, "\t"), ' '), 1, "a long line has nowhere to fold: %q", l)
			}
		}
	}
}
