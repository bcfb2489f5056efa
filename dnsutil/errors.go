package dnsutil

import (
	"context"
	"errors"
	"net"

	"github.com/miekg/dns"
)

// Kinds of lookup failure. Every error a Resolver returns matches exactly
// one of them with errors.Is.
var (
	// ErrNXDomain: the name does not exist (RCODE 3, RFC 1035 section 4.1.1).
	ErrNXDomain = errors.New("no such domain")
	// ErrNoData: the name exists but has no records of the type asked
	// (NOERROR with an empty answer, RFC 2308 section 2.2).
	ErrNoData = errors.New("no records of that type")
	// ErrServFail: the server could not answer (RCODE 2 and other server
	// errors). Often a firewall or a broken upstream, never evidence.
	ErrServFail = errors.New("server failure")
	// ErrRefused: the server refused to answer (RCODE 5).
	ErrRefused = errors.New("query refused")
	// ErrTimeout: no answer in time from any server.
	ErrTimeout = errors.New("timeout")
	// ErrMalformed: the answer did not parse, did not match the question,
	// or held records that make no sense.
	ErrMalformed = errors.New("malformed answer")
	// ErrOffline: lookups are switched off (the Offline resolver).
	ErrOffline = errors.New("DNS lookups are disabled (offline)")
	// ErrInvalidName: the name cannot be queried (empty, too long, a label
	// over 63 octets). Not temporary: asking again will not help.
	ErrInvalidName = errors.New("invalid domain name")
)

// Error describes a failed lookup. It matches its Kind with errors.Is, and
// its underlying cause (a network error, a context error) if any.
type Error struct {
	Name   string // the absolute name queried
	Type   uint16 // the query type
	Kind   error  // one of the Err* kinds
	Server string // the server that gave the final answer, if any
	Err    error  // the underlying cause, if any
}

func (e *Error) Error() string {
	s := "dnsutil: lookup " + e.Name + " " + dns.TypeToString[e.Type] + ": " + e.Kind.Error()
	if e.Server != "" {
		s += " (from " + e.Server + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the kind and the cause, for errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Temporary reports whether asking again later may succeed.
func (e *Error) Temporary() bool { return IsTemporary(e) }

// IsTemporary reports whether err means "try later" rather than an answer:
// a server failure, a refusal, a timeout, a malformed answer, offline mode,
// or a cancelled or expired context. NXDOMAIN and NODATA are answers, not
// temporary errors.
func IsTemporary(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrNXDomain) || errors.Is(err, ErrNoData) || errors.Is(err, ErrInvalidName) {
		return false
	}
	if errors.Is(err, ErrServFail) || errors.Is(err, ErrRefused) || errors.Is(err, ErrTimeout) ||
		errors.Is(err, ErrMalformed) || errors.Is(err, ErrOffline) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// IsNotFound reports whether err says the records do not exist: NXDOMAIN or
// NODATA. RFC 7208 calls these void lookups.
func IsNotFound(err error) bool {
	return errors.Is(err, ErrNXDomain) || errors.Is(err, ErrNoData)
}
