// Package spf checks the Sender Policy Framework (RFC 7208): may this
// client address send mail using this MAIL FROM (or HELO) domain?
//
// It implements all of RFC 7208: every mechanism and modifier, macros
// (including %{p}, the explanation-only %{c}, %{r} and %{t}, transformers,
// URL escaping), CIDR lengths, IPv4-mapped IPv6 clients, HELO checks, the
// null sender (postmaster@HELO), exp= explanations, and the limits of
// section 4.6.4: 10 DNS-querying terms including include and redirect, 2
// void lookups, 10 MX and 10 PTR names. A record is parsed whole before it
// is evaluated, so a syntax error anywhere is a permerror; an include or
// redirect loop ends in permerror at once; a DNS failure gives temperror,
// never fail. It passes the whole OpenSPF RFC 7208 test suite.
//
// Every Result says what was decided and why: the mechanism that matched
// and the include/redirect path to it, the explanation of a fail, the
// lookups used, the error behind a permerror or temperror, and a
// step-by-step Trace. It renders the Received-SPF header value (section
// 9.1) and the Authentication-Results "spf=" resinfo (RFC 8601).
//
// Shortest use:
//
//	res := spf.Check(ctx, resolver, clientIP, "mail.example.com", "bob@example.com")
//	if res.Code == spf.Fail { /* res.Explanation, res.Summary() */ }
//
// With options and for both identities:
//
//	checker := spf.New(resolver, spf.Options{Receiver: "mx.example.org"})
//	helo := checker.CheckHELO(ctx, ip, heloName)
//	mfrom := checker.Check(ctx, ip, heloName, mailFrom)
//	header := "Received-SPF: " + mfrom.ReceivedSPF("mx.example.org")
//
// DNS goes through a dnsutil.Resolver, normally a caching *dnsutil.Client.
package spf
