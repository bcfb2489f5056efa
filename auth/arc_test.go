package auth

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore/auth/arc"
	"github.com/mailscore/mailscore/auth/authres"
	"github.com/mailscore/mailscore/auth/dmarc"
)

// arcSet builds an ARC set sealed by domain whose AAR says payload.
func arcSet(t *testing.T, i int, domain, payload string) arc.Set {
	h, err := authres.Parse(payload)
	require.NoError(t, err)
	return arc.Set{Instance: i, AAR: arc.AuthResults{Payload: payload, Header: h}, Seal: arc.Signature{Domain: domain, Status: arc.StatusPass}}
}

// TestTrustedARCRules checks when a trusted sealer's chain vouches for a
// message that failed DMARC, and by which result.
func TestTrustedARCRules(t *testing.T) {
	c := &Checker{trusted: []string{"lists.example.net", "fwd.example.org"}}
	dmarcFail := &dmarc.Result{Status: dmarc.Fail, AuthorDomain: "example.com"}
	for _, tc := range []struct {
		name   string
		sets   []arc.Set
		status arc.Status
		dm     *dmarc.Result
		method string // "" = not trusted
		inst   int
	}{
		{name: "dmarc pass", sets: []arc.Set{arcSet(t, 1, "lists.example.net", "mx; dmarc=pass header.from=example.com")}, method: "dmarc", inst: 1},
		{name: "dmarc pass for another domain, aligned dkim",
			sets:   []arc.Set{arcSet(t, 1, "lists.example.net", "mx; dmarc=pass header.from=other.example; dkim=pass header.d=mail.example.com")},
			method: "dkim", inst: 1},
		{name: "aligned spf",
			sets:   []arc.Set{arcSet(t, 1, "mx.lists.example.net", "mx; dkim=pass header.d=evil.example; spf=pass smtp.mailfrom=bounce@sub.example.com")},
			method: "spf", inst: 1},
		{name: "only unaligned passes", sets: []arc.Set{arcSet(t, 1, "lists.example.net", "mx; dkim=pass header.d=evil.example; spf=fail smtp.mailfrom=a@example.com")}},
		{name: "dmarc fail recorded", sets: []arc.Set{arcSet(t, 1, "lists.example.net", "mx; dmarc=fail header.from=example.com")}},
		{name: "untrusted sealer", sets: []arc.Set{arcSet(t, 1, "evil.example", "mx; dmarc=pass header.from=example.com")}},
		{name: "look-alike domain", sets: []arc.Set{arcSet(t, 1, "badlists.example.net", "mx; dmarc=pass header.from=example.com")}},
		{name: "untrusted hop after the trusted one", sets: []arc.Set{
			arcSet(t, 1, "lists.example.net", "mx; dmarc=pass header.from=example.com"),
			arcSet(t, 2, "evil.example", "mx; dmarc=pass header.from=example.com")}},
		{name: "trusted hop after an untrusted one: its own view counts", sets: []arc.Set{
			arcSet(t, 1, "evil.example", "mx; dmarc=pass header.from=example.com"),
			arcSet(t, 2, "fwd.example.org", "mx; dkim=pass header.d=example.com")}, method: "dkim", inst: 2},
		{name: "two trusted hops: the oldest's view", sets: []arc.Set{
			arcSet(t, 1, "lists.example.net", "mx; dmarc=pass header.from=example.com"),
			arcSet(t, 2, "fwd.example.org", "mx; dmarc=fail header.from=example.com")}, method: "dmarc", inst: 1},
		{name: "chain failed", status: arc.StatusFail, sets: []arc.Set{arcSet(t, 1, "lists.example.net", "mx; dmarc=pass header.from=example.com")}},
		{name: "DMARC passed anyway", dm: &dmarc.Result{Status: dmarc.Pass, AuthorDomain: "example.com"},
			sets: []arc.Set{arcSet(t, 1, "lists.example.net", "mx; dmarc=pass header.from=example.com")}},
		{name: "DMARC unknown", dm: &dmarc.Result{Status: dmarc.TempError, AuthorDomain: "example.com"},
			sets: []arc.Set{arcSet(t, 1, "lists.example.net", "mx; dmarc=pass header.from=example.com")}},
		{name: "unparsed results", sets: []arc.Set{{Instance: 1, AAR: arc.AuthResults{Payload: "junk"}, Seal: arc.Signature{Domain: "lists.example.net"}}}},
	} {
		st := tc.status
		if st == "" {
			st = arc.StatusPass
		}
		dm := tc.dm
		if dm == nil {
			dm = dmarcFail
		}
		r := &Results{DMARC: dm, ARCChecked: true, ARC: &arc.Result{Status: st, Instance: len(tc.sets), Sets: tc.sets}}
		got := c.trustedARC(r)
		if tc.method == "" {
			require.Nil(t, got, tc.name)
			continue
		}
		require.NotNil(t, got, tc.name)
		require.Equal(t, tc.method, got.Method, tc.name)
		require.Equal(t, tc.inst, got.Instance, tc.name)
		require.Equal(t, tc.sets[tc.inst-1].Seal.Domain, got.Sealer, tc.name)
	}
	// No trusted sealers configured: never.
	none := &Checker{}
	r := &Results{DMARC: dmarcFail, ARCChecked: true, ARC: &arc.Result{Status: arc.StatusPass, Instance: 1,
		Sets: []arc.Set{arcSet(t, 1, "lists.example.net", "mx; dmarc=pass header.from=example.com")}}}
	require.Nil(t, none.trustedARC(r))

	// The offset scales with the DMARC symbol it cancels.
	r.ARCTrusted = c.trustedARC(r)
	for sym, want := range map[string]float64{DMARCPolicyReject: 1, DMARCPolicyQuarantine: 2.5 / 4, DMARCPolicyNone: 0.3 / 4} {
		var found bool
		for _, s := range r.arcSignals(sym) {
			if s.Symbol == ARCTrustedPass {
				found = true
				require.InDelta(t, want, s.Value, 1e-9, sym)
				require.InDelta(t, -symbolWeight(sym), s.Value*symbolWeight(ARCTrustedPass), 1e-9, "cancels %s", sym)
			}
		}
		require.True(t, found, sym)
	}
	// Without a DMARC failure signal there is nothing to offset.
	for _, s := range r.arcSignals("") {
		require.NotEqual(t, ARCTrustedPass, s.Symbol)
	}
}
