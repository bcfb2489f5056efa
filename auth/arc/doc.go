// Package arc validates and adds Authenticated Received Chains (ARC, RFC
// 8617): the ARC Sets (ARC-Authentication-Results, ARC-Message-Signature,
// ARC-Seal) that intermediaries such as mailing lists and forwarders add,
// so that the final receiver can see how a message authenticated before
// forwarding broke its SPF or DKIM.
//
// A Validator follows RFC 8617 section 5.2: it collects the sets, checks
// their structure (instances 1 to N with no gap or repetition, one of each
// field per set, cv=none at i=1 and cv=pass above), validates the newest
// ARC-Message-Signature, the older ones for the oldest-pass, and every
// ARC-Seal, and returns none, pass, fail or temperror (a key lookup that
// failed temporarily; the error then matches dnsutil.IsTemporary). The
// Result keeps every set, and each set's ARC-Authentication-Results
// parsed, so a receiver can read what the first intermediary saw, and
// gives the "arc" result for an Authentication-Results header field.
//
// A Sealer adds the next set (RFC 8617 section 5.1) with the right cv=,
// signed with RSA (rsa-sha256) or Ed25519 (ed25519-sha256).
//
// Signatures, keys and canonicalization are DKIM's (package dkim): keys
// come from DNS at selector._domainkey.domain. Choices where RFC 8617
// leaves room:
//
//   - The ARC-Message-Signature is read as RFC 8617 section 4.1.2 says: a
//     DKIM-Signature without v= and with i= the instance. So c= defaults to
//     simple/simple, h= must name From (RFC 6376 section 6.1.1), and an
//     l= or x= works as in DKIM. Section 4.1.2 forbids ARC header fields
//     in h=; a signature that names ARC-Seal fails (as in dkimpy and the
//     ValiMail suite), while ARC-Authentication-Results and
//     ARC-Message-Signature in h=, which deployed sealers sign, are
//     accepted. The Sealer signs none of them.
//   - Age is not a reason to refuse a set: only an x= in the past expires
//     an ARC-Message-Signature. A t= in the future, beyond the clock skew,
//     fails.
//   - Chains longer than Options.MaxSets (default 10; RFC 8617's limit is
//     50) fail, as each set costs two signature checks.
//   - A chain whose key lookups fail temporarily is temperror, unless a
//     signature fails outright; RFC 8617 has only none, pass and fail, and
//     the Sealer refuses to seal an unknown chain.
//   - The Sealer writes tags in alphabetical order with b= unfolded on a
//     line of its own (the layout of dkimpy's "standardize" mode, which
//     makes the ValiMail signing suite reproducible byte for byte).
//
// Shortest use:
//
//	res, err := arc.Validate(ctx, resolver, msg)
//	fmt.Println(res.Status, res.Reason())             // pass / fail ... and why
//	if first := res.FirstHop(); first != nil {
//		fmt.Println(first.AAR.Payload)                 // what the first intermediary saw
//	}
//
// Sealing, as an intermediary:
//
//	s, err := arc.NewSealer(arc.SealOptions{Domain: "lists.example.net", Selector: "arc1", Key: key})
//	chain := validator.Validate(ctx, msg)
//	fields, err := s.Seal(msg, chain, myAuthResults) // prepend fields to the message
package arc
