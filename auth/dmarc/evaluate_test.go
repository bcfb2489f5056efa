package dmarc

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

func newTestVerifier(t *testing.T, zone string, opts Options) (*Verifier, *dnstest.Server) {
	t.Helper()
	srv := dnstest.New(t, zone)
	r, err := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}, Attempts: 1, Timeout: time.Second, Cache: dnsutil.CacheOptions{Size: -1}})
	require.NoError(t, err)
	return New(r, opts), srv
}

var ctx = context.Background()

func pass(d string) SPFOutcome { return SPFOutcome{Domain: d, Result: AuthPass} }
func dkimPass(ds ...string) []DKIMOutcome {
	var out []DKIMOutcome
	for _, d := range ds {
		out = append(out, DKIMOutcome{Domain: d, Selector: "s1", Result: AuthPass})
	}
	return out
}

func TestFromField(t *testing.T) {
	tests := []struct {
		from   []string
		domain string
		n      int
		err    error
	}{
		{[]string{"user@Example.COM"}, "example.com", 1, nil},
		{[]string{`"Doe, Jane" <jane@mail.example.com>`}, "mail.example.com", 1, nil},
		{[]string{"(comment (nested)) user@example.com (trailing)"}, "example.com", 1, nil},
		{[]string{"user@example.com."}, "example.com", 1, nil},
		{[]string{"Jörg <jörg@bücher.example>"}, "xn--bcher-kva.example", 1, nil},
		{[]string{"=?utf-8?q?J=C3=B6rg?= <j@example.org>"}, "example.org", 1, nil},
		{[]string{`"a@b"@example.net`}, "example.net", 1, nil},
		{[]string{"<@relay.example:user@example.com>"}, "example.com", 1, nil},
		{[]string{"a@example.com, B <b@EXAMPLE.com>"}, "example.com", 2, nil},
		{[]string{"team: a@example.com, b@example.com;"}, "example.com", 2, nil},
		{nil, "", 0, ErrNoFrom},
		{[]string{"a@example.com", "b@example.com"}, "", 0, ErrMultipleFrom},
		{[]string{"a@example.com, b@example.org"}, "", 0, ErrMultipleAuthors},
		{[]string{"undisclosed-recipients:;"}, "", 0, ErrNoAuthor},
		{[]string{""}, "", 0, ErrNoAuthor},
		{[]string{"just text"}, "", 0, ErrFromSyntax},
		{[]string{"user@"}, "", 0, ErrFromSyntax},
		{[]string{"user@.example.com"}, "", 0, ErrFromSyntax},
		{[]string{"user@exa..mple.com"}, "", 0, ErrFromSyntax},
		{[]string{"a@b@example.com"}, "", 0, ErrFromSyntax},
		{[]string{"<user@example.com"}, "", 0, ErrFromSyntax},
		{[]string{"x <a@example.com> <b@example.com>"}, "", 0, ErrFromSyntax},
		{[]string{"(unterminated a@example.com"}, "", 0, ErrFromSyntax},
		{[]string{"user@[192.0.2.1]"}, "[192.0.2.1]", 1, ErrAddressLiteral},
	}
	for _, tt := range tests {
		a, err := AuthorDomain(tt.from)
		if tt.err != nil {
			require.ErrorIs(t, err, tt.err, "%q", tt.from)
		} else {
			require.NoError(t, err, "%q", tt.from)
		}
		require.Equal(t, tt.domain, a.Domain, "%q", tt.from)
		require.Equal(t, tt.n, a.Mailboxes, "%q", tt.from)
	}
}

// TestFromProblemsArePermError: a message whose author domain cannot be
// determined is never passed, whatever authenticated (RFC 9989 5.3.1).
func TestFromProblemsArePermError(t *testing.T) {
	v, srv := newTestVerifier(t, `_dmarc.example.com. IN TXT "v=DMARC1; p=reject"`, Options{})
	for _, from := range [][]string{nil, {"a@example.com", "a@example.com"}, {"a@example.com, b@evil.example"}, {"undisclosed-recipients:;"}, {"garbage"}} {
		res := v.EvaluateMessage(ctx, from, pass("example.com"), dkimPass("example.com"))
		require.Equal(t, PermError, res.Status, "%q", from)
		require.Error(t, res.Err)
		require.Contains(t, res.Reason, "cannot be evaluated")
		require.Empty(t, res.Policy)
	}
	require.Empty(t, srv.Queries(), "nothing is looked up for a message DMARC cannot evaluate")

	res := v.EvaluateMessage(ctx, []string{"a@example.com, B <b@example.com>"}, SPFOutcome{}, dkimPass("example.com"))
	require.Equal(t, Pass, res.Status, "two mailboxes in one domain: one author domain (RFC 9989 5.3.1)")
	require.Contains(t, res.Reason, "2 mailboxes")
}

func TestAlignmentEdgeCases(t *testing.T) {
	zone := `
_dmarc.example.com. IN TXT "v=DMARC1; p=reject"
_dmarc.strict.example. IN TXT "v=DMARC1; p=reject; adkim=s; aspf=s"
_dmarc.xn--bcher-kva.example. IN TXT "v=DMARC1; p=quarantine"
`
	for _, mode := range []Mode{TreeWalk, PSL} {
		v, _ := newTestVerifier(t, zone, Options{Mode: mode})
		tests := []struct {
			name, author string
			spf          SPFOutcome
			dkim         []DKIMOutcome
			want         Status
			spfA, dkimA  bool
		}{
			{"sibling subdomains relaxed", "news.example.com", pass("bounce.example.com"), dkimPass("mail.example.com"), Pass, true, true},
			{"parent identifier relaxed", "a.b.example.com", SPFOutcome{}, dkimPass("example.com"), Pass, false, true},
			{"child identifier relaxed", "example.com", pass("x.y.example.com"), nil, Pass, true, false},
			{"case-insensitive", "Example.COM", pass("EXAMPLE.com"), nil, Pass, true, false},
			{"trailing dots", "example.com.", SPFOutcome{}, dkimPass("example.com."), Pass, false, true},
			{"strict identical", "strict.example", pass("strict.example"), nil, Pass, true, false},
			{"strict sibling fails", "a.strict.example", pass("b.strict.example"), dkimPass("strict.example"), Fail, false, false},
			{"IDN author, A-label d=", "bücher.example", SPFOutcome{}, dkimPass("xn--bcher-kva.example"), Pass, false, true},
			{"IDN identifier, A-label author", "mail.xn--bcher-kva.example", SPFOutcome{}, dkimPass("BÜCHER.example"), Pass, false, true},
			{"look-alike suffix does not align", "example.com", pass("badexample.com"), dkimPass("example.com.evil.example"), Fail, false, false},
			{"failed identifiers never align", "example.com", SPFOutcome{Domain: "example.com", Result: "fail"}, []DKIMOutcome{{Domain: "example.com", Result: "fail"}}, Fail, false, false},
			{"malformed identifier", "example.com", pass("..example.com"), nil, Fail, false, false},
		}
		for _, tt := range tests {
			res := v.Evaluate(ctx, tt.author, tt.spf, tt.dkim)
			require.Equal(t, tt.want, res.Status, "%s mode: %s: %s", mode, tt.name, res.Reason)
			require.Equal(t, tt.spfA, res.SPFAligned, "%s mode: %s", mode, tt.name)
			require.Equal(t, tt.dkimA, res.DKIMAligned, "%s mode: %s", mode, tt.name)
		}
	}
}

func TestTreeWalkLimits(t *testing.T) {
	// A 20-label author domain: 8 queries at most (RFC 9989 4.10), the
	// second one shortened to 7 labels.
	author := "l1.l2.l3.l4.l5.l6.l7.l8.l9.l10.l11.l12.l13.l14.l15.l16.l17.l18.example.com"
	v, srv := newTestVerifier(t, `_dmarc.example.com. IN TXT "v=DMARC1; p=reject"`, Options{})
	res := v.Evaluate(ctx, author, SPFOutcome{}, nil)
	require.Equal(t, Fail, res.Status)
	require.Equal(t, "example.com", res.OrgDomain)
	require.Equal(t, []string{
		"_dmarc." + author, "_dmarc.l14.l15.l16.l17.l18.example.com", "_dmarc.l15.l16.l17.l18.example.com",
		"_dmarc.l16.l17.l18.example.com", "_dmarc.l17.l18.example.com", "_dmarc.l18.example.com",
		"_dmarc.example.com", "_dmarc.com",
	}, dmarcQueries(srv))

	// The names the walk produces, for every length.
	require.Equal(t, []string{"com"}, walkNames("com"))
	require.Equal(t, []string{"a.com", "com"}, walkNames("a.com"))
	for n := 1; n <= 30; n++ {
		d := "com"
		for i := 1; i < n; i++ {
			d = "x" + string(rune('a'+i%26)) + "." + d
		}
		names := walkNames(d)
		require.LessOrEqual(t, len(names), 8, "%d labels", n)
		require.Equal(t, min(n, 8), len(names), "%d labels", n)
		if n >= 9 {
			require.Equal(t, 7, labels(names[1]), "second query has 7 labels")
		}
	}

	// The lookup budget bounds every walk of one evaluation together.
	v2, srv2 := newTestVerifier(t, `
_dmarc.example.com. IN TXT "v=DMARC1; p=reject"
`, Options{MaxLookups: 3})
	res = v2.Evaluate(ctx, "example.com", SPFOutcome{}, dkimPass("a.b.c.example.com"))
	require.Equal(t, Fail, res.Status)
	require.LessOrEqual(t, len(dmarcQueries(srv2)), 3)
	require.Contains(t, res.Reason, "more than 3 DMARC lookups")
}

func TestPSDAndNP(t *testing.T) {
	zone := `
_dmarc.gov.example. IN TXT "v=DMARC1; p=reject; sp=quarantine; np=reject; psd=y"
_dmarc.agency.gov.example. IN TXT "v=DMARC1; p=none"
agency.gov.example. IN A 192.0.2.1
www.agency.gov.example. IN A 192.0.2.2
_dmarc.corp.example. IN TXT "v=DMARC1; p=quarantine; sp=none; np=reject"
mail.corp.example. IN AAAA 2001:db8::1
mx-only.corp.example. IN MX 10 mx.corp.example.
_dmarc.self.example. IN TXT "v=DMARC1; p=reject; psd=y"
`
	v, srv := newTestVerifier(t, zone, Options{})
	tests := []struct {
		author             string
		policy             Policy
		org, policyDomain  string
		nonExistent        bool
		existenceQueryName string
	}{
		// The organizational domain has its own record: the PSD's is not used.
		{"agency.gov.example", PolicyNone, "agency.gov.example", "agency.gov.example", false, ""},
		{"www.agency.gov.example", PolicyNone, "agency.gov.example", "agency.gov.example", false, ""},
		// No record below the PSD: its policy applies, np for a name that does not exist.
		{"fake.gov.example", PolicyReject, "fake.gov.example", "gov.example", true, "fake.gov.example"},
		{"a.fake.gov.example", PolicyReject, "fake.gov.example", "gov.example", true, "a.fake.gov.example"},
		// np applies to non-existent subdomains only; AAAA-only and MX-only names exist.
		{"ghost.corp.example", PolicyReject, "corp.example", "corp.example", true, "ghost.corp.example"},
		{"mail.corp.example", PolicyNone, "corp.example", "corp.example", false, "mail.corp.example"},
		{"mx-only.corp.example", PolicyNone, "corp.example", "corp.example", false, "mx-only.corp.example"},
		{"corp.example", PolicyQuarantine, "corp.example", "corp.example", false, ""},
		// A psd=y record at the author domain itself: its own org domain.
		{"self.example", PolicyReject, "self.example", "self.example", false, ""},
	}
	for _, tt := range tests {
		srv.ResetLog()
		res := v.Evaluate(ctx, tt.author, SPFOutcome{}, nil)
		require.Equal(t, Fail, res.Status, tt.author)
		require.Equal(t, tt.policy, res.Policy, "%s: %s", tt.author, res.Reason)
		require.Equal(t, tt.org, res.OrgDomain, tt.author)
		require.Equal(t, tt.policyDomain, res.PolicyDomain, tt.author)
		require.Equal(t, "_dmarc."+tt.policyDomain, res.RecordName)
		require.Equal(t, tt.nonExistent, res.NonExistent, tt.author)
		n := 0
		for _, q := range srv.Queries() {
			if !isDMARCName(q.Name) {
				n++
				require.Equal(t, tt.existenceQueryName+".", q.Name, "only the author domain's existence is asked")
			}
		}
		if tt.existenceQueryName == "" {
			require.Zero(t, n, "%s: no existence query when np cannot apply", tt.author)
		} else {
			require.Equal(t, 1, n, "%s: one A query tells existence (RFC 9989 A.4)", tt.author)
		}
	}

	// A pass never needs the existence query.
	srv.ResetLog()
	res := v.Evaluate(ctx, "ghost.corp.example", SPFOutcome{}, dkimPass("corp.example"))
	require.Equal(t, Pass, res.Status)
	require.Equal(t, PolicyNone, res.Disposition)
	for _, q := range srv.Queries() {
		require.True(t, isDMARCName(q.Name), q.Name)
	}

	// RFC 7489 mode follows RFC 9091 section 2.7: A, AAAA and MX.
	p, psrv := newTestVerifier(t, zone, Options{Mode: PSL})
	res = p.Evaluate(ctx, "mx-only.corp.example", SPFOutcome{}, nil)
	require.Equal(t, PolicyNone, res.Policy, res.Reason)
	res = p.Evaluate(ctx, "ghost.corp.example", SPFOutcome{}, nil)
	require.Equal(t, PolicyReject, res.Policy, res.Reason)
	require.True(t, res.NonExistent)
	require.Positive(t, psrv.Count("mx-only.corp.example", 0))
}

func isDMARCName(n string) bool { return len(n) > 7 && n[:7] == "_dmarc." }

func TestTempErrors(t *testing.T) {
	zone := `
_dmarc.example.com. IN TXT "v=DMARC1; p=reject; np=reject"
_dmarc.org.example. IN TXT "v=DMARC1; p=reject"
`
	v, srv := newTestVerifier(t, zone, Options{})
	check := func(res *Result, why string) {
		t.Helper()
		require.Equal(t, TempError, res.Status, res.Reason)
		require.True(t, dnsutil.IsTemporary(res.Err) || errors.Is(res.Err, ErrIdentifierTempError), "%v", res.Err)
		require.Contains(t, res.Reason, why)
		require.Empty(t, res.Policy)
		require.Empty(t, res.Disposition)
		require.Nil(t, res.Record)
	}

	// SERVFAIL on the author's record.
	srv.SetFault("_dmarc.sub.example.com", 0, dnstest.Fault{ServFail: true})
	check(v.Evaluate(ctx, "sub.example.com", SPFOutcome{}, nil), "policy lookup failed")
	// A timeout on the organizational domain's.
	srv.SetFault("_dmarc.example.com", 0, dnstest.Fault{Drop: true})
	check(v.Evaluate(ctx, "other.example.com", SPFOutcome{}, nil), "policy lookup failed")
	srv.SetFault("_dmarc.example.com", 0, dnstest.Fault{})

	// The existence query for np.
	srv.SetFault("nowhere.example.com", 0, dnstest.Fault{ServFail: true})
	check(v.Evaluate(ctx, "nowhere.example.com", SPFOutcome{}, nil), "exists")

	// The walk of an identifier that would align.
	srv.SetFault("_dmarc.bounce.org.example", 0, dnstest.Fault{ServFail: true})
	check(v.Evaluate(ctx, "org.example", pass("bounce.org.example"), nil), "SPF domain bounce.org.example")
	// ... but a pass by another identifier stands.
	res := v.Evaluate(ctx, "org.example", pass("bounce.org.example"), dkimPass("org.example"))
	require.Equal(t, Pass, res.Status)

	// SPF or DKIM temperror on an identifier that would align: unknown.
	res = v.Evaluate(ctx, "org.example", SPFOutcome{Domain: "org.example", Result: AuthTempError}, nil)
	check(res, "SPF for org.example, which would align, failed temporarily")
	res = v.Evaluate(ctx, "org.example", SPFOutcome{}, []DKIMOutcome{{Domain: "org.example", Result: AuthTempError}})
	check(res, "DKIM for org.example")
	// On an identifier that could never align, it changes nothing: a
	// sender cannot dodge the policy with a signature of its own that
	// fails temporarily.
	res = v.Evaluate(ctx, "org.example", SPFOutcome{}, []DKIMOutcome{{Domain: "attacker.example", Result: AuthTempError}})
	require.Equal(t, Fail, res.Status)
	require.Equal(t, PolicyReject, res.Policy)
}

type fixedRand int

func (f fixedRand) IntN(int) int { return int(f) }

func TestPctAndTesting(t *testing.T) {
	zone := `
_dmarc.pct.example. IN TXT "v=DMARC1; p=reject; pct=30"
_dmarc.quar.example. IN TXT "v=DMARC1; p=quarantine; pct=0"
_dmarc.test.example. IN TXT "v=DMARC1; p=reject; t=y"
`
	for _, tt := range []struct {
		mode       Mode
		rnd        int
		author     string
		policy     Policy
		applied    Policy
		sampledOut bool
		testing    bool
	}{
		{PSL, 29, "pct.example", PolicyReject, PolicyReject, false, false},
		{PSL, 30, "pct.example", PolicyReject, PolicyQuarantine, true, false},
		{PSL, 0, "quar.example", PolicyQuarantine, PolicyNone, true, false},
		{PSL, 99, "test.example", PolicyReject, PolicyReject, false, false},     // t is not RFC 7489
		{TreeWalk, 99, "pct.example", PolicyReject, PolicyReject, false, false}, // pct removed by RFC 9989
		{TreeWalk, 0, "test.example", PolicyReject, PolicyQuarantine, false, true},
	} {
		v, _ := newTestVerifier(t, zone, Options{Mode: tt.mode, Rand: fixedRand(tt.rnd)})
		res := v.Evaluate(ctx, tt.author, SPFOutcome{}, nil)
		require.Equal(t, Fail, res.Status)
		require.Equal(t, tt.policy, res.Policy, "%+v", tt)
		require.Equal(t, tt.applied, res.Disposition, "%+v: %s", tt, res.Reason)
		require.Equal(t, tt.sampledOut, res.SampledOut, "%+v", tt)
		require.Equal(t, tt.testing, res.Testing, "%+v", tt)
	}
	// pct never changes pass into fail.
	v, _ := newTestVerifier(t, zone, Options{Mode: PSL, Rand: fixedRand(99)})
	require.Equal(t, Pass, v.Evaluate(ctx, "quar.example", pass("quar.example"), nil).Status)
}

func TestInvalidPolicy(t *testing.T) {
	zone := `
_dmarc.rua.example. IN TXT "v=DMARC1; p=bogus; rua=mailto:d@rua.example"
_dmarc.norua.example. IN TXT "v=DMARC1; p=bogus"
_dmarc.badsp.example. IN TXT "v=DMARC1; p=reject; sp=bogus"
`
	v, _ := newTestVerifier(t, zone, Options{})
	res := v.Evaluate(ctx, "rua.example", SPFOutcome{}, nil)
	require.Equal(t, Fail, res.Status)
	require.Equal(t, PolicyNone, res.Policy, "a valid rua turns the record into p=none")
	res = v.Evaluate(ctx, "norua.example", SPFOutcome{}, nil)
	require.Equal(t, None, res.Status)
	require.Contains(t, res.Reason, "no valid p")
	res = v.Evaluate(ctx, "x.badsp.example", SPFOutcome{}, nil)
	require.Equal(t, None, res.Status, "an invalid sp without rua: no DMARC processing (RFC 9989 4.10.1)")
}

func TestMultipleRecordsPSLMode(t *testing.T) {
	v, _ := newTestVerifier(t, `
_dmarc.mail.example.com. IN TXT "v=DMARC1; p=reject"
_dmarc.mail.example.com. IN TXT "v=DMARC1; p=none"
_dmarc.example.com. IN TXT "v=DMARC1; p=quarantine"
`, Options{Mode: PSL})
	// RFC 7489 6.6.3: several records at the author domain end discovery.
	res := v.Evaluate(ctx, "mail.example.com", SPFOutcome{}, nil)
	require.Equal(t, None, res.Status)
	require.Contains(t, res.Reason, "several DMARC records")
}

func FuzzAuthorDomain(f *testing.F) {
	for _, s := range []string{
		"user@example.com", `"Doe, Jane" <jane@example.com>`, "g: a@b.example, c@b.example;", "(a (b)) x@y.example",
		"<@r.example:u@example.com>", "u@[192.0.2.1]", "Jörg <j@bücher.example>", "a@b@c", `"unterminated`, "((((((",
	} {
		f.Add(s)
	}
	f.Add("Alice Example <alice@Example.COM>")
	f.Add("bob@example.org ")
	f.Fuzz(func(t *testing.T, s string) {
		// The fast path agrees with the general parser whenever it answers.
		if d, ok := simpleFrom(s); ok {
			ds, err := parseAddressList(s)
			if err != nil || len(ds) != 1 || ds[0] != d {
				t.Fatalf("simpleFrom(%q) = %q, general parser %q, %v", s, d, ds, err)
			}
		}
		a, err := AuthorDomain([]string{s})
		if err != nil {
			return
		}
		if a.Domain == "" || a.Mailboxes < 1 || a.Mailboxes > maxMailboxes {
			t.Fatalf("bad author %+v from %q", a, s)
		}
		n, err := NormalizeDomain(a.Domain)
		if err != nil || n != a.Domain {
			t.Fatalf("author domain %q not normalized (%q, %v)", a.Domain, n, err)
		}
	})
}
