package arc

import (
	"errors"
	"strconv"
	"strings"
)

// Reasons a chain does not pass. Result.Err matches one of them with
// errors.Is, and also the underlying DKIM error where there is one
// (dkim.ErrBodyHashMismatch, dkim.ErrSignatureMismatch, dkim.ErrKeyNotFound,
// dkim.ErrKeyUnavailable...); a temperror also matches the dnsutil error, so
// dnsutil.IsTemporary(r.Err) is true.
var (
	// ErrStructure: the ARC header fields do not form a chain (RFC 8617
	// section 5.2 step 3): a field that does not parse or has no valid
	// instance (i= 1 to 50), a set missing a field or holding two of one,
	// a gap in the instances, or cv= values out of sequence (cv=none on
	// i=1, cv=pass above it). fail.
	ErrStructure = errors.New("malformed ARC chain")
	// ErrChainEnded: the newest ARC-Seal says cv=fail: an earlier
	// intermediary found the chain broken (RFC 8617 section 5.2 step 2).
	// fail.
	ErrChainEnded = errors.New("the newest ARC-Seal reports cv=fail")
	// ErrTooManySets: more ARC Sets than MaxInstance (RFC 8617 section
	// 5.2 step 1), or than Options.MaxSets. fail.
	ErrTooManySets = errors.New("too many ARC Sets")
	// ErrMessageSignature: the newest ARC-Message-Signature did not
	// validate (RFC 8617 section 5.2 step 4). fail (temperror when its key
	// could not be fetched).
	ErrMessageSignature = errors.New("ARC-Message-Signature did not validate")
	// ErrSeal: an ARC-Seal did not validate (RFC 8617 section 5.2 step 7).
	// fail (temperror when its key could not be fetched).
	ErrSeal = errors.New("ARC-Seal did not validate")
	// ErrSignsSeal: an ARC-Message-Signature's h= names ARC-Seal, which
	// RFC 8617 section 4.1.2 forbids. The signature fails.
	ErrSignsSeal = errors.New("ARC-Message-Signature signs ARC-Seal")
	// ErrSealHasH: an ARC-Seal has an h= tag, which RFC 8617 section 4.1.3
	// says must make it fail.
	ErrSealHasH = errors.New("ARC-Seal has an h= tag")
)

// Errors of the Sealer.
var (
	// ErrNoSeal: RFC 8617 section 5.1 step 1: the newest ARC-Seal already
	// says cv=fail, so no further set is added.
	ErrNoSeal = errors.New("arc: the chain already ends in cv=fail: no ARC Set is added")
	// ErrChainUnknown: the chain could not be validated (temperror), so
	// its cv= cannot be written; try again later.
	ErrChainUnknown = errors.New("arc: the chain's validation status is unknown (temperror): cannot seal")
	// ErrChainMismatch: the validation result given to Seal does not
	// belong to the message (cv=none with ARC Sets present, or a result
	// missing for a message that has them).
	ErrChainMismatch = errors.New("arc: the chain validation result does not match the message")
)

// Error is a chain failure with where it happened: the instance and the
// header field, and what went wrong. It matches its Kind (one of the Err*
// sentinels) and the underlying error with errors.Is.
type Error struct {
	Kind     error
	Instance int    // 0 when not tied to one ARC Set
	Field    string // FieldAAR, FieldAMS, FieldSeal or ""
	Err      error  // the detail; may be nil
}

// Error says which set and field failed, how, and why:
// "arc: i=2 ARC-Seal did not validate: signature did not verify".
func (e *Error) Error() string {
	s := "arc: "
	if e.Instance > 0 {
		s += "i=" + strconv.Itoa(e.Instance) + " "
	}
	kind := e.Kind.Error()
	if e.Field != "" && !strings.Contains(kind, e.Field) {
		s += e.Field + ": "
	}
	s += kind
	if e.Err != nil {
		s += ": " + trimPrefix(e.Err.Error())
	}
	return s
}

// Unwrap returns the kind and the detail.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func trimPrefix(s string) string {
	s = strings.TrimPrefix(s, "dkim: ")
	return strings.TrimPrefix(s, "arc: ")
}
