package dkim

import (
	"errors"
	"fmt"
)

// Status is the result of evaluating one signature, in the words of
// RFC 8601 section 2.7.1.
type Status string

// Signature results (RFC 8601 section 2.7.1).
const (
	// StatusPass: the signature verified with a key the policy accepts.
	StatusPass Status = "pass"
	// StatusFail: the signature could be evaluated and did not verify
	// (body hash or signature mismatch, or an unsigned copy of a header
	// field that must be signed).
	StatusFail Status = "fail"
	// StatusNeutral: the signature was not evaluated (more signatures than
	// Options.MaxSignatures).
	StatusNeutral Status = "neutral"
	// StatusPolicy: the signature verified but local policy does not
	// accept it (an RSA key of at least 1024 bits but below
	// Options.MinRSABits).
	StatusPolicy Status = "policy"
	// StatusTempError: the key could not be fetched because of a
	// temporary DNS failure; trying later may give another answer.
	StatusTempError Status = "temperror"
	// StatusPermError: the signature cannot be evaluated and never will
	// be: bad syntax, unsupported or forbidden algorithm (rsa-sha1), no
	// key, revoked or unusable key, key too short, expired signature.
	StatusPermError Status = "permerror"
)

// Reasons a signature did not pass. Every Result.Err matches exactly one of
// them with errors.Is (ErrLimit errors also match ErrSyntax or
// ErrKeySyntax); temperror results also match the dnsutil error, so
// dnsutil.IsTemporary(r.Err) is true.
var (
	// ErrSyntax: the DKIM-Signature field is malformed: not a tag list,
	// a duplicate tag, a required tag missing (v, a, b, bh, d, h, s), bad
	// base64, a bad number (RFC 6376 sections 3.2 and 3.5). permerror.
	ErrSyntax = errors.New("malformed DKIM-Signature")
	// ErrVersion: v= is not 1 (RFC 6376 section 3.5). permerror.
	ErrVersion = errors.New("unsupported signature version")
	// ErrAlgorithm: a= names an algorithm this verifier does not know
	// (RFC 6376 section 3.5). permerror.
	ErrAlgorithm = errors.New("unsupported signature algorithm")
	// ErrSHA1: a=rsa-sha1, which RFC 8301 section 3.1 forbids verifiers
	// to consider valid. permerror.
	ErrSHA1 = errors.New("rsa-sha1 signatures are not accepted (RFC 8301)")
	// ErrCanonicalization: c= names an unknown algorithm. permerror.
	ErrCanonicalization = errors.New("unsupported canonicalization")
	// ErrQueryMethod: q= does not include dns/txt (RFC 6376 section
	// 3.5). permerror.
	ErrQueryMethod = errors.New("unsupported query method")
	// ErrIdentityMismatch: the i= domain is not d= or a subdomain of it
	// (RFC 6376 section 3.5), or the key has t=s and the i= domain is not
	// exactly d= (section 3.6.1). permerror.
	ErrIdentityMismatch = errors.New("i= identity is not within d= domain")
	// ErrFromNotSigned: h= does not include From (RFC 6376 section 5.4
	// and 6.1.1). permerror.
	ErrFromNotSigned = errors.New("h= does not sign the From header field")
	// ErrExpired: x= is in the past (RFC 6376 section 3.5, 6.1.1), or
	// earlier than t=. permerror.
	ErrExpired = errors.New("signature expired")
	// ErrFutureTimestamp: t= is later than now plus Options.ClockSkew
	// (RFC 6376 section 3.5). permerror.
	ErrFutureTimestamp = errors.New("signature timestamp in the future")

	// ErrKeyNotFound: no key record at selector._domainkey.domain
	// (NXDOMAIN or no TXT record). permerror; also matches the dnsutil
	// error.
	ErrKeyNotFound = errors.New("no DKIM key record")
	// ErrKeyUnavailable: the key lookup failed temporarily (SERVFAIL,
	// timeout, cancelled context). temperror; also matches the dnsutil
	// error, so dnsutil.IsTemporary is true.
	ErrKeyUnavailable = errors.New("DKIM key lookup failed temporarily")
	// ErrKeySyntax: the key record is malformed: bad tag list, v= not
	// DKIM1, no p=, bad base64 or key data (RFC 6376 section 3.6.1).
	// permerror.
	ErrKeySyntax = errors.New("malformed DKIM key record")
	// ErrKeyRevoked: the key record has an empty p= (RFC 6376 section
	// 3.6.1). permerror.
	ErrKeyRevoked = errors.New("DKIM key revoked")
	// ErrKeyTooShort: an RSA key under 1024 bits (RFC 8301 section 3.2),
	// permerror; or under Options.MinRSABits, policy.
	ErrKeyTooShort = errors.New("DKIM key too short")
	// ErrKeyUnsuitable: the key cannot be used for this signature: its k=
	// does not match a=, its h= excludes the hash, or its s= excludes
	// email (RFC 6376 section 3.6.1). permerror.
	ErrKeyUnsuitable = errors.New("DKIM key unsuitable for this signature")

	// ErrBodyHashMismatch: the body hash differs from bh= (RFC 6376
	// section 6.1.3), or the body is shorter than l=. fail.
	ErrBodyHashMismatch = errors.New("body hash did not verify")
	// ErrSignatureMismatch: the signature does not verify over the
	// signed header fields (RFC 6376 section 6.1.3). fail.
	ErrSignatureMismatch = errors.New("signature did not verify")
	// ErrHeaderNotSigned: the signature verified, but a header field
	// listed in Options.SingletonHeaders (From, To, Subject by default)
	// occurs in the message more often than h= signs it, so an unsigned
	// copy may be what a reader sees (RFC 6376 section 8.15). fail.
	ErrHeaderNotSigned = errors.New("header field present more often than signed")

	// ErrTooManySignatures: more signatures than Options.MaxSignatures;
	// the extra ones were not evaluated. neutral.
	ErrTooManySignatures = errors.New("too many DKIM signatures")
	// ErrLimit: a size limit was exceeded (signature field size, tag
	// count, h= entries, key size). Matches ErrSyntax or ErrKeySyntax
	// too. permerror.
	ErrLimit = errors.New("DKIM limit exceeded")
)

// sigError is a verification error with detail: it matches its kind (and
// any extra wrapped errors) and prints the detail.
type sigError struct {
	kind   error
	detail string
	extra  []error
}

func (e *sigError) Error() string {
	if e.detail == "" {
		return "dkim: " + e.kind.Error()
	}
	return "dkim: " + e.kind.Error() + ": " + e.detail
}

func (e *sigError) Unwrap() []error {
	if len(e.extra) == 0 {
		return []error{e.kind}
	}
	return append([]error{e.kind}, e.extra...)
}

// errorf returns an error matching kind (and the errors among args wrapped
// with %w) with a formatted detail.
func errorf(kind error, format string, args ...any) error {
	w := fmt.Errorf(format, args...)
	e := &sigError{kind: kind, detail: w.Error()}
	switch u := w.(type) {
	case interface{ Unwrap() []error }:
		e.extra = u.Unwrap()
	case interface{ Unwrap() error }:
		e.extra = []error{u.Unwrap()}
	}
	return e
}

// newError returns an error matching kind with a fixed detail, without
// formatting (used on hot paths).
func newError(kind error, detail string) error {
	return &sigError{kind: kind, detail: detail}
}
