// Package dmarc evaluates DMARC for one message: it finds the author
// domain's DMARC Policy Record, checks whether a passing SPF or DKIM
// identifier is aligned with the RFC5322.From domain, and says which policy
// the domain asks for when none is.
//
// Two ways of finding Organizational Domains are offered:
//
//   - TreeWalk (the default) is RFC 9989 (DMARCbis) section 4.10: records
//     are looked up from the domain towards the root, at most 8 queries per
//     walk, and psd=y / psd=n mark public suffix and organizational
//     domains. np, psd and t apply; pct is ignored (Appendix A.6).
//   - PSL is RFC 7489 section 3.2: the public suffix plus one label, from
//     the Public Suffix List compiled into golang.org/x/net/publicsuffix
//     (or one loaded with LoadPSL). Both the ICANN and the PRIVATE section
//     count unless Options.ICANNOnly is set. pct sampling applies, with an
//     injectable random source; np follows RFC 9091.
//
// DMARC takes the SPF and DKIM results as plain values, so this package
// does not depend on any SPF or DKIM implementation. A message without a
// single From field naming mailboxes in one domain gets PermError, never a
// pass; a temporary DNS failure gets TempError with an error matching
// dnsutil.IsTemporary.
//
// Shortest use:
//
//	v := dmarc.New(resolver, dmarc.Options{})
//	res := v.EvaluateMessage(ctx, msg.Header.Values("From"),
//		dmarc.SPFOutcome{Domain: "bounce.example.com", Result: dmarc.AuthPass},
//		[]dmarc.DKIMOutcome{{Domain: "example.com", Result: dmarc.AuthPass}})
//	if res.Status == dmarc.Fail && res.Disposition == dmarc.PolicyReject { ... }
package dmarc
