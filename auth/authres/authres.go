// Package authres formats and parses the Authentication-Results header
// field (RFC 8601) for the spf, dkim, dmarc, arc and iprev methods.
//
// Formatting never lets a value break out of the field: every value that
// is not a plain token is written as a quoted-string with its quotes and
// backslashes escaped, comments have their parentheses escaped, keywords
// (methods, results, property names) keep only the characters a keyword
// may have, and control characters (CR and LF among them) and non-ASCII
// bytes are replaced, so no input can start a new header line.
//
// Shortest use:
//
//	h := authres.Header{AuthServID: "mx.example.org", Results: []authres.Result{
//		authres.SPF("pass", "bob@example.com", ""),
//		authres.DMARC("pass", "example.com", "none"),
//	}}
//	msg = "Authentication-Results: " + h.String() + "\r\n" + msg // or h.Field()
//	parsed, err := authres.Parse(h.String())
package authres

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// FieldName is the header field name.
const FieldName = "Authentication-Results"

// Header is the value of one Authentication-Results field (RFC 8601
// section 2.2).
type Header struct {
	// AuthServID names the host that did the checks (section 2.5).
	AuthServID string
	// Version is the authres-version; 0 omits it (version 1 is implied).
	Version int
	// Results are the resinfo entries; none gives "authserv-id; none".
	Results []Result
}

// Result is one resinfo: a method, its result and what it checked.
type Result struct {
	Method        string // e.g. "spf", "dkim", "dmarc", "arc", "iprev"
	MethodVersion string // optional method-version, e.g. "1"
	Value         string // the result keyword, e.g. "pass"
	Reason        string // optional reason="..."
	Props         []Property
	// Comment is written as an RFC 5322 comment after the properties
	// (e.g. "(p=reject dis=none)"); Parse collects the comments of a
	// resinfo here, joined by a space.
	Comment string
}

// Property is a propspec: ptype.property=value, e.g. smtp.mailfrom=bob@example.com.
type Property struct {
	Type  string // ptype: "smtp", "header", "body", "policy"
	Name  string // property: "mailfrom", "helo", "d", "from", "iprev"...
	Value string
}

// Get returns the value of the first property ptype.name, or "".
func (r Result) Get(ptype, name string) string {
	for _, p := range r.Props {
		if strings.EqualFold(p.Type, ptype) && strings.EqualFold(p.Name, name) {
			return p.Value
		}
	}
	return ""
}

// Find returns the results of the given method (case-insensitive).
func (h *Header) Find(method string) []Result {
	var out []Result
	for _, r := range h.Results {
		if strings.EqualFold(r.Method, method) {
			out = append(out, r)
		}
	}
	return out
}

// SPF returns an spf resinfo (RFC 8601 section 2.7.2): smtp.mailfrom when
// mailFrom is set, else smtp.helo.
func SPF(result, mailFrom, helo string) Result {
	r := Result{Method: "spf", Value: result}
	if mailFrom != "" {
		r.Props = []Property{{"smtp", "mailfrom", mailFrom}}
	} else if helo != "" {
		r.Props = []Property{{"smtp", "helo", helo}}
	}
	return r
}

// DKIM returns a dkim resinfo (RFC 8601 section 2.7.1) with header.d,
// header.i, header.s, header.a and header.b where given (bPrefix is the
// first characters of the signature, to tell signatures apart).
func DKIM(result, reason, domain, identity, selector, algorithm, bPrefix string) Result {
	r := Result{Method: "dkim", Value: result, Reason: reason}
	for _, p := range []Property{{"header", "d", domain}, {"header", "i", identity}, {"header", "s", selector}, {"header", "a", algorithm}, {"header", "b", bPrefix}} {
		if p.Value != "" {
			r.Props = append(r.Props, p)
		}
	}
	return r
}

// DMARC returns a dmarc resinfo (RFC 7489 section 11.2; RFC 9989 section
// 9.1): header.from is the author domain, and policy.dmarc the policy
// applied or to be applied ("" omits it).
func DMARC(result, fromDomain, policy string) Result {
	r := Result{Method: "dmarc", Value: result, Props: []Property{{"header", "from", fromDomain}}}
	if policy != "" {
		r.Props = append(r.Props, Property{"policy", "dmarc", policy})
	}
	return r
}

// ARC returns an arc resinfo (RFC 8617 section 10.2): smtp.remote-ip and,
// when known, header.oldest-pass.
func ARC(result, remoteIP string, oldestPass int) Result {
	r := Result{Method: "arc", Value: result}
	if remoteIP != "" {
		r.Props = append(r.Props, Property{"smtp", "remote-ip", remoteIP})
	}
	if oldestPass > 0 {
		r.Props = append(r.Props, Property{"header", "oldest-pass", strconv.Itoa(oldestPass)})
	}
	return r
}

// IPRev returns an iprev resinfo (RFC 8601 section 2.7.3): policy.iprev
// is the client address; the name it confirmed, if any, goes in a comment.
func IPRev(result, ip, name string) Result {
	return Result{Method: "iprev", Value: result, Props: []Property{{"policy", "iprev", ip}}, Comment: name}
}

// Limits of the parser.
const (
	MaxLength     = 64 << 10 // bytes of one field value
	MaxResults    = 64       // resinfo entries
	MaxProperties = 32       // properties of one resinfo
	maxDepth      = 16       // comment nesting
)

// ErrSyntax is matched by every error Parse returns.
var ErrSyntax = errors.New("authres: malformed Authentication-Results")

// SyntaxError says where parsing stopped.
type SyntaxError struct {
	Offset int
	Msg    string
}

// Error says where parsing stopped and why.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("authres: malformed Authentication-Results at byte %d: %s", e.Offset, e.Msg)
}

// Unwrap returns ErrSyntax.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// isTSpecial reports RFC 2045 tspecials.
func isTSpecial(c byte) bool { return strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 }

// isTokenChar reports a character of an RFC 2045 token.
func isTokenChar(c byte) bool { return c > ' ' && c < 0x7f && !isTSpecial(c) }

func isKeywordChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}
