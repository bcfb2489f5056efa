package spf

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIsRecord(t *testing.T) {
	for txt, want := range map[string]bool{
		"v=spf1":          true,
		"v=spf1 -all":     true,
		"V=SpF1 mx":       true,
		"v=spf1  ":        true,
		"v=spf10":         false,
		"v=spf1mx":        false,
		"v=spf2.0/pra":    false,
		" v=spf1":         false,
		"":                false,
		"spf1":            false,
		"v=spf1\t-all":    false,
		"google-site-ver": false,
	} {
		require.Equal(t, want, IsRecord(txt), "%q", txt)
	}
}

func TestParseTerms(t *testing.T) {
	type term struct {
		kind   Kind
		qual   Qualifier
		domain string
		prefix string
		b4, b6 int
	}
	tests := []struct {
		rec   string
		terms []term
	}{
		{"v=spf1", nil},
		{"v=spf1 -all", []term{{kind: KindAll, qual: '-'}}},
		{"v=spf1  a   mx  ", []term{{kind: KindA, qual: '+', b4: 32, b6: 128}, {kind: KindMX, qual: '+', b4: 32, b6: 128}}},
		{"v=spf1 ~A:Example.COM/24//64 ?MX:mx.%{d2}//48 +Ptr -ptr:example.org",
			[]term{
				{kind: KindA, qual: '~', domain: "Example.COM", b4: 24, b6: 64},
				{kind: KindMX, qual: '?', domain: "mx.%{d2}", b4: 32, b6: 48},
				{kind: KindPTR, qual: '+'},
				{kind: KindPTR, qual: '-', domain: "example.org"},
			}},
		{"v=spf1 ip4:192.0.2.1 ip4:192.0.2.77/24 IP6:2001:DB8::1 ip6:2001:db8::cafe/33 ip4:0.0.0.0/0",
			[]term{
				{kind: KindIP4, qual: '+', prefix: "192.0.2.1/32"},
				{kind: KindIP4, qual: '+', prefix: "192.0.2.0/24"},
				{kind: KindIP6, qual: '+', prefix: "2001:db8::1/128"},
				{kind: KindIP6, qual: '+', prefix: "2001:db8::/33"},
				{kind: KindIP4, qual: '+', prefix: "0.0.0.0/0"},
			}},
		{"v=spf1 include:_spf.example.net exists:%{ir}.%{l1r+-}._spf.%{d} redirect=_spf.example.com exp=explain._spf.%{d}",
			[]term{
				{kind: KindInclude, qual: '+', domain: "_spf.example.net"},
				{kind: KindExists, qual: '+', domain: "%{ir}.%{l1r+-}._spf.%{d}"},
				{kind: KindRedirect, domain: "_spf.example.com"},
				{kind: KindExp, domain: "explain._spf.%{d}"},
			}},
		// Domain-specs may hold any visible character but "%" outside
		// macros; a trailing dot is allowed; "-" is allowed in the
		// top label when not at its ends.
		{"v=spf1 a:foo:bar/baz.example.com a:museum.example. a:foo.example.xn--zckzah a:%{d} a:x.%%",
			[]term{
				{kind: KindA, qual: '+', domain: "foo:bar/baz.example.com", b4: 32, b6: 128},
				{kind: KindA, qual: '+', domain: "museum.example.", b4: 32, b6: 128},
				{kind: KindA, qual: '+', domain: "foo.example.xn--zckzah", b4: 32, b6: 128},
				{kind: KindA, qual: '+', domain: "%{d}", b4: 32, b6: 128},
				{kind: KindA, qual: '+', domain: "x.%%", b4: 32, b6: 128},
			}},
	}
	for _, tc := range tests {
		rec, err := Parse(tc.rec)
		require.NoError(t, err, tc.rec)
		require.Len(t, rec.Terms, len(tc.terms), tc.rec)
		for i, want := range tc.terms {
			got := rec.Terms[i]
			require.Equal(t, want.kind, got.Kind, "%s term %d", tc.rec, i)
			require.Equal(t, want.qual, got.Qualifier, "%s term %d", tc.rec, i)
			require.Equal(t, want.domain, got.Domain, "%s term %d", tc.rec, i)
			if want.prefix != "" {
				require.Equal(t, netip.MustParsePrefix(want.prefix), got.Prefix, "%s term %d", tc.rec, i)
			}
			if want.kind == KindA || want.kind == KindMX {
				require.Equal(t, want.b4, got.Bits4, "%s term %d", tc.rec, i)
				require.Equal(t, want.b6, got.Bits6, "%s term %d", tc.rec, i)
			}
		}
	}
}

func TestParseModifiers(t *testing.T) {
	rec, err := Parse("v=spf1 moo.cow-far_out=man:dog/cat default=pass -all foo= redirect=x.example.com")
	require.NoError(t, err)
	require.Len(t, rec.Terms, 5)
	require.Equal(t, KindUnknown, rec.Terms[0].Kind)
	require.Equal(t, "moo.cow-far_out", rec.Terms[0].Name)
	require.Equal(t, "man:dog/cat", rec.Terms[0].Value)
	require.Equal(t, KindUnknown, rec.Terms[3].Kind)
	require.Equal(t, "", rec.Terms[3].Value)
	require.True(t, rec.HasAll)
	require.NotNil(t, rec.Redirect)
	require.Equal(t, "x.example.com", rec.Redirect.Domain)
	require.Nil(t, rec.Exp)
	require.Same(t, &rec.Terms[4], rec.Redirect)
	require.Equal(t, rec.Text, rec.String())
}

func TestParseErrors(t *testing.T) {
	for rec, want := range map[string]string{
		"v=spf10":                             "not an SPF record",
		"spf1 -all":                           "not an SPF record",
		"v=spf1 -all moo":                     "unknown mechanism",
		"v=spf1 -all.":                        "unknown mechanism",
		"v=spf1 -all:foo":                     "all takes no argument",
		"v=spf1 -all/8":                       "all takes no argument",
		"v=spf1 ip4:1.2.3.4/33":               "invalid prefix length",
		"v=spf1 ip4:1.2.3.4/032":              "invalid prefix length",
		"v=spf1 ip4:1.2.3.4//32":              "invalid prefix length",
		"v=spf1 ip4:1.2.3":                    "invalid IPv4 address",
		"v=spf1 ip4:01.2.3.4":                 "invalid IPv4 address",
		"v=spf1 ip4:1.2.3.4:8080":             "invalid IPv4 address",
		"v=spf1 ip4:2001:db8::1":              "invalid IPv4 address",
		"v=spf1 ip4":                          "needs",
		"v=spf1 ip6:1.2.3.4":                  "invalid IPv6 address",
		"v=spf1 ip6::CAFE::BABE":              "invalid IPv6 address",
		"v=spf1 ip6:fe80::1%eth0":             "invalid IPv6 address",
		"v=spf1 ip6:::1/129":                  "invalid prefix length",
		"v=spf1 ip6:::1//33":                  "invalid prefix length",
		"v=spf1 a/33":                         "invalid IPv4 prefix length",
		"v=spf1 a//129":                       "invalid IPv6 prefix length",
		"v=spf1 a/24/64":                      "invalid IPv4 prefix length",
		"v=spf1 a/":                           "unexpected",
		"v=spf1 a:":                           "empty domain",
		"v=spf1 mx:":                          "empty domain",
		"v=spf1 ptr/0":                        "unexpected",
		"v=spf1 ptr:":                         "empty domain",
		"v=spf1 include":                      "needs",
		"v=spf1 include:":                     "empty domain",
		"v=spf1 include:ip5.example.com/24":   "top-level label",
		"v=spf1 exists":                       "needs",
		"v=spf1 exists:mail.example.com/24":   "top-level label",
		"v=spf1 a:museum":                     "does not end in a dot",
		"v=spf1 a:museum.":                    "does not end in a dot",
		"v=spf1 a:111.222.33.44":              "top-level label",
		"v=spf1 a:abc.123":                    "top-level label",
		"v=spf1 a:example.-com":               "top-level label",
		"v=spf1 a:example.com-":               "top-level label",
		"v=spf1 a:example.com:8080":           "top-level label",
		"v=spf1 a:%{x}.example.com":           "unknown macro letter",
		"v=spf1 a:%{c}.example.com":           "allowed only in explanations",
		"v=spf1 a:%{r}.example.com":           "allowed only in explanations",
		"v=spf1 a:%{t}.example.com":           "allowed only in explanations",
		"v=spf1 a:%{d0}.example.com":          "must not be zero",
		"v=spf1 a:%{d2x}.example.com":         "invalid macro delimiter",
		"v=spf1 a:%{}.example.com":            "empty macro",
		"v=spf1 a:%{d.example.com":            "unterminated macro",
		"v=spf1 exists:%(ir).sbl.example.com": "followed by '('",
		"v=spf1 exists:foo%.sbl.example.com":  "followed by '.'",
		"v=spf1 exists:foo.example.com%":      "at the end",
		"v=spf1 redirect:t2.example.com":      "unknown mechanism",
		"v=spf1 redirect=":                    "needs a domain",
		"v=spf1 exp=":                         "needs a domain",
		"v=spf1 exp=-all":                     "does not end in a dot",
		"v=spf1 redirect=a.example.com redirect=b.example.com": "more than once",
		"v=spf1 exp=a.example.com exp=b.example.com":           "more than once",
		"v=spf1 1up=foo":                                "unknown mechanism",
		"v=spf1 =all":                                   "unknown mechanism",
		"v=spf1 -":                                      "missing mechanism name",
		"v=spf1 foo=%abc":                               "followed by 'a'",
		"v=spf1 moo.cow/far_out=man:dog/cat":            "unknown mechanism",
		"v=spf1 a:foo.example.com\x00":                  "not allowed",
		"v=spf1 a:ctrl.example.com\rptr -all":           "not allowed",
		"v=spf1 ip4:192.0.2.5\n include:x.example.com":  "not allowed",
		"v=spf1 a:\xef\xbb\xbfgarbage.example.net -all": "not allowed",
		"v=spf1 \x80a:example.net -all":                 "not allowed",
		"v=spf1\t-all":                                  "not an SPF record",
	} {
		_, err := Parse(rec)
		require.Error(t, err, "%q", rec)
		require.ErrorIs(t, err, ErrSyntax, "%q", rec)
		var se *SyntaxError
		require.True(t, errors.As(err, &se))
		require.Equal(t, rec, se.Record)
		require.Contains(t, err.Error(), want, "%q", rec)
	}
}

func TestKindAndQualifier(t *testing.T) {
	dnsKinds := map[Kind]bool{KindInclude: true, KindA: true, KindMX: true, KindPTR: true, KindExists: true, KindRedirect: true}
	for k := KindAll; k <= KindUnknown; k++ {
		require.Equal(t, dnsKinds[k], k.QueriesDNS(), k.String())
		require.Equal(t, k <= KindExists, k.Mechanism(), k.String())
		require.NotEqual(t, "invalid", k.String())
	}
	require.Equal(t, "invalid", Kind(99).String())
	require.Equal(t, Pass, QualifierPass.Result())
	require.Equal(t, Fail, QualifierFail.Result())
	require.Equal(t, SoftFail, QualifierSoftFail.Result())
	require.Equal(t, Neutral, QualifierNeutral.Result())
}

func TestResultCodeNames(t *testing.T) {
	for c := None; c <= PermError; c++ {
		got, err := ParseResultCode(c.String())
		require.NoError(t, err)
		require.Equal(t, c, got)
	}
	got, err := ParseResultCode("SoftFail")
	require.NoError(t, err)
	require.Equal(t, SoftFail, got)
	_, err = ParseResultCode("unknown")
	require.Error(t, err)
	require.Equal(t, "invalid", ResultCode(42).String())
}
