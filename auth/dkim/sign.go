package dkim

import (
	"crypto"
	"errors"
	"io"
	"time"

	"github.com/mailscore/mailscore"
)

// Canonicalization is a DKIM canonicalization algorithm (RFC 6376 section
// 3.4).
type Canonicalization string

// Canonicalization algorithms.
const (
	Simple  Canonicalization = "simple"
	Relaxed Canonicalization = "relaxed"
)

// DefaultSignedHeaders are the header fields a Signer signs when present
// (RFC 6376 section 5.4.1's list, plus MIME and list fields).
func DefaultSignedHeaders() []string {
	return []string{
		"From", "Sender", "Reply-To", "Subject", "Date", "Message-ID", "To", "Cc",
		"MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Content-ID", "Content-Description",
		"Resent-Date", "Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Message-ID",
		"In-Reply-To", "References",
		"List-Id", "List-Help", "List-Unsubscribe", "List-Unsubscribe-Post", "List-Subscribe", "List-Post",
		"List-Owner", "List-Archive",
	}
}

// DefaultOversignedHeaders are the header fields a Signer signs once more
// than they occur, so that adding another instance (or adding one where
// there was none) breaks the signature (RFC 6376 section 8.15).
func DefaultOversignedHeaders() []string {
	return []string{
		"From", "Sender", "Reply-To", "Subject", "Date", "Message-ID", "To", "Cc",
		"MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	}
}

// SignOptions configure a Signer.
type SignOptions struct {
	// Domain is the signing domain d=. Required.
	Domain string
	// Selector is s=. Required.
	Selector string
	// Key is the private key: *rsa.PrivateKey (rsa-sha256, at least 1024
	// bits, RFC 8301) or ed25519.PrivateKey (ed25519-sha256, RFC 8463).
	// Other crypto.Signers whose Public() is *rsa.PublicKey or
	// ed25519.PublicKey work too (an HSM, say).
	Key crypto.Signer
	// Identity is i=, optional: "@" + Domain by default; its domain must
	// be Domain or a subdomain.
	Identity string
	// HeaderCanonicalization and BodyCanonicalization default to Relaxed.
	HeaderCanonicalization Canonicalization
	BodyCanonicalization   Canonicalization
	// Headers are the fields signed when present, in addition to From
	// (always signed). nil means DefaultSignedHeaders.
	Headers []string
	// Oversign are the fields signed once more than they occur. nil means
	// DefaultOversignedHeaders; an empty non-nil slice turns it off.
	Oversign []string
	// BodyLength adds l= with the length of the canonicalized body.
	// Anyone can then append to the body without breaking the signature
	// (RFC 6376 section 8.2); use only where that is wanted.
	BodyLength bool
	// Expiration, if positive, adds x= that far after t=.
	Expiration time.Duration
	// Now is the clock for t=; nil means time.Now.
	Now func() time.Time
	// NoTimestamp leaves t= out.
	NoTimestamp bool
}

// Signer signs messages with one key. It is safe for concurrent use.
type Signer struct {
	opts SignOptions
}

// NewSigner checks opts and returns a Signer.
func NewSigner(opts SignOptions) (*Signer, error) {
	return nil, errors.New("dkim: not implemented yet")
}

// Sign reads a message and returns the DKIM-Signature header field to
// prepend to it: "DKIM-Signature: v=1; ...", folded, ending with a line
// break (CRLF, or LF when the message's header uses bare LF).
func (s *Signer) Sign(r io.Reader) (string, error) {
	return "", errors.New("dkim: not implemented yet")
}

// SignMessage is Sign for a parsed message.
func (s *Signer) SignMessage(msg *mailscore.Message) (string, error) {
	return "", errors.New("dkim: not implemented yet")
}
