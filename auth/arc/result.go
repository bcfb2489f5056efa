package arc

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/mailscore/mailscore/auth/authres"
	"github.com/mailscore/mailscore/dnsutil"
)

// Status is a chain validation status (RFC 8617 section 4.4), which is also
// the result of the "arc" method in Authentication-Results, plus temperror.
// For one signature of a set it is pass, fail or temperror, and "" when it
// was not evaluated.
type Status string

// Chain validation statuses.
const (
	// StatusNone: the message has no ARC header fields.
	StatusNone Status = "none"
	// StatusPass: every ARC Set is there, the newest ARC-Message-Signature
	// and every ARC-Seal validated.
	StatusPass Status = "pass"
	// StatusFail: the chain is malformed, broken, or says it was broken.
	// RFC 8617 section 5.2: treat the message as if it had no chain.
	StatusFail Status = "fail"
	// StatusTempError: a key could not be fetched because of a temporary
	// DNS failure, and nothing else decided the chain: unknown. RFC 8617
	// defines only none, pass and fail; this one says "try later" and is
	// never written into a cv= (the Sealer refuses to seal with it).
	StatusTempError Status = "temperror"
)

// Result is the validation of a message's Authenticated Received Chain
// (RFC 8617 section 5.2).
type Result struct {
	// Status is the chain validation status.
	Status Status
	// Err says why the chain did not pass; nil on pass and none. It is an
	// *Error and matches one of the Err* sentinels and the underlying
	// DKIM or DNS error.
	Err error
	// Instance is the highest instance found: the number of ARC Sets of a
	// well-formed chain (0 without ARC).
	Instance int
	// OldestPass is the "oldest-pass" of RFC 8617 section 5.2 steps 5 and
	// 6: 0 when every ARC-Message-Signature still validates, else the
	// lowest instance from which the newer ones all do (the message was
	// changed after that hop's predecessor sealed it). 0 too when the
	// older signatures were not checked (Options.SkipOldestPass, or a
	// chain that did not pass the earlier steps).
	OldestPass int
	// Failed is the instance of the ARC Set whose failure decided a fail
	// or temperror (0 when no single set did).
	Failed int
	// Sets are the ARC Sets, oldest first: Sets[0] is i=1, what the first
	// intermediary recorded. Empty when the fields do not form a chain.
	Sets []Set
}

// Set is one ARC Set (RFC 8617 section 4.2): what one intermediary found
// and signed.
type Set struct {
	// Instance is i=.
	Instance int
	// AAR is the ARC-Authentication-Results: the authentication results
	// the intermediary saw when the message reached it.
	AAR AuthResults
	// AMS is the ARC-Message-Signature; Status is "" when not evaluated.
	AMS Signature
	// Seal is the ARC-Seal.
	Seal Signature
	// CV is the chain validation status the seal records (cv=).
	CV Status
}

// AuthResults is the payload of an ARC-Authentication-Results field (RFC
// 8617 section 4.1.1).
type AuthResults struct {
	// Payload is the authres-payload as written after "i=N;", unfolded
	// and trimmed: "authserv-id; method=result ...".
	Payload string
	// Header is Payload parsed; nil when it does not parse (see Err).
	Header *authres.Header
	// Err is the parse error, if any. A payload that does not parse does
	// not break the chain: ARC signs it, it does not interpret it.
	Err error
}

// Signature describes one ARC-Message-Signature or ARC-Seal.
type Signature struct {
	// Status is pass, fail or temperror; "" when it was not evaluated.
	Status Status
	// Err says why it did not pass.
	Err error
	// Domain (d=, lower-case), Selector (s=) and Algorithm (a=,
	// lower-case) as written.
	Domain, Selector, Algorithm string
	// Canonicalization is the AMS c= as "header/body"; "" for a seal.
	Canonicalization string
	// Timestamp is t= (zero when absent).
	Timestamp time.Time
	// KeyBits is the size of the key used (0 when none was fetched).
	KeyBits int
}

// FirstHop returns the oldest ARC Set (i=1), whose AAR records what the
// first intermediary saw: the results before forwarding broke anything.
// nil when there is none.
func (r *Result) FirstHop() *Set {
	if len(r.Sets) == 0 {
		return nil
	}
	return &r.Sets[0]
}

// Newest returns the newest ARC Set (i=N): the intermediary that handed the
// message on. nil when there is none.
func (r *Result) Newest() *Set {
	if len(r.Sets) == 0 {
		return nil
	}
	return &r.Sets[len(r.Sets)-1]
}

// Reason returns a short reason for a result other than pass and none;
// "" otherwise.
func (r *Result) Reason() string {
	if r.Err == nil {
		return ""
	}
	return strings.TrimPrefix(r.Err.Error(), "arc: ")
}

// headerReason is Reason without the DNS server that answered, for a
// header field that leaves the site.
func (r *Result) headerReason() string {
	s := r.Reason()
	var de *dnsutil.Error
	if errors.As(r.Err, &de) && de.Server != "" {
		s = strings.ReplaceAll(s, " (from "+de.Server+")", "")
	}
	return s
}

// AuthResult returns the "arc" method result for an Authentication-Results
// field (RFC 8601; RFC 8617 section 10 registers the method with the
// smtp.remote-ip and header.oldest-pass properties): the status, a comment
// with the chain length and what the first hop's AAR said of spf, dkim and
// dmarc, e.g.
//
//	arc=pass (i=2 spf=pass dkim=pass dmarc=pass) smtp.remote-ip=192.0.2.1
//
// and header.oldest-pass when an older AMS no longer validates. remoteIP
// is the client address (left out when invalid). A temperror's reason is a
// fixed text: DNS server details stay out of the header.
func (r *Result) AuthResult(remoteIP netip.Addr) authres.Result {
	st := r.Status
	if st == "" {
		st = StatusNone
	}
	if st == StatusNone {
		return authres.Result{Method: "arc", Value: string(StatusNone)}
	}
	ip := ""
	if remoteIP.IsValid() {
		ip = remoteIP.Unmap().String()
	}
	res := authres.ARC(string(st), ip, r.OldestPass)
	switch st {
	case StatusFail:
		res.Reason = r.headerReason()
	case StatusTempError:
		res.Reason = "key lookup failed temporarily"
	}
	if r.Instance > 0 {
		var b strings.Builder
		b.WriteString("i=")
		b.WriteString(strconv.Itoa(r.Instance))
		if first := r.FirstHop(); first != nil && first.AAR.Header != nil {
			for _, m := range []string{"spf", "dkim", "dmarc"} {
				if found := first.AAR.Header.Find(m); len(found) > 0 {
					b.WriteString(" " + m + "=" + found[0].Value)
				}
			}
		}
		res.Comment = b.String()
	}
	return res
}
