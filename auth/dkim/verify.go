package dkim

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/dnsutil"
)

// Limits and defaults of the verifier.
const (
	// DefaultMaxSignatures is how many signatures are evaluated per
	// message unless Options.MaxSignatures says otherwise.
	DefaultMaxSignatures = 5
	// DefaultClockSkew is how far in the future t= may be.
	DefaultClockSkew = 5 * time.Minute
	// MinRSABits is the smallest RSA key RFC 8301 section 3.2 lets a
	// verifier accept.
	MinRSABits = 1024
	// MaxRSABits is the largest RSA key accepted (larger keys only cost
	// CPU: an attacker's tool, not a sender's).
	MaxRSABits = 8192
	// MaxSignatureFieldSize bounds a DKIM-Signature header field in bytes.
	MaxSignatureFieldSize = 16 << 10
	// MaxTags bounds the tags of a signature or key record.
	MaxTags = 64
	// MaxSignedHeaders bounds the entries of h=.
	MaxSignedHeaders = 256
	// MaxKeyRecordSize bounds a key record in bytes.
	MaxKeyRecordSize = 8 << 10
	// DefaultKeyCacheSize is how many parsed keys a Verifier keeps.
	DefaultKeyCacheSize = 1024
)

// DefaultSingletonHeaders are the header fields a signature must sign as
// often as they occur, when it signs them at all (see
// Options.SingletonHeaders).
var defaultSingletonHeaders = []string{"From", "To", "Subject"}

// DefaultSingletonHeaders returns the default Options.SingletonHeaders:
// From, To and Subject.
func DefaultSingletonHeaders() []string {
	return append([]string(nil), defaultSingletonHeaders...)
}

// Options configure a Verifier. Only Resolver is required; the zero value of
// every other field means the default given.
type Options struct {
	// Resolver fetches key records (TXT at selector._domainkey.domain).
	// Required.
	Resolver dnsutil.Resolver
	// Now is the clock for t= and x=; nil means time.Now.
	Now func() time.Time
	// ClockSkew is how far in the future t= may be (the signer's clock
	// may be ahead), and how far past x= a signature still counts;
	// default 5 minutes, negative for none.
	ClockSkew time.Duration
	// MinRSABits is the smallest RSA key that passes. Keys under 1024
	// bits are permerror whatever this says (RFC 8301 section 3.2); keys
	// from 1024 bits up to MinRSABits-1 are policy. Default 1024.
	MinRSABits int
	// MaxSignatures is how many signatures are evaluated, from the top of
	// the header; later ones get neutral with ErrTooManySignatures.
	// Default 5.
	MaxSignatures int
	// SingletonHeaders name header fields that a signature signing them
	// must sign as many times as they occur: a message with two From
	// fields and a signature naming From once fails with
	// ErrHeaderNotSigned, since the unsigned one may be what is shown.
	// From always counts, since h= must include it. nil means
	// DefaultSingletonHeaders (From, To, Subject); an empty non-nil slice
	// means From only.
	SingletonHeaders []string
	// KeyCacheSize is how many parsed keys are kept, by record text, so
	// a cached DNS answer is not parsed again; default 1024, negative to
	// disable.
	KeyCacheSize int
	// Limits bound what Verify reads from an io.Reader (header size,
	// fields, line length, message size); zero means the mailscore
	// defaults.
	Limits mailscore.Limits
}

// Verifier verifies DKIM signatures (RFC 6376, RFC 8301, RFC 8463). It is
// safe for concurrent use; create one and share it, so its key cache is
// shared too.
type Verifier struct {
	opts Options
}

// NewVerifier returns a Verifier. It fails when opts.Resolver is nil or an
// option is out of range.
func NewVerifier(opts Options) (*Verifier, error) {
	if opts.Resolver == nil {
		return nil, errors.New("dkim: Options.Resolver is required")
	}
	return &Verifier{opts: opts}, nil
}

// Verify reads a message (RFC 5322, CRLF or bare LF line endings) and
// verifies every DKIM-Signature in it, in header order. The body is hashed
// as it streams and never held in memory. The error is non-nil only when
// the message could not be read or exceeds Options.Limits; a message without
// signatures gives no results and no error (RFC 8601 "none").
func (v *Verifier) Verify(ctx context.Context, r io.Reader) ([]Result, error) {
	return nil, errors.New("dkim: not implemented yet")
}

// VerifyMessage verifies every DKIM-Signature of a parsed message, in header
// order, one Result each; none when the message is unsigned.
func (v *Verifier) VerifyMessage(ctx context.Context, msg *mailscore.Message) []Result {
	return nil
}

// Verify is the shortest use: it verifies the message read from r with a
// Verifier with default options using resolver. A program verifying many
// messages should keep one Verifier, for its key cache.
func Verify(ctx context.Context, resolver dnsutil.Resolver, r io.Reader) ([]Result, error) {
	v, err := NewVerifier(Options{Resolver: resolver})
	if err != nil {
		return nil, err
	}
	return v.Verify(ctx, r)
}
