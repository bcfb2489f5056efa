package auth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/auth/arc"
	"github.com/mailscore/mailscore/auth/dkim"
	"github.com/mailscore/mailscore/auth/dmarc"
	"github.com/mailscore/mailscore/auth/iprev"
	"github.com/mailscore/mailscore/auth/spf"
)

// Symbols the auth check emits. Within a group at most one is emitted per
// message.
const (
	SPFPass      = "SPF_PASS"      // MAIL FROM authorized
	SPFFail      = "SPF_FAIL"      // MAIL FROM domain says the client is not authorized (-all)
	SPFSoftFail  = "SPF_SOFTFAIL"  // ... probably not authorized (~all)
	SPFNeutral   = "SPF_NEUTRAL"   // the domain says nothing (?all)
	SPFNone      = "SPF_NONE"      // no SPF record
	SPFPermError = "SPF_PERMERROR" // the SPF record is broken
	SPFTempError = "SPF_TEMPERROR" // DNS failed: unknown, confidence 0

	SPFHELOPass      = "SPF_HELO_PASS"
	SPFHELOFail      = "SPF_HELO_FAIL"
	SPFHELOSoftFail  = "SPF_HELO_SOFTFAIL"
	SPFHELOTempError = "SPF_HELO_TEMPERROR"

	DKIMValid     = "DKIM_VALID"     // at least one signature verified
	DKIMInvalid   = "DKIM_INVALID"   // signatures present, none verified
	DKIMTempError = "DKIM_TEMPERROR" // a key lookup failed: unknown, confidence 0

	DMARCPass             = "DMARC_PASS"
	DMARCPolicyReject     = "DMARC_POLICY_REJECT"     // DMARC fail, the domain asks for reject
	DMARCPolicyQuarantine = "DMARC_POLICY_QUARANTINE" // DMARC fail, the domain asks for quarantine
	DMARCPolicyNone       = "DMARC_POLICY_NONE"       // DMARC fail, the domain only monitors (p=none)
	DMARCPermError        = "DMARC_PERMERROR"         // no single From domain: DMARC cannot apply
	DMARCTempError        = "DMARC_TEMPERROR"         // DNS failed: unknown, confidence 0

	IPRevPass      = "IPREV_PASS"      // forward-confirmed reverse DNS
	IPRevFail      = "IPREV_FAIL"      // PTR names do not resolve back to the client
	IPRevNoPTR     = "IPREV_NO_PTR"    // the client address has no PTR record
	IPRevTempError = "IPREV_TEMPERROR" // DNS failed: unknown, confidence 0

	ARCPass      = "ARC_PASS"      // the ARC chain validated (anyone can seal: weak on its own)
	ARCFail      = "ARC_FAIL"      // an ARC chain is present and broken (not emitted without ARC)
	ARCTempError = "ARC_TEMPERROR" // an ARC key could not be fetched: unknown, confidence 0
	// ARCTrustedPass offsets a DMARC failure: a trusted sealer's passing
	// chain says the message passed DMARC (or aligned DKIM or SPF) when
	// it reached that sealer. Its value scales with the DMARC symbol's
	// default weight, so that it cancels it (see Options.TrustedSealers).
	ARCTrustedPass = "ARC_TRUSTED_PASS"
)

// arcTrustedWeight is ARC_TRUSTED_PASS's weight: that of the strongest
// DMARC failure (DMARC_POLICY_REJECT), which it offsets at value 1.
const arcTrustedWeight = 4

var symbols = []mailscore.Symbol{
	{Name: SPFPass, Weight: -0.5, Group: "spf", Description: "SPF pass for the MAIL FROM domain"},
	{Name: SPFFail, Weight: 2, Group: "spf", Description: "SPF fail (-all) for the MAIL FROM domain"},
	{Name: SPFSoftFail, Weight: 1, Group: "spf", Description: "SPF softfail (~all) for the MAIL FROM domain"},
	{Name: SPFNeutral, Weight: 0.3, Group: "spf", Description: "SPF neutral for the MAIL FROM domain"},
	{Name: SPFNone, Weight: 0.5, Group: "spf", Description: "the MAIL FROM domain publishes no SPF record"},
	{Name: SPFPermError, Weight: 0.5, Group: "spf", Description: "the MAIL FROM domain's SPF record is broken"},
	{Name: SPFTempError, Weight: 0, Group: "spf", Description: "SPF could not be checked (temporary DNS failure); unknown"},

	{Name: SPFHELOPass, Weight: -0.1, Group: "spf_helo", Description: "SPF pass for the HELO name"},
	{Name: SPFHELOFail, Weight: 1, Group: "spf_helo", Description: "SPF fail for the HELO name"},
	{Name: SPFHELOSoftFail, Weight: 0.3, Group: "spf_helo", Description: "SPF softfail for the HELO name"},
	{Name: SPFHELOTempError, Weight: 0, Group: "spf_helo", Description: "SPF for the HELO name could not be checked; unknown"},

	{Name: DKIMValid, Weight: -1, Group: "dkim", Description: "a DKIM signature verified"},
	{Name: DKIMInvalid, Weight: 1, Group: "dkim", Description: "DKIM signatures present, none verified"},
	{Name: DKIMTempError, Weight: 0, Group: "dkim", Description: "a DKIM key could not be fetched (temporary DNS failure); unknown"},

	{Name: DMARCPass, Weight: -1, Group: "dmarc", Description: "DMARC pass: an aligned identifier authenticated the From domain"},
	{Name: DMARCPolicyReject, Weight: 4, Group: "dmarc", Description: "DMARC fail; the From domain asks receivers to reject"},
	{Name: DMARCPolicyQuarantine, Weight: 2.5, Group: "dmarc", Description: "DMARC fail; the From domain asks receivers to quarantine"},
	{Name: DMARCPolicyNone, Weight: 0.3, Group: "dmarc", Description: "DMARC fail; the From domain only monitors (p=none)"},
	{Name: DMARCPermError, Weight: 1.5, Group: "dmarc", Description: "no single From domain (missing, repeated or several From fields or domains)"},
	{Name: DMARCTempError, Weight: 0, Group: "dmarc", Description: "DMARC could not be evaluated (temporary failure); unknown"},

	{Name: IPRevPass, Weight: -0.1, Group: "iprev", Description: "the client's reverse DNS resolves back to it"},
	{Name: IPRevFail, Weight: 0.8, Group: "iprev", Description: "the client's reverse DNS names do not resolve back to it"},
	{Name: IPRevNoPTR, Weight: 1, Group: "iprev", Description: "the client address has no reverse DNS"},
	{Name: IPRevTempError, Weight: 0, Group: "iprev", Description: "reverse DNS could not be checked (temporary failure); unknown"},

	{Name: ARCPass, Weight: -0.2, Group: "arc", Description: "the ARC chain validated (RFC 8617); weak alone, as anyone can seal"},
	{Name: ARCFail, Weight: 0.5, Group: "arc", Description: "an ARC chain is present and broken or tampered with"},
	{Name: ARCTempError, Weight: 0, Group: "arc", Description: "an ARC key could not be fetched (temporary DNS failure); unknown"},
	{Name: ARCTrustedPass, Weight: -arcTrustedWeight, Group: "arc_trusted", Description: "DMARC failed, but a trusted ARC sealer saw the message pass before forwarding (RFC 8617 section 7.2); offsets the DMARC failure"},
}

// symbolWeight returns the default weight of a symbol (0 if unknown).
func symbolWeight(name string) float64 {
	for _, s := range symbols {
		if s.Name == name {
			return s.Weight
		}
	}
	return 0
}

// Symbols implements mailscore.SymbolProvider: every symbol the check can
// emit, with its default weight and group.
func (c *Checker) Symbols() []mailscore.Symbol {
	return append([]mailscore.Symbol(nil), symbols...)
}

// authKeys returns KeyAuthDomain and KeyOrgDomain keys for domains that
// authenticated. The organizational domain is the registrable domain from
// the Public Suffix List (RFC 7489 section 3.2): a stable name for
// reputation, whatever DMARC records a domain publishes.
func authKeys(domains ...string) []mailscore.Key {
	keys := make([]mailscore.Key, 0, 2*len(domains))
	add := func(k mailscore.Key) {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	for _, d := range domains {
		n, err := dmarc.NormalizeDomain(d)
		if err != nil {
			continue
		}
		add(mailscore.Key{Kind: mailscore.KeyAuthDomain, Value: n})
		org, ok := dmarc.OrganizationalDomainPSL(n)
		if !ok {
			org = n
		}
		add(mailscore.Key{Kind: mailscore.KeyOrgDomain, Value: org})
	}
	return keys
}

func signal(symbol string, conf float64, reason string, keys []mailscore.Key) mailscore.Signal {
	return mailscore.Signal{Check: Name, Symbol: symbol, Value: 1, Confidence: conf, Reason: reason, Keys: keys}
}

// Signals turns the results into signals (see the symbol constants).
func (r *Results) Signals() []mailscore.Signal {
	out := make([]mailscore.Signal, 0, 5)
	if r.SPFChecked {
		s := r.SPF
		why := "SPF " + s.Summary()
		switch s.Code {
		case spf.Pass:
			out = append(out, signal(SPFPass, 1, why, authKeys(s.Domain)))
		case spf.Fail:
			out = append(out, signal(SPFFail, 1, why, nil))
		case spf.SoftFail:
			out = append(out, signal(SPFSoftFail, 1, why, nil))
		case spf.Neutral:
			out = append(out, signal(SPFNeutral, 1, why, nil))
		case spf.None:
			out = append(out, signal(SPFNone, 1, why, nil))
		case spf.PermError:
			out = append(out, signal(SPFPermError, 1, why, nil))
		case spf.TempError:
			out = append(out, signal(SPFTempError, 0, "SPF unknown: "+s.Summary(), nil))
		}
	}
	if r.HELOChecked {
		s := r.HELO
		why := "SPF for HELO " + s.Summary()
		switch s.Code {
		case spf.Pass:
			out = append(out, signal(SPFHELOPass, 1, why, nil))
		case spf.Fail:
			out = append(out, signal(SPFHELOFail, 1, why, nil))
		case spf.SoftFail:
			out = append(out, signal(SPFHELOSoftFail, 1, why, nil))
		case spf.TempError:
			out = append(out, signal(SPFHELOTempError, 0, "SPF for HELO unknown: "+s.Summary(), nil))
		}
	}
	switch st, passed := dkimSummary(r.DKIM); st {
	case dkim.StatusPass:
		var doms, parts []string
		testing := 0
		for _, p := range passed {
			doms = append(doms, p.Domain)
			part := p.Domain + " (selector " + p.Selector + ", " + p.Algorithm + ")"
			if p.Testing {
				part += " with a key in test mode"
				testing++
			}
			parts = append(parts, part)
		}
		conf := 1.0
		if testing == len(passed) {
			// RFC 6376 section 3.6.1: t=y keys are testing DKIM, and such
			// mail is to be treated like unsigned mail.
			conf = 0.5
		}
		out = append(out, signal(DKIMValid, conf, "DKIM signature verified for "+strings.Join(parts, ", "), authKeys(doms...)))
	case dkim.StatusFail:
		var parts []string
		for _, d := range r.DKIM {
			parts = append(parts, fmt.Sprintf("%s (%s: %s)", orUnknown(d.Domain), d.Status, d.Reason()))
		}
		out = append(out, signal(DKIMInvalid, 1, "no DKIM signature verified: "+strings.Join(parts, "; "), nil))
	case dkim.StatusTempError:
		var parts []string
		for _, d := range r.DKIM {
			if d.Status == dkim.StatusTempError {
				parts = append(parts, fmt.Sprintf("%s: %s", d.Domain, d.Reason()))
			}
		}
		out = append(out, signal(DKIMTempError, 0, "DKIM unknown: the key could not be fetched ("+strings.Join(parts, "; ")+")", nil))
	}
	if m := r.DMARC; m != nil {
		var keys []mailscore.Key
		if m.AuthorDomain != "" && !strings.HasPrefix(m.AuthorDomain, "[") {
			keys = append(keys, mailscore.Key{Kind: mailscore.KeyDomain, Value: m.AuthorDomain})
		}
		switch m.Status {
		case dmarc.Pass:
			var aligned []string
			if m.SPFAligned {
				aligned = append(aligned, m.AlignedSPF)
			}
			if m.DKIMAligned {
				aligned = append(aligned, m.AlignedDKIM)
			}
			out = append(out, signal(DMARCPass, 1, m.Reason, append(keys, authKeys(aligned...)...)))
		case dmarc.Fail:
			sym := DMARCPolicyNone
			switch m.Disposition {
			case dmarc.PolicyReject:
				sym = DMARCPolicyReject
			case dmarc.PolicyQuarantine:
				sym = DMARCPolicyQuarantine
			}
			out = append(out, signal(sym, 1, m.Reason, keys))
		case dmarc.PermError:
			out = append(out, signal(DMARCPermError, 1, m.Reason, keys))
		case dmarc.TempError:
			out = append(out, signal(DMARCTempError, 0, m.Reason, keys))
		}
	}
	dmarcSym := ""
	for _, sg := range out {
		if sg.Symbol == DMARCPolicyReject || sg.Symbol == DMARCPolicyQuarantine || sg.Symbol == DMARCPolicyNone {
			dmarcSym = sg.Symbol
		}
	}
	out = append(out, r.arcSignals(dmarcSym)...)
	if r.IPRevChecked {
		i := r.IPRev
		switch i.Status {
		case iprev.Pass:
			out = append(out, signal(IPRevPass, 1, i.Reason, nil))
		case iprev.Fail:
			out = append(out, signal(IPRevFail, 1, i.Reason, nil))
		case iprev.PermError:
			out = append(out, signal(IPRevNoPTR, 1, i.Reason, nil))
		case iprev.TempError:
			out = append(out, signal(IPRevTempError, 0, "iprev unknown: "+i.Reason, nil))
		}
	}
	return out
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown domain)"
	}
	return s
}

// arcSignals returns the ARC signals: none without a chain (no ARC is not
// evidence), ARC_PASS, ARC_FAIL or ARC_TEMPERROR, and ARC_TRUSTED_PASS
// when a trusted sealer vouches for a message that failed DMARC with the
// symbol dmarcSym.
func (r *Results) arcSignals(dmarcSym string) []mailscore.Signal {
	if !r.ARCChecked || r.ARC == nil {
		return nil
	}
	a := r.ARC
	var out []mailscore.Signal
	switch a.Status {
	case arc.StatusPass:
		newest := a.Newest()
		why := fmt.Sprintf("ARC chain of %d set(s) validated, sealed last by %s", a.Instance, orUnknown(newest.Seal.Domain))
		if first := a.FirstHop(); first != nil && first.AAR.Header != nil {
			why += "; the first hop (" + first.AAR.Header.AuthServID + ") saw " + firstHopSummary(first)
		}
		if a.OldestPass > 0 {
			why += fmt.Sprintf("; changed in transit after set %d (oldest-pass %d)", a.OldestPass-1, a.OldestPass)
		}
		out = append(out, signal(ARCPass, 1, why, authKeys(newest.Seal.Domain)))
	case arc.StatusFail:
		out = append(out, signal(ARCFail, 1, "ARC chain broken: "+a.Reason(), nil))
	case arc.StatusTempError:
		out = append(out, signal(ARCTempError, 0, "ARC unknown: "+a.Reason(), nil))
	}
	if t := r.ARCTrusted; t != nil && dmarcSym != "" {
		s := signal(ARCTrustedPass, 1, fmt.Sprintf(
			"DMARC failure (%s) offset: trusted ARC sealer %s vouches for the message: its results (i=%d, %s) say %s=pass for %s before forwarding (RFC 8617 section 7.2)",
			dmarcSym, t.Sealer, t.Instance, t.AuthServID, t.Method, t.Domain), authKeys(t.Sealer))
		s.Value = symbolWeight(dmarcSym) / arcTrustedWeight
		out = append(out, s)
	}
	return out
}

// firstHopSummary lists the spf, dkim and dmarc results an ARC set's AAR
// records, e.g. "spf=pass dkim=pass dmarc=pass".
func firstHopSummary(s *arc.Set) string {
	var parts []string
	for _, m := range []string{"spf", "dkim", "dmarc"} {
		if rs := s.AAR.Header.Find(m); len(rs) > 0 {
			parts = append(parts, m+"="+rs[0].Value)
		}
	}
	if len(parts) == 0 {
		return "no spf, dkim or dmarc results"
	}
	return strings.Join(parts, " ")
}
