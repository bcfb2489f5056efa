package dmarc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/miekg/dns"

	"github.com/mailscore/mailscore/dnsutil"
)

// Mode selects how Organizational Domains are found.
type Mode int

// Modes.
const (
	// TreeWalk is RFC 9989 (DMARCbis) section 4.10: DMARC Policy Records
	// are looked up from the domain towards the root, at most 8 queries,
	// and the psd tag marks public suffix and organizational domains. The
	// default. pct, rf and ri are parsed but have no effect (RFC 9989
	// Appendix A.6); t=y does.
	TreeWalk Mode = iota
	// PSL is RFC 7489 section 3.2: the Organizational Domain is the public
	// suffix plus one label, from the Public Suffix List. Policy discovery
	// looks at the author domain, then its Organizational Domain (section
	// 6.6.3). pct sampling applies (section 6.6.4); np (RFC 9091) is
	// honoured; psd and t are not part of RFC 7489 and are ignored.
	PSL
)

// String returns "rfc9989" or "rfc7489".
func (m Mode) String() string {
	if m == PSL {
		return "rfc7489"
	}
	return "rfc9989"
}

// Status is the DMARC result (RFC 8601 section 2.7.7 names).
type Status string

// Results.
const (
	Pass      Status = "pass"
	Fail      Status = "fail"
	None      Status = "none"      // no policy: DMARC does not apply
	TempError Status = "temperror" // a DNS lookup failed temporarily
	PermError Status = "permerror" // the message cannot be evaluated (From missing, repeated, ...)
)

// AuthResult is the result of an underlying SPF or DKIM check, as its
// Authentication-Results name: "pass", "fail", "softfail", "neutral",
// "none", "temperror", "permerror", "policy". Only "pass" authenticates;
// "temperror" on an identifier that would align makes a failing DMARC
// result a temperror instead.
type AuthResult string

// The results DMARC looks at.
const (
	AuthPass      AuthResult = "pass"
	AuthTempError AuthResult = "temperror"
)

// SPFOutcome is the SPF result for the MAIL FROM identity (RFC 9989
// section 4.4.2: DMARC uses only MAIL FROM, not HELO). Domain is the
// domain SPF checked: the MAIL FROM domain.
type SPFOutcome struct {
	Domain string
	Result AuthResult
}

// DKIMOutcome is the result of one DKIM signature: its d= domain (and
// selector, for reports) and its result.
type DKIMOutcome struct {
	Domain   string
	Selector string
	Result   AuthResult
}

// Options configure a Verifier. The zero value uses the RFC 9989 tree walk.
type Options struct {
	Mode Mode
	// PSL replaces, in PSL mode, the list compiled into
	// golang.org/x/net/publicsuffix (e.g. with LoadPSL of a fresh copy).
	PSL PublicSuffixList
	// ICANNOnly makes PSL mode count only the rules of the list's ICANN
	// section. By default the PRIVATE section counts too, so that
	// alice.blogspot.com and bob.blogspot.com, registered by different
	// people under a suffix Google publishes there, are different
	// Organizational Domains and do not align with each other.
	ICANNOnly bool
	// Rand draws pct samples in PSL mode: IntN(100) < pct applies the
	// policy, otherwise the next milder one (RFC 7489 section 6.6.4). nil
	// uses math/rand/v2. *math/rand/v2.Rand fits, but is not safe for
	// concurrent use: guard it with a mutex if the Verifier is shared.
	Rand interface{ IntN(n int) int }
	// MaxLookups bounds the DNS queries of one evaluation, over every tree
	// walk (each walk is at most 8 queries, RFC 9989 section 4.10);
	// default 24. Identifiers that would need more are treated as not
	// aligned, and the Reason says so.
	MaxLookups int
	// MaxIdentifiers bounds the DKIM identifiers looked at; default 10.
	MaxIdentifiers int
}

// Verifier evaluates DMARC. It is safe for concurrent use.
type Verifier struct {
	r    dnsutil.Resolver
	opts Options
	psl  psl
	// records caches parsed records by their text, so a record answered
	// from the DNS cache is not parsed again.
	records *lru.Cache[string, *Record]
}

// recordCacheSize is how many parsed records a Verifier keeps.
const recordCacheSize = 1024

// New returns a Verifier that looks records up through r.
func New(r dnsutil.Resolver, opts Options) *Verifier {
	if opts.MaxLookups <= 0 {
		opts.MaxLookups = 24
	}
	if opts.MaxIdentifiers <= 0 {
		opts.MaxIdentifiers = 10
	}
	v := &Verifier{r: r, opts: opts, psl: psl{list: opts.PSL, icannOnly: opts.ICANNOnly}}
	v.records, _ = lru.New[string, *Record](recordCacheSize) // fails only for a size <= 0
	if v.psl.list == nil {
		v.psl.list = embeddedPSL{}
	}
	return v
}

// Mode returns the verifier's organizational-domain mode.
func (v *Verifier) Mode() Mode { return v.opts.Mode }

// Result is the outcome of a DMARC evaluation.
type Result struct {
	Status Status
	// Policy is the Domain Owner Assessment Policy that applies to the
	// author domain (p, sp or np), "" when no policy applies (None,
	// TempError, PermError). For a Pass it is the policy a failing message
	// would get if the domain exists; np is only consulted for failures.
	Policy Policy
	// Disposition is what the receiver is asked to do with this message:
	// none on a pass, otherwise Policy lowered one step by t=y (RFC 9989)
	// or by pct sampling (RFC 7489). "" when no policy applies.
	Disposition Policy
	// AuthorDomain is the RFC5322.From domain, normalized.
	AuthorDomain string
	// OrgDomain is the author domain's Organizational Domain ("" when it
	// could not be determined).
	OrgDomain string
	// PolicyDomain is where the record was found, and RecordName the name
	// queried for it (e.g. "_dmarc.example.com").
	PolicyDomain, RecordName string
	// Record is the policy record applied (with p=none substituted when its
	// p was invalid but it had a valid rua). It may be shared with other
	// results through the Verifier's record cache: treat it as read-only.
	Record *Record
	// SPFAligned and DKIMAligned say which identifiers aligned (and
	// passed); AlignedSPF and AlignedDKIM name them.
	SPFAligned, DKIMAligned bool
	AlignedSPF, AlignedDKIM string
	// NonExistent is set when the author domain was found not to exist
	// (looked up only to decide whether np applies).
	NonExistent bool
	// Testing is set when the record asks for t=y; SampledOut when pct
	// sampling lowered the policy.
	Testing, SampledOut bool
	// Mode is the organizational-domain mode used.
	Mode Mode
	// Reason explains the result in a sentence.
	Reason string
	// Lookups lists the DMARC record names queried, in order.
	Lookups []string
	// Err is set with TempError (wrapping the dnsutil error, so
	// dnsutil.IsTemporary works) and PermError.
	Err error
}

// EvaluateMessage is Evaluate for a message's From field values: it
// extracts the author domain with AuthorDomain, and a missing, repeated or
// multi-domain From gives PermError, an address literal None.
func (v *Verifier) EvaluateMessage(ctx context.Context, fromValues []string, spf SPFOutcome, dkim []DKIMOutcome) *Result {
	a, err := AuthorDomain(fromValues)
	if err != nil {
		res := &Result{Status: PermError, Mode: v.opts.Mode, AuthorDomain: a.Domain, Err: err, Reason: "DMARC cannot be evaluated: " + err.Error()}
		if errors.Is(err, ErrAddressLiteral) {
			res.Status, res.Err = None, nil
			res.Reason = "the From address is an address literal, so no DMARC policy can apply"
		}
		return res
	}
	res := v.Evaluate(ctx, a.Domain, spf, dkim)
	if a.Mailboxes > 1 && res.Reason != "" {
		res.Reason += fmt.Sprintf(" (the From field lists %d mailboxes, all in %s)", a.Mailboxes, a.Domain)
	}
	return res
}

// Evaluate applies DMARC to a message whose RFC5322.From domain is author,
// given the SPF result for its MAIL FROM domain and the result of each of
// its DKIM signatures (RFC 9989 section 5.3, or RFC 7489 section 6.6 in
// PSL mode). It never returns nil.
func (v *Verifier) Evaluate(ctx context.Context, author string, spf SPFOutcome, dkim []DKIMOutcome) *Result {
	res := &Result{Mode: v.opts.Mode}
	d, err := NormalizeDomain(author)
	if err != nil {
		res.Status, res.Err = PermError, err
		res.Reason = "DMARC cannot be evaluated: " + err.Error()
		return res
	}
	res.AuthorDomain = d
	w := &walker{v: v, ctx: ctx, res: res}

	// Policy discovery.
	var disc discovery
	if v.opts.Mode == PSL {
		disc = w.discover7489(d)
	} else {
		disc = w.discoverBis(d)
	}
	if disc.err != nil {
		return w.tempError(disc.err, "the DMARC policy lookup failed")
	}
	res.OrgDomain = disc.org
	if disc.rec == nil {
		res.Status = None
		res.Reason = "no DMARC policy record for " + d
		if disc.note != "" {
			res.Reason += " (" + disc.note + ")"
		}
		return res
	}
	rec := disc.rec
	if rec.PolicyInvalid {
		if len(rec.RUA) == 0 {
			res.Status = None
			res.Reason = fmt.Sprintf("the DMARC record at %s has no valid p (or an invalid sp or np) and no valid rua, so DMARC does not apply", disc.name)
			return res
		}
		// RFC 9989 section 4.10.1; RFC 7489 section 6.6.3 step 6.
		c := *rec
		c.Policy, c.SubdomainPolicy, c.NonExistentPolicy = PolicyNone, "", ""
		rec = &c
	}
	res.Record, res.PolicyDomain, res.RecordName = rec, disc.domain, disc.name

	// Identifier alignment (RFC 9989 sections 4.4 and 4.10.2).
	var tempErr error
	var tempWhy string
	if spf.Result == AuthPass && spf.Domain != "" {
		ok, err := w.aligned(d, spf.Domain, rec.ASPF)
		switch {
		case err != nil:
			tempErr, tempWhy = err, "the organizational domain of the SPF domain "+spf.Domain+" could not be looked up"
		case ok:
			res.SPFAligned, res.AlignedSPF = true, normalizeOrKeep(spf.Domain)
		}
	}
	for i, k := range dkim {
		if i >= v.opts.MaxIdentifiers || res.DKIMAligned {
			break
		}
		if k.Result != AuthPass || k.Domain == "" {
			continue
		}
		ok, err := w.aligned(d, k.Domain, rec.ADKIM)
		switch {
		case err != nil:
			if tempErr == nil {
				tempErr, tempWhy = err, "the organizational domain of the DKIM domain "+k.Domain+" could not be looked up"
			}
		case ok:
			res.DKIMAligned, res.AlignedDKIM = true, normalizeOrKeep(k.Domain)
		}
	}
	pass := res.SPFAligned || res.DKIMAligned
	if !pass && tempErr == nil {
		// An underlying check that failed temporarily on an identifier that
		// would align might have passed: the result is not known (RFC 9989
		// section 5.3.6). Identifiers that could not align change nothing,
		// so a sender cannot turn a fail into a temperror with a broken
		// signature of its own.
		cands := []struct{ dom, what string }{}
		if spf.Result == AuthTempError && spf.Domain != "" {
			cands = append(cands, struct{ dom, what string }{spf.Domain, "SPF"})
		}
		for i, k := range dkim {
			if i < v.opts.MaxIdentifiers && k.Result == AuthTempError && k.Domain != "" {
				cands = append(cands, struct{ dom, what string }{k.Domain, "DKIM"})
			}
		}
		for _, c := range cands {
			mode := rec.ASPF
			if c.what == "DKIM" {
				mode = rec.ADKIM
			}
			ok, err := w.aligned(d, c.dom, mode)
			if err != nil || ok {
				tempErr, tempWhy = ErrIdentifierTempError, fmt.Sprintf("%s for %s, which would align, failed temporarily", c.what, c.dom)
				if err != nil {
					tempErr = err
				}
				break
			}
		}
	}

	// The policy for this author domain (RFC 9989 section 4.10.1).
	pol := rec.Policy
	subdomain := disc.domain != d
	if subdomain && rec.SubdomainPolicy != "" {
		pol = rec.SubdomainPolicy
	}
	if pass {
		res.Status, res.Policy, res.Disposition = Pass, pol, PolicyNone
		res.Reason = "DMARC pass for " + d + ": " + alignedWords(res)
		return res
	}
	if tempErr != nil {
		return w.tempError(tempErr, tempWhy)
	}
	if subdomain && rec.NonExistentPolicy != "" {
		exists, err := w.exists(d)
		if err != nil {
			return w.tempError(err, "whether "+d+" exists (for np) could not be looked up")
		}
		if !exists {
			res.NonExistent = true
			pol = rec.NonExistentPolicy
		}
	}
	res.Status, res.Policy, res.Disposition = Fail, pol, pol
	if v.opts.Mode == PSL {
		if rec.Percent < 100 && !v.sample(rec.Percent) {
			res.SampledOut = true
			res.Disposition = pol.lower()
		}
	} else if rec.Testing {
		res.Testing = true
		res.Disposition = pol.lower()
	}
	res.Reason = fmt.Sprintf("DMARC fail for %s: %s; policy %s from %s", d, failWords(spf, dkim), pol, res.RecordName)
	if res.NonExistent {
		res.Reason += " (np: the domain does not exist)"
	}
	if res.Disposition != pol {
		why := "t=y"
		if res.SampledOut {
			why = fmt.Sprintf("pct=%d sampled this message out", rec.Percent)
		}
		res.Reason += fmt.Sprintf(", applied as %s because %s", res.Disposition, why)
	}
	if w.overBudget {
		res.Reason += "; some identifiers were not checked: more than " + fmt.Sprint(v.opts.MaxLookups) + " DMARC lookups would be needed"
	}
	return res
}

// ErrIdentifierTempError is the error of a TempError result caused by an
// SPF or DKIM temperror on an identifier that would align.
var ErrIdentifierTempError = errors.New("an authentication check of an identifier that would align failed temporarily")

func normalizeOrKeep(d string) string {
	n, err := NormalizeDomain(d)
	if err != nil {
		return d
	}
	return n
}

func alignedWords(r *Result) string {
	switch {
	case r.SPFAligned && r.DKIMAligned:
		return "SPF domain " + r.AlignedSPF + " aligned, DKIM domain " + r.AlignedDKIM + " aligned"
	case r.SPFAligned:
		return "SPF domain " + r.AlignedSPF + " aligned"
	}
	return "DKIM domain " + r.AlignedDKIM + " aligned"
}

func failWords(spf SPFOutcome, dkim []DKIMOutcome) string {
	var passed []string
	if spf.Result == AuthPass && spf.Domain != "" {
		passed = append(passed, "SPF "+spf.Domain)
	}
	for _, k := range dkim {
		if k.Result == AuthPass && k.Domain != "" {
			passed = append(passed, "DKIM "+k.Domain)
		}
	}
	if len(passed) == 0 {
		return "neither SPF nor DKIM passed"
	}
	return "no passing identifier aligned (" + strings.Join(passed, ", ") + " passed)"
}

func (v *Verifier) sample(pct int) bool {
	if pct <= 0 {
		return false
	}
	if v.opts.Rand != nil {
		return v.opts.Rand.IntN(100) < pct
	}
	return rand.IntN(100) < pct
}

// lookup is the memoized answer for one _dmarc name.
type lookup struct {
	rec      *Record // the single valid DMARC record, or nil
	multiple bool    // several DMARC records: all discarded
	err      error   // temporary failure
}

// walker holds the state of one evaluation: the records looked up so far,
// so that the tree walks of the author domain and of the identifiers share
// their queries.
type walker struct {
	v          *Verifier
	ctx        context.Context
	res        *Result
	memo       []memoEntry // a few entries: a slice beats a map
	overBudget bool
}

type memoEntry struct {
	domain string
	lookup
}

func (w *walker) memoized(domain string) (lookup, bool) {
	for i := range w.memo {
		if w.memo[i].domain == domain {
			return w.memo[i].lookup, true
		}
	}
	return lookup{}, false
}

var errBudget = errors.New("DMARC lookup budget exhausted")

func (w *walker) tempError(err error, why string) *Result {
	r := w.res
	r.Status, r.Policy, r.Disposition, r.Record = TempError, "", "", nil
	r.SPFAligned, r.DKIMAligned, r.AlignedSPF, r.AlignedDKIM = false, false, "", ""
	r.Err = fmt.Errorf("dmarc: %s: %w", why, err)
	r.Reason = "DMARC result unknown: " + why + ": " + err.Error()
	return r
}

// query looks up the DMARC record of domain (RFC 9989 section 4.10 steps
// 1-2 and 5-6): non-DMARC TXT records are discarded, and several DMARC
// records are all discarded. Names that cannot exist (labels over 63
// octets, names over 253) are not queried and have no record.
func (w *walker) query(domain string) lookup {
	if l, ok := w.memoized(domain); ok {
		return l
	}
	name := "_dmarc." + domain
	if !writable(name) {
		w.memo = append(w.memo, memoEntry{domain: domain})
		return lookup{}
	}
	if len(w.res.Lookups) >= w.v.opts.MaxLookups {
		w.overBudget = true
		return lookup{err: errBudget}
	}
	w.res.Lookups = append(w.res.Lookups, name)
	txts, err := dnsutil.LookupTXT(w.ctx, w.v.r, name)
	var l lookup
	switch {
	case err == nil:
		n := 0
		for _, t := range txts {
			if !IsRecord(t) {
				continue
			}
			n++
			if n == 1 {
				l.rec = w.v.parse(t)
			}
		}
		if n > 1 {
			l.rec, l.multiple = nil, true
		}
	case dnsutil.IsNotFound(err) || errors.Is(err, dnsutil.ErrInvalidName):
	default:
		l.err = err
	}
	w.memo = append(w.memo, memoEntry{domain, l})
	return l
}

// writable reports whether name (without a trailing dot) can be a DNS
// name: at most 253 octets, no empty label, labels of at most 63 octets
// (RFC 1035 section 2.3.4).
func writable(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	label := 0
	for i := 0; i < len(name); i++ {
		if name[i] == '.' {
			if label == 0 {
				return false
			}
			label = 0
			continue
		}
		if label++; label > 63 {
			return false
		}
	}
	return label > 0
}

// parse returns the parsed record for txt, from the cache when it was seen
// before. Records are never modified after parsing, so they are shared.
func (v *Verifier) parse(txt string) *Record {
	if r, ok := v.records.Get(txt); ok {
		return r
	}
	r, _ := ParseRecord(txt)
	if r != nil && len(txt) <= 2048 {
		v.records.Add(txt, r)
	}
	return r
}

// discovery is where policy discovery ended.
type discovery struct {
	rec          *Record
	domain, name string // where rec was found
	org          string // the author domain's Organizational Domain
	note         string // why no record applies, when rec is nil
	err          error  // temporary failure
}

// labels counts the labels of a domain without a trailing dot.
func labels(d string) int { return strings.Count(d, ".") + 1 }

// walkNames returns the names a DNS Tree Walk queries for d, longest first
// (RFC 9989 section 4.10): d, then d shortened to 7 labels if it has 8 or
// more (else its parent), then each parent up to the top-level domain.
// That is at most 8 names.
func walkNames(d string) []string {
	return appendWalkNames(make([]string, 0, 8), d)
}

// appendWalkNames appends the names of walkNames(d) to names.
func appendWalkNames(names []string, d string) []string {
	names = append(names, d)
	x := labels(d)
	cur := d
	if x >= 8 {
		for x > 7 {
			cur = cur[strings.IndexByte(cur, '.')+1:]
			x--
		}
		names = append(names, cur)
	}
	for {
		i := strings.IndexByte(cur, '.')
		if i < 0 {
			break
		}
		cur = cur[i+1:]
		names = append(names, cur)
	}
	return names
}

// found is a record met on a tree walk.
type found struct {
	domain string
	rec    *Record
}

// walk performs the DNS Tree Walk from d and returns the records found,
// longest name first; it stops at a record with psd=y or psd=n (RFC 9989
// section 4.10).
func (w *walker) walk(d string) ([]found, error) {
	var out []found
	var buf [8]string
	for _, n := range appendWalkNames(buf[:0], d) {
		l := w.query(n)
		if l.err != nil {
			return out, l.err
		}
		if l.rec == nil {
			continue
		}
		out = append(out, found{n, l.rec})
		if l.rec.PSD == PSDYes || l.rec.PSD == PSDNo {
			break
		}
	}
	return out, nil
}

// orgFromWalk selects the Organizational Domain of start from the records
// its walk found (RFC 9989 section 4.10.2): a psd=n record's domain; else
// the domain one label below a psd=y record other than start's; else the
// domain with the fewest labels that has a record; else start itself.
func orgFromWalk(start string, recs []found) string {
	for _, f := range recs {
		if f.rec.PSD == PSDNo {
			return f.domain
		}
		if f.rec.PSD == PSDYes && f.domain != start {
			below := start[:len(start)-len(f.domain)-1]
			return below[strings.LastIndexByte(below, '.')+1:] + "." + f.domain
		}
	}
	if len(recs) > 0 {
		return recs[len(recs)-1].domain
	}
	return start
}

// orgDomain returns the Organizational Domain of d in the verifier's mode.
func (w *walker) orgDomain(d string) (string, error) {
	if w.v.opts.Mode == PSL {
		org, _ := w.v.psl.orgDomain(d)
		return org, nil
	}
	recs, err := w.walk(d)
	if err != nil {
		return "", err
	}
	return orgFromWalk(d, recs), nil
}

// discoverBis is RFC 9989 section 4.10.1 policy discovery: the record of
// the author domain, else of its Organizational Domain, else of its Public
// Suffix Domain. The walk from the author domain also gives its
// Organizational Domain.
func (w *walker) discoverBis(d string) discovery {
	recs, err := w.walk(d)
	if err != nil {
		return discovery{err: err}
	}
	org := orgFromWalk(d, recs)
	disc := discovery{org: org}
	if l, _ := w.memoized(d); l.multiple {
		disc.note = "several DMARC records at _dmarc." + d + " were all discarded"
	}
	pick := func(f found) discovery {
		disc.rec, disc.domain, disc.name = f.rec, f.domain, "_dmarc."+f.domain
		return disc
	}
	for _, f := range recs {
		if f.domain == d {
			return pick(f)
		}
	}
	for _, f := range recs {
		if f.domain == org {
			return pick(f)
		}
	}
	for _, f := range recs {
		if f.rec.PSD == PSDYes {
			return pick(f)
		}
	}
	return disc
}

// discover7489 is RFC 7489 section 6.6.3 policy discovery: the author
// domain's record, else (only if there was none) its Organizational
// Domain's. Several records at the name that answered end discovery with
// no policy.
func (w *walker) discover7489(d string) discovery {
	org, _ := w.v.psl.orgDomain(d)
	disc := discovery{org: org}
	l := w.query(d)
	if l.err != nil {
		return discovery{err: l.err}
	}
	if l.multiple {
		disc.note = "several DMARC records at _dmarc." + d
		return disc
	}
	if l.rec != nil {
		disc.rec, disc.domain, disc.name = l.rec, d, "_dmarc."+d
		return disc
	}
	if org == d {
		return disc
	}
	l = w.query(org)
	if l.err != nil {
		return discovery{err: l.err}
	}
	if l.multiple {
		disc.note = "several DMARC records at _dmarc." + org
		return disc
	}
	if l.rec != nil {
		disc.rec, disc.domain, disc.name = l.rec, org, "_dmarc."+org
	}
	return disc
}

// isSubdomainOrSelf reports whether d is parent or below it.
func isSubdomainOrSelf(d, parent string) bool {
	return d == parent || strings.HasSuffix(d, "."+parent)
}

// aligned checks identifier alignment of id with the author domain
// (RFC 9989 section 4.4): identical names align in either mode; in relaxed
// mode, names with the same Organizational Domain align. An identifier
// outside the author's Organizational Domain cannot have the same one, so
// no walk is done for it.
func (w *walker) aligned(author, id string, mode Alignment) (bool, error) {
	n, err := NormalizeDomain(id)
	if err != nil {
		return false, nil // a malformed identifier aligns with nothing
	}
	if n == author {
		return true, nil
	}
	if mode == Strict {
		return false, nil
	}
	orgA := w.res.OrgDomain
	if orgA == "" {
		if orgA, err = w.orgDomain(author); err != nil {
			return false, err
		}
	}
	if !isSubdomainOrSelf(n, orgA) {
		return false, nil
	}
	orgI, err := w.orgDomain(n)
	if errors.Is(err, errBudget) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return orgI == orgA, nil
}

// exists reports whether d exists in the DNS, to decide whether np
// applies. RFC 9989 section 3.2.13 and Appendix A.4: a name exists unless
// the answer is NXDOMAIN (RFC 8020), so one A query tells (NODATA means
// the name exists). RFC 9091 section 2.7, which RFC 7489 mode follows, is
// broader: a name with no A, AAAA and MX records does not exist.
func (w *walker) exists(d string) (bool, error) {
	if !writable(d) {
		return false, nil // a name that cannot be written in the DNS does not exist
	}
	if w.v.opts.Mode != PSL {
		_, err := w.v.r.Lookup(w.ctx, d, dns.TypeA)
		switch {
		case err == nil, errors.Is(err, dnsutil.ErrNoData):
			return true, nil
		case errors.Is(err, dnsutil.ErrNXDomain):
			return false, nil
		}
		return false, err
	}
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeMX} {
		_, err := w.v.r.Lookup(w.ctx, d, t)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, dnsutil.ErrNXDomain):
			return false, nil // nothing below exists either (RFC 8020)
		case dnsutil.IsNotFound(err):
			continue
		}
		return false, err
	}
	return false, nil
}

// Aligned reports whether two domains are in identifier alignment in the
// given mode, without DNS: PSL mode compares RFC 7489 Organizational
// Domains from the verifier's Public Suffix List; TreeWalk mode needs DNS
// and so compares names only in strict mode (use Evaluate). Malformed
// names never align.
func (v *Verifier) Aligned(a, b string, mode Alignment) bool {
	na, err1 := NormalizeDomain(a)
	nb, err2 := NormalizeDomain(b)
	if err1 != nil || err2 != nil {
		return false
	}
	if na == nb {
		return true
	}
	if mode == Strict || v.opts.Mode != PSL {
		return false
	}
	oa, _ := v.psl.orgDomain(na)
	ob, _ := v.psl.orgDomain(nb)
	return oa == ob
}
