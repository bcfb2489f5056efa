// Package dkim verifies and signs DomainKeys Identified Mail signatures:
// RFC 6376 with the algorithm updates of RFC 8301 (rsa-sha256 only, RSA keys
// of at least 1024 bits) and RFC 8463 (ed25519-sha256).
//
// Verification gives one Result per DKIM-Signature header field, with the
// RFC 8601 result word (pass, fail, neutral, policy, temperror, permerror),
// the signing domain, selector, identity, algorithm and key size, an error
// that says why it did not pass (matching ErrBodyHashMismatch,
// ErrKeyNotFound, ErrSHA1... with errors.Is), the l= body length status,
// and the Authentication-Results value. Keys come from DNS through a
// dnsutil.Resolver; a temporary DNS failure is temperror and wraps the
// dnsutil error. The body is hashed as it streams, and parsed keys are
// cached by record text, so verification costs little more than the
// cryptography itself.
//
// Shortest use:
//
//	results, err := dkim.Verify(ctx, resolver, msg)
//	for _, r := range results {
//		fmt.Println(r.Domain, r.Status, r.Err)
//	}
//
// Signing:
//
//	s, err := dkim.NewSigner(dkim.SignOptions{Domain: "example.com", Selector: "s1", Key: key})
//	field, err := s.Sign(bytes.NewReader(msg)) // prepend field to msg
package dkim
