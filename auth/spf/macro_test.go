package spf

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore/dnsutil"
)

// macroEvaluator builds the state macro expansion reads, without DNS
// (every lookup fails as offline, so %{p} is "unknown").
func macroEvaluator(ip, sender, helo string) *evaluator {
	c := New(dnsutil.Offline{}, Options{
		Receiver: "mx.receiver.example",
		Now:      func() time.Time { return time.Unix(1700000000, 0) },
	})
	at := strings.LastIndexByte(sender, '@')
	return &evaluator{
		c: c, ctx: context.Background(), ip: netip.MustParseAddr(ip).Unmap(),
		sender: sender, local: sender[:at], senderDomain: sender[at+1:], helo: helo,
	}
}

// TestMacroRFCExamples runs the examples of RFC 7208 section 7.4.
func TestMacroRFCExamples(t *testing.T) {
	v4 := macroEvaluator("192.0.2.3", "strong-bad@email.example.com", "mx.example.org")
	v6 := macroEvaluator("2001:db8::cb01", "strong-bad@email.example.com", "mx.example.org")
	tests := []struct {
		e        *evaluator
		in, want string
	}{
		{v4, "%{s}", "strong-bad@email.example.com"},
		{v4, "%{o}", "email.example.com"},
		{v4, "%{d}", "email.example.com"},
		{v4, "%{d4}", "email.example.com"},
		{v4, "%{d3}", "email.example.com"},
		{v4, "%{d2}", "example.com"},
		{v4, "%{d1}", "com"},
		{v4, "%{dr}", "com.example.email"},
		{v4, "%{d2r}", "example.email"},
		{v4, "%{l}", "strong-bad"},
		{v4, "%{l-}", "strong.bad"},
		{v4, "%{lr}", "strong-bad"},
		{v4, "%{lr-}", "bad.strong"},
		{v4, "%{l1r-}", "strong"},
		{v4, "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
		{v4, "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
		{v4, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
		{v4, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
		{v4, "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
		{v6, "%{ir}.%{v}._spf.%{d2}", "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"},
	}
	for _, tc := range tests {
		got, err := tc.e.expand(tc.in, "email.example.com", false)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
}

func TestMacroExpansion(t *testing.T) {
	v4 := macroEvaluator("192.0.2.3", "jack&jill=up+a_b~c@Sub.Example.com", "helo.example.org")
	v6 := macroEvaluator("2001:db8::cb01", "user@example.com", "helo.example.org")
	mapped := macroEvaluator("::ffff:192.0.2.3", "user@example.com", "helo.example.org")
	dashes := macroEvaluator("192.0.2.3", "a-b.c+d,e/f_g=h@example.com", "helo.example.org")
	tests := []struct {
		name     string
		e        *evaluator
		in       string
		exp      bool
		want     string
		wantFail string
	}{
		{name: "literal text is returned as it is", e: v4, in: "plain.example.com", want: "plain.example.com"},
		{name: "escapes", e: v4, in: "a%%b%_c%-d", want: "a%b c%20d"},
		{name: "helo", e: v4, in: "%{h}", want: "helo.example.org"},
		{name: "helo truncated", e: v4, in: "%{h2}", want: "example.org"},
		{name: "client v4 (exp)", e: v4, in: "%{c}", exp: true, want: "192.0.2.3"},
		{name: "client v6 (exp): RFC 5952 text", e: v6, in: "%{c}", exp: true, want: "2001:db8::cb01"},
		{name: "i v6: dotted nibbles", e: v6, in: "%{i}", want: "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1"},
		{name: "i v6 truncated to the right-hand 4 nibbles", e: v6, in: "%{i4}", want: "c.b.0.1"},
		{name: "ir v6 with 2 parts", e: v6, in: "%{i2r}", want: "0.2"},
		{name: "v for v6", e: v6, in: "%{v}", want: "ip6"},
		{name: "IPv4-mapped client is IPv4: i", e: mapped, in: "%{i}", want: "192.0.2.3"},
		{name: "IPv4-mapped client is IPv4: v", e: mapped, in: "%{v}", want: "in-addr"},
		{name: "IPv4-mapped client is IPv4: c", e: mapped, in: "%{c}", exp: true, want: "192.0.2.3"},
		{name: "receiver (exp)", e: v4, in: "%{r}", exp: true, want: "mx.receiver.example"},
		{name: "timestamp (exp)", e: v4, in: "%{t}", exp: true, want: "1700000000"},
		{name: "p without PTR data is unknown", e: v4, in: "%{p}", want: "unknown"},
		{name: "more digits than parts keeps all", e: v4, in: "%{d99}", want: "email.example.com"},
		{name: "digits over 128", e: v4, in: "%{d1000r}", want: "com.example.email"},
		{name: "URL escaping of upper-case letters", e: v4, in: "%{L}", want: "jack%26jill%3Dup%2Ba_b~c"},
		{name: "URL escaping keeps unreserved", e: v4, in: "%{S}", want: "jack%26jill%3Dup%2Ba_b~c%40Sub.Example.com"},
		{name: "URL escaping after transformers", e: v4, in: "%{L1r+}", want: "jack%26jill%3Dup"},
		{name: "o keeps case", e: v4, in: "%{o}", want: "Sub.Example.com"},
		{name: "delimiter -", e: dashes, in: "%{l-}", want: "a.b.c+d,e/f_g=h"},
		{name: "delimiter +", e: dashes, in: "%{l+}", want: "a-b.c.d,e/f_g=h"},
		{name: "delimiter ,", e: dashes, in: "%{l,}", want: "a-b.c+d.e/f_g=h"},
		{name: "delimiter /", e: dashes, in: "%{l/}", want: "a-b.c+d,e.f_g=h"},
		{name: "delimiter _", e: dashes, in: "%{l_}", want: "a-b.c+d,e/f.g=h"},
		{name: "delimiter =", e: dashes, in: "%{l=}", want: "a-b.c+d,e/f_g.h"},
		{name: "all delimiters, reversed", e: dashes, in: "%{lr.-+,/_=}", want: "h.g.f.e.d.c.b.a"},
		{name: "all delimiters, reversed, 3 parts", e: dashes, in: "%{l3r.-+,/_=}", want: "c.b.a"},
		{name: "delimiter given replaces the default dot", e: dashes, in: "%{lr-}", want: "b.c+d,e/f_g=h.a"},
		{name: "upper-case R transformer", e: v4, in: "%{dR}", want: "com.example.email"},
		{name: "c is only for explanations", e: v4, in: "%{c}", wantFail: "only in explanations"},
		{name: "unknown letter", e: v4, in: "%{x}", wantFail: "unknown macro letter"},
		{name: "zero digits", e: v4, in: "%{d0}", wantFail: "must not be zero"},
		{name: "bad escape", e: v4, in: "%x", wantFail: "followed by"},
		{name: "dangling percent", e: v4, in: "abc%", wantFail: "at the end"},
		{name: "unterminated", e: v4, in: "%{d", wantFail: "unterminated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.e.expand(tc.in, "email.example.com", tc.exp)
			if tc.wantFail != "" {
				require.ErrorContains(t, err, tc.wantFail)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestMacroExpansionBounded(t *testing.T) {
	e := macroEvaluator("192.0.2.3", strings.Repeat("x", 200)+"@example.com", "helo.example.org")
	_, err := e.expand(strings.Repeat("%{s}", 100), "example.com", false)
	require.ErrorIs(t, err, errExpansionTooLong)
}

func TestTruncateDomain(t *testing.T) {
	label := strings.Repeat("a", 60)
	long := strings.Repeat(label+".", 5) + "example.com" // 5*61 + 11 = 316
	got := truncateDomain(long)
	require.LessOrEqual(t, len(got), 253)
	require.True(t, strings.HasSuffix(long, got))
	require.Equal(t, strings.Repeat(label+".", 3)+"example.com", got, "whole labels are removed from the left")
	require.Equal(t, "example.com", truncateDomain("example.com"))
}

func TestQueryName(t *testing.T) {
	for in, want := range map[string]string{
		"example.com":                    "example.com.",
		"example.com.":                   "example.com.",
		"foo:bar/baz.example.com":        "foo:bar/baz.example.com.",
		"a b@c.example.com":              `a\ b\@c.example.com.`,
		"x\x01y.example.com":             `x\001y.example.com.`,
		strings.Repeat("a", 63) + ".com": strings.Repeat("a", 63) + ".com.",
	} {
		got, ok := queryName(in)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
		require.Equal(t, strings.TrimSuffix(in, "."), dnsutil.Unescape(strings.TrimSuffix(got, ".")), "unescape reverses %q", in)
	}
	for _, bad := range []string{"", ".", "a..b.com", ".a.com", strings.Repeat("a", 64) + ".com", strings.Repeat("abcdefghi.", 26)} {
		_, ok := queryName(bad)
		require.False(t, ok, bad)
	}
}

func TestCheckDomain(t *testing.T) {
	for in, want := range map[string]string{
		"Example.COM.":      "example.com",
		"bücher.example":    "xn--bcher-kva.example",
		"a-b_c.example.org": "a-b_c.example.org",
	} {
		got, ok := checkDomain(in)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "localhost", "[192.0.2.1]", "a..b.com", "a b.example.com", strings.Repeat("a", 64) + ".com", "\xff.example.com"} {
		_, ok := checkDomain(bad)
		require.False(t, ok, bad)
	}
}
