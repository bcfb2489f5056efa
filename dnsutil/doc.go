// Package dnsutil is mailscore's DNS layer: a caching, failure-aware
// resolver over github.com/miekg/dns, typed lookup errors that tell a
// missing record from a broken server, and DNS list (DNSBL, RFC 5782)
// queries that never mistake an error answer for a listing.
//
// Every network signal rides on DNS, and DNS fails in ways a filter must
// not read as evidence: SERVFAIL from a firewall that drops queries from low
// source ports, refused and timed-out queries, truncated answers that need
// TCP, corrupted records with TTLs of days, blocklists that answer "refused"
// with an address that looks like a listing. The Client:
//
//   - returns errors matching ErrNXDomain, ErrNoData, ErrServFail,
//     ErrRefused, ErrTimeout or ErrMalformed, and IsTemporary for "try later";
//   - sends EDNS0 with a 1232-byte buffer, retries over TCP when an answer is
//     truncated, tries every server, uses random query IDs, sends from the
//     OS's ephemeral ports (never below 1024) and treats names as absolute;
//   - caches answers with a TTL ceiling (default one hour), negative answers
//     per RFC 2308 and server failures briefly per RFC 9520, and coalesces
//     identical concurrent queries into one.
//
// Shortest use:
//
//	r, err := dnsutil.New(dnsutil.Options{}) // servers from /etc/resolv.conf
//	txts, err := dnsutil.LookupTXT(ctx, r, "example.com")
//	if dnsutil.IsTemporary(err) { /* unknown, not evidence */ }
//
// Tests use dnsutil/dnstest, a real DNS server on 127.0.0.1, and Offline
// switches lookups off for the command-line tool.
package dnsutil
