package spf

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReceivedSPF(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.1")
	base := Result{Identity: MailFrom, IP: ip, HELO: "mail.example.com", Sender: "bob@example.com", Domain: "example.com"}
	with := func(f func(*Result)) Result { r := base; f(&r); return r }
	tests := []struct {
		res  Result
		want string
	}{
		{with(func(r *Result) { r.Code = Pass; r.Mechanism = "ip4:192.0.2.0/24" }),
			`pass (mx.example.org: domain of bob@example.com designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from="bob@example.com"; helo=mail.example.com; receiver=mx.example.org; identity=mailfrom; mechanism="ip4:192.0.2.0/24"`},
		{with(func(r *Result) { r.Code = SoftFail; r.Mechanism = "~all" }),
			`softfail (mx.example.org: domain of bob@example.com does not designate 192.0.2.1 as permitted sender \(softfail: transitioning\)) client-ip=192.0.2.1; envelope-from="bob@example.com"; helo=mail.example.com; receiver=mx.example.org; identity=mailfrom; mechanism=~all`},
		{with(func(r *Result) { r.Code = Neutral }),
			`neutral (mx.example.org: 192.0.2.1 is neither permitted nor denied by domain of bob@example.com) client-ip=192.0.2.1; envelope-from="bob@example.com"; helo=mail.example.com; receiver=mx.example.org; identity=mailfrom`},
		{with(func(r *Result) { r.Code = None }),
			`none (mx.example.org: domain of bob@example.com does not designate permitted sender hosts) client-ip=192.0.2.1; envelope-from="bob@example.com"; helo=mail.example.com; receiver=mx.example.org; identity=mailfrom`},
		{with(func(r *Result) { r.Code = PermError; r.Err = ErrLookupLimit }),
			`permerror (mx.example.org: permanent error in the SPF record of example.com) client-ip=192.0.2.1; envelope-from="bob@example.com"; helo=mail.example.com; receiver=mx.example.org; identity=mailfrom; problem="spf: more than 10 DNS-querying terms"`},
		{with(func(r *Result) { r.Code = TempError; r.Err = errors.New("timeout") }),
			`temperror (mx.example.org: temporary error checking domain of bob@example.com) client-ip=192.0.2.1; envelope-from="bob@example.com"; helo=mail.example.com; receiver=mx.example.org; identity=mailfrom; problem=timeout`},
		{with(func(r *Result) { r.Code = Pass; r.Identity = HELO; r.Sender = "postmaster@mail.example.com" }),
			`pass (mx.example.org: HELO mail.example.com designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from="postmaster@mail.example.com"; helo=mail.example.com; receiver=mx.example.org; identity=helo`},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, tc.res.ReceivedSPF("mx.example.org"))
	}
}

// TestReceivedSPFHostile: client-supplied text cannot close the comment,
// break the line or add a key.
func TestReceivedSPFHostile(t *testing.T) {
	r := Result{
		Code: Fail, Identity: MailFrom, IP: netip.MustParseAddr("2001:db8::1"),
		HELO:   "evil) receiver=me; x=\"y\r\nX-Injected: 1",
		Sender: "\"a)(b\\\"\"@example.com\r\nBcc: victim@example.org",
		Domain: "example.com", Mechanism: "-all",
	}
	h := r.ReceivedSPF("")
	require.NotContains(t, h, "\r")
	require.NotContains(t, h, "\n")
	// Outside quoted-strings, the comment's parentheses balance, so
	// nothing escapes it; every quoted-string ends.
	depth, quoted := 0, false
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case c == '\\':
			i++
		case c == '"' && depth == 0:
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
			require.GreaterOrEqual(t, depth, 0, h)
		}
	}
	require.Zero(t, depth, h)
	require.False(t, quoted, h)
	require.Contains(t, h, `helo="evil) receiver=me; x=\"yX-Injected: 1";`)
	require.Contains(t, h, "receiver=unknown;")
	require.Contains(t, h, "client-ip=2001:db8::1;")
	require.Equal(t, 1, strings.Count(h, "; receiver="), "the injected key stays inside the quoted helo")

	v := r.AuthResValue()
	require.NotContains(t, v, "\n")
	require.True(t, strings.HasPrefix(v, `spf=fail smtp.mailfrom="`), v)
}

func TestAuthRes(t *testing.T) {
	r := Result{Code: Pass, Identity: MailFrom, Sender: "bob.smith+tag@example.com", HELO: "mail.example.com"}
	require.Equal(t, "spf=pass smtp.mailfrom=bob.smith+tag@example.com", r.AuthResValue())
	p, v := r.AuthResProperty()
	require.Equal(t, "smtp.mailfrom", p)
	require.Equal(t, "bob.smith+tag@example.com", v)
	r.Sender = "Macro Error@example.com"
	require.Equal(t, `spf=pass smtp.mailfrom="Macro Error@example.com"`, r.AuthResValue())
	r.Identity, r.Code = HELO, SoftFail
	require.Equal(t, "spf=softfail smtp.helo=mail.example.com", r.AuthResValue())
}

func TestSummary(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.1")
	for _, tc := range []struct {
		r    Result
		want string
	}{
		{Result{Code: Fail, IP: ip, Domain: "example.com", Path: []string{"-all"}}, "fail: example.com does not authorize 192.0.2.1 (-all matched)"},
		{Result{Code: SoftFail, IP: ip, Domain: "example.com", Path: []string{"~all"}}, "softfail: example.com probably does not authorize 192.0.2.1 (softfail) (~all matched)"},
		{Result{Code: Neutral, IP: ip, Domain: "example.com"}, "neutral: example.com neither authorizes nor denies 192.0.2.1 (no mechanism matched)"},
		{Result{Code: None, IP: ip, Domain: "example.com"}, "none: example.com publishes no SPF record"},
		{Result{Code: None, IP: ip, Domain: "localhost", Err: ErrInvalidDomain}, "none: spf: not a valid domain name"},
		{Result{Code: PermError, IP: ip, Domain: "example.com", Err: ErrVoidLimit}, "permerror: the SPF record of example.com is broken: spf: too many void lookups"},
		{Result{Code: TempError, IP: ip, Domain: "example.com", Err: errors.New("x")}, "temperror: could not check example.com (temporary DNS failure): x"},
	} {
		require.Equal(t, tc.want, tc.r.Summary())
	}
}

func TestStepString(t *testing.T) {
	require.Equal(t, "  a.example: include:%{d2}.x.example [y.x.example] -> no match: included result fail",
		Step{Depth: 1, Domain: "a.example", Term: "include:%{d2}.x.example", Target: "y.x.example", Note: "no match", Detail: "included result fail"}.String())
	require.Equal(t, "a.example: record: v=spf1 -all", Step{Domain: "a.example", Note: "record", Detail: "v=spf1 -all"}.String())
}

func BenchmarkParse(b *testing.B) {
	const rec = "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx:mx.example.com/28 include:_spf.example.net exists:%{ir}._spf.%{d} ~all"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(rec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReceivedSPF(b *testing.B) {
	r := Result{Code: Pass, Identity: MailFrom, IP: netip.MustParseAddr("192.0.2.1"), HELO: "mail.example.com",
		Sender: "bob@example.com", Domain: "example.com", Mechanism: "ip4:192.0.2.0/24"}
	b.ReportAllocs()
	for b.Loop() {
		_ = r.ReceivedSPF("mx.example.org")
	}
}
