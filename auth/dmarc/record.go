package dmarc

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Policy is a Domain Owner Assessment Policy: the handling a domain asks
// for mail that fails DMARC (RFC 9989 section 4.7, RFC 7489 section 6.3).
type Policy string

// Policies.
const (
	PolicyNone       Policy = "none"
	PolicyQuarantine Policy = "quarantine"
	PolicyReject     Policy = "reject"
)

// lower returns the next milder policy (RFC 7489 section 6.6.4 for pct,
// RFC 9989 section 4.7 for t=y).
func (p Policy) lower() Policy {
	switch p {
	case PolicyReject:
		return PolicyQuarantine
	case PolicyQuarantine:
		return PolicyNone
	}
	return p
}

// Alignment is an identifier alignment mode: relaxed or strict (RFC 9989
// section 4.4).
type Alignment byte

// Alignment modes.
const (
	Relaxed Alignment = 'r'
	Strict  Alignment = 's'
)

// String returns "strict" or "relaxed".
func (a Alignment) String() string {
	if a == Strict {
		return "strict"
	}
	return "relaxed"
}

// PSDFlag is the value of the psd tag (RFC 9989 section 4.7).
type PSDFlag byte

// psd tag values.
const (
	PSDUnknown PSDFlag = 'u' // default: may or may not be an organizational domain
	PSDYes     PSDFlag = 'y' // the domain is a public suffix domain
	PSDNo      PSDFlag = 'n' // the domain is an organizational domain
)

// ReportURI is one entry of a rua or ruf list: a URI and the obsolete
// report size limit written after "!" (RFC 7489 section 6.4; RFC 9989
// section 4.8 obs-dmarc-report-size). MaxSize is in bytes, 0 when absent.
type ReportURI struct {
	URI     string
	MaxSize uint64
}

// Record is a parsed DMARC Policy Record. Tags that were absent or invalid
// hold their defaults; Problems lists every syntax error that was replaced
// by a default or ignored (RFC 9989 section 4.8: "Syntax errors in the
// remainder of the record MUST be discarded in favor of default values (if
// any) or ignored outright").
type Record struct {
	// Policy is p; "" when absent or invalid.
	Policy Policy
	// SubdomainPolicy is sp; "" when absent or invalid.
	SubdomainPolicy Policy
	// NonExistentPolicy is np (RFC 9989, RFC 9091); "" when absent or invalid.
	NonExistentPolicy Policy
	ADKIM, ASPF       Alignment // default relaxed
	// Percent is pct (RFC 7489 only; removed by RFC 9989); default 100.
	Percent int
	// Testing is t=y (RFC 9989 only).
	Testing bool
	// PSD is the psd tag (RFC 9989 only); default PSDUnknown.
	PSD PSDFlag
	// RUA and RUF are the valid report URIs, at most MaxReportURIs each.
	RUA, RUF []ReportURI
	// FailureOptions is fo split at colons; default ["0"].
	FailureOptions []string
	// ReportFormats is rf (RFC 7489 only); default ["afrf"].
	ReportFormats []string
	// ReportInterval is ri in seconds (RFC 7489 only); default 86400.
	ReportInterval uint32

	// PolicyInvalid is set when p is absent or invalid, or sp or np is
	// invalid: the conditions of RFC 9989 section 4.10.1 (and RFC 7489
	// section 6.6.3 step 6) under which the record counts as "p=none" if it
	// has a valid rua, and as no record otherwise.
	PolicyInvalid bool
	// Problems are the syntax errors found; the record is usable with them.
	Problems []*SyntaxError
	// Raw is the record text as published.
	Raw string
}

// Limits of the record parser.
const (
	// MaxRecordLength bounds the text ParseRecord accepts.
	MaxRecordLength = 8192
	// MaxReportURIs bounds each of rua and ruf; further URIs are ignored
	// with a problem reported.
	MaxReportURIs = 16
	// maxURILength bounds one report URI.
	maxURILength = 1024
)

// Errors matched (with errors.Is) by the errors ParseRecord returns.
var (
	// ErrNotDMARC: the text is not a DMARC record (it does not start with
	// v=DMARC1), so it is discarded (RFC 9989 section 4.10 step 2).
	ErrNotDMARC = errors.New("not a DMARC record")
	// ErrSyntax: a tag is malformed; the record is still usable.
	ErrSyntax = errors.New("DMARC record syntax error")
)

// SyntaxError locates one problem in a record.
type SyntaxError struct {
	Offset int    // byte offset of the tag (or of the problem) in the record
	Tag    string // the tag name, lower-case; "" when the tag name itself is bad
	Value  string // the offending value
	Msg    string // what is wrong and what was done about it
	kind   error  // ErrNotDMARC or ErrSyntax
}

// Error says where the problem is and what was done about it.
func (e *SyntaxError) Error() string {
	if e.Tag != "" {
		return fmt.Sprintf("dmarc: at byte %d, tag %s=%q: %s", e.Offset, e.Tag, e.Value, e.Msg)
	}
	return fmt.Sprintf("dmarc: at byte %d: %s", e.Offset, e.Msg)
}

// Unwrap returns ErrNotDMARC or ErrSyntax.
func (e *SyntaxError) Unwrap() error { return e.kind }

// isWSP reports a space or tab (RFC 5234 WSP).
func isWSP(c byte) bool { return c == ' ' || c == '\t' }

func trimWSP(s string) (string, int) {
	start := 0
	for start < len(s) && isWSP(s[start]) {
		start++
	}
	end := len(s)
	for end > start && isWSP(s[end-1]) {
		end--
	}
	return s[start:end], start
}

// validValue reports whether v is 1*dmarc-value: printable ASCII and space,
// no semicolon (RFC 9989 section 4.8).
func validValue(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c > 0x7e || c == ';' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// IsRecord reports, cheaply, whether txt starts with the DMARC version tag
// and so is a DMARC record rather than some other TXT record (RFC 9989
// section 4.10 step 2).
func IsRecord(txt string) bool {
	s, _ := trimWSP(txt)
	if len(s) < 1 || (s[0] != 'v' && s[0] != 'V') {
		return false
	}
	s, _ = trimWSP(s[1:])
	if len(s) < 1 || s[0] != '=' {
		return false
	}
	s, _ = trimWSP(s[1:])
	if !strings.HasPrefix(s, "DMARC1") {
		return false
	}
	s, _ = trimWSP(s[len("DMARC1"):])
	return s == "" || s[0] == ';'
}

// ParseRecord parses a DMARC Policy Record (RFC 9989 sections 4.7 and 4.8,
// with the RFC 7489 section 6.3 tags pct, rf and ri).
//
// When txt is not a DMARC record (v=DMARC1 missing, not first, or of
// another case) it returns a nil record and an error matching ErrNotDMARC.
// Otherwise it returns the record; if some tags were malformed the error,
// which matches ErrSyntax, joins one *SyntaxError per problem, and the
// record holds defaults in their place. Tag names and keyword values are
// case-insensitive (RFC 5234 string literals); "DMARC1" is case-sensitive.
// Unknown tags are ignored.
func ParseRecord(txt string) (*Record, error) {
	if len(txt) > MaxRecordLength {
		return nil, &SyntaxError{Offset: MaxRecordLength, Msg: fmt.Sprintf("record longer than %d bytes", MaxRecordLength), kind: ErrNotDMARC}
	}
	r := &Record{
		ADKIM: Relaxed, ASPF: Relaxed, Percent: 100, PSD: PSDUnknown,
		FailureOptions: []string{"0"}, ReportFormats: []string{"afrf"},
		ReportInterval: 86400, Raw: txt,
	}
	seen := map[string]bool{}
	pSet, pBad := false, false
	first := true
	for off := 0; off <= len(txt); {
		end := strings.IndexByte(txt[off:], ';')
		if end < 0 {
			end = len(txt)
		} else {
			end += off
		}
		seg, lead := trimWSP(txt[off:end])
		segOff := off + lead
		last := end == len(txt)
		off = end + 1
		if seg == "" {
			if first {
				return nil, &SyntaxError{Offset: segOff, Msg: "record does not start with v=DMARC1", kind: ErrNotDMARC}
			}
			if !last && !isTrailingSeparators(txt[end:]) {
				r.problem(segOff, "", "", "empty tag between two semicolons (ignored)")
			}
			if last {
				break
			}
			continue
		}
		eq := strings.IndexByte(seg, '=')
		if eq < 0 {
			if first {
				return nil, &SyntaxError{Offset: segOff, Value: seg, Msg: "record does not start with v=DMARC1", kind: ErrNotDMARC}
			}
			r.problem(segOff, "", seg, "tag without '=' (ignored)")
			continue
		}
		name, _ := trimWSP(seg[:eq])
		value, _ := trimWSP(seg[eq+1:])
		lname := strings.ToLower(name)
		if first {
			first = false
			if lname != "v" {
				return nil, &SyntaxError{Offset: segOff, Tag: lname, Value: value, Msg: "the first tag must be v=DMARC1", kind: ErrNotDMARC}
			}
			if value != "DMARC1" {
				msg := "version must be exactly DMARC1 (case-sensitive)"
				if strings.HasPrefix(value, "DMARC1") {
					msg += "; a ';' is missing after DMARC1"
				}
				return nil, &SyntaxError{Offset: segOff, Tag: "v", Value: value, Msg: msg, kind: ErrNotDMARC}
			}
			seen["v"] = true
			continue
		}
		if !validTagName(name) {
			r.problem(segOff, "", name, "tag name must be letters only (tag ignored)")
			continue
		}
		if seen[lname] {
			r.problem(segOff, lname, value, "tag appears more than once (later occurrence ignored)")
			continue
		}
		seen[lname] = true
		if !validValue(value) && known(lname) {
			r.problem(segOff, lname, value, "empty value or a character outside printable ASCII (tag ignored)")
			if lname == "p" || lname == "sp" || lname == "np" {
				r.PolicyInvalid = true
				pBad = pBad || lname == "p"
			}
			continue
		}
		switch lname {
		case "v":
			r.problem(segOff, lname, value, "v must be the first tag and appear once (ignored)")
		case "p", "sp", "np":
			p, ok := parsePolicy(value)
			if !ok {
				r.problem(segOff, lname, value, "policy must be none, quarantine or reject (tag ignored)")
				r.PolicyInvalid = true
				pBad = pBad || lname == "p"
				continue
			}
			switch lname {
			case "p":
				r.Policy, pSet = p, true
			case "sp":
				r.SubdomainPolicy = p
			case "np":
				r.NonExistentPolicy = p
			}
		case "adkim", "aspf":
			var a Alignment
			switch strings.ToLower(value) {
			case "r":
				a = Relaxed
			case "s":
				a = Strict
			default:
				r.problem(segOff, lname, value, "alignment must be r or s (default r used)")
				continue
			}
			if lname == "adkim" {
				r.ADKIM = a
			} else {
				r.ASPF = a
			}
		case "pct":
			n, err := strconv.Atoi(value)
			if err != nil || len(value) > 3 || n < 0 || n > 100 || value[0] == '+' || value[0] == '-' {
				r.problem(segOff, lname, value, "pct must be an integer from 0 to 100 (default 100 used)")
				continue
			}
			r.Percent = n
		case "t":
			switch strings.ToLower(value) {
			case "y":
				r.Testing = true
			case "n":
			default:
				r.problem(segOff, lname, value, "t must be y or n (default n used)")
			}
		case "psd":
			switch strings.ToLower(value) {
			case "y":
				r.PSD = PSDYes
			case "n":
				r.PSD = PSDNo
			case "u":
			default:
				r.problem(segOff, lname, value, "psd must be y, n or u (default u used)")
			}
		case "rua", "ruf":
			uris := r.parseURIs(segOff, lname, value)
			if lname == "rua" {
				r.RUA = uris
			} else {
				r.RUF = uris
			}
		case "fo":
			r.parseFO(segOff, value)
		case "rf":
			var fmts []string
			for _, f := range strings.Split(value, ":") {
				f, _ = trimWSP(f)
				if !isKeyword(f) {
					r.problem(segOff, lname, value, fmt.Sprintf("report format %q is not a keyword (default afrf used)", f))
					fmts = nil
					break
				}
				fmts = append(fmts, strings.ToLower(f))
			}
			if fmts != nil {
				r.ReportFormats = fmts
			}
		case "ri":
			n, err := strconv.ParseUint(value, 10, 32)
			if err != nil || value[0] == '+' {
				r.problem(segOff, lname, value, "ri must be a number of seconds below 2^32 (default 86400 used)")
				continue
			}
			r.ReportInterval = uint32(n)
		}
	}
	if first {
		return nil, &SyntaxError{Offset: 0, Msg: "record does not start with v=DMARC1", kind: ErrNotDMARC}
	}
	if !pSet || pBad {
		r.PolicyInvalid = true
	}
	if len(r.Problems) == 0 {
		return r, nil
	}
	errs := make([]error, len(r.Problems))
	for i, p := range r.Problems {
		errs[i] = p
	}
	return r, errors.Join(errs...)
}

// isTrailingSeparators reports whether s is only semicolons and white
// space: "v=DMARC1; p=none;" and "...; ;" end the record harmlessly.
func isTrailingSeparators(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != ';' && !isWSP(s[i]) {
			return false
		}
	}
	return true
}

func known(tag string) bool {
	switch tag {
	case "v", "p", "sp", "np", "adkim", "aspf", "pct", "t", "psd", "rua", "ruf", "fo", "rf", "ri":
		return true
	}
	return false
}

func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlpha(s[i]) {
			return false
		}
	}
	return true
}

// isKeyword reports an RFC 5321 Keyword: Let-dig [Ldh-str].
func isKeyword(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isAlpha(c) || '0' <= c && c <= '9' || c == '-' && i > 0 && i < len(s)-1) {
			return false
		}
	}
	return true
}

func parsePolicy(v string) (Policy, bool) {
	switch strings.ToLower(v) {
	case "none":
		return PolicyNone, true
	case "quarantine":
		return PolicyQuarantine, true
	case "reject":
		return PolicyReject, true
	}
	return "", false
}

func (r *Record) problem(off int, tag, value, msg string) {
	r.Problems = append(r.Problems, &SyntaxError{Offset: off, Tag: tag, Value: value, Msg: msg, kind: ErrSyntax})
}

// parseURIs parses a dmarc-urilist (RFC 9989 section 4.8): URIs separated
// by commas, each optionally followed by the obsolete "!" size limit.
func (r *Record) parseURIs(off int, tag, value string) []ReportURI {
	var out []ReportURI
	for _, item := range strings.Split(value, ",") {
		item, _ = trimWSP(item)
		if len(out) == MaxReportURIs {
			r.problem(off, tag, value, fmt.Sprintf("more than %d report URIs (the rest ignored)", MaxReportURIs))
			break
		}
		u, size := item, uint64(0)
		if i := strings.IndexByte(item, '!'); i >= 0 {
			var ok bool
			u = item[:i]
			size, ok = parseSize(item[i+1:])
			if !ok {
				r.problem(off, tag, item, "size limit after '!' must be digits and an optional k, m, g or t (URI ignored)")
				continue
			}
		}
		if !validURI(u) {
			r.problem(off, tag, item, "not a URI with a scheme (URI ignored)")
			continue
		}
		out = append(out, ReportURI{URI: u, MaxSize: size})
	}
	return out
}

func validURI(s string) bool {
	if s == "" || len(s) > maxURILength || strings.ContainsAny(s, " \t") {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return false
	}
	if strings.EqualFold(u.Scheme, "mailto") {
		return strings.Contains(u.Opaque, "@")
	}
	return true
}

// parseSize parses 1*DIGIT [ "k" / "m" / "g" / "t" ] into bytes, refusing
// values that overflow 64 bits.
func parseSize(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	mult := uint64(1)
	switch s[len(s)-1] {
	case 'k', 'K':
		mult = 1 << 10
	case 'm', 'M':
		mult = 1 << 20
	case 'g', 'G':
		mult = 1 << 30
	case 't', 'T':
		mult = 1 << 40
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	if s == "" || s[0] == '+' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > (1<<64-1)/mult {
		return 0, false
	}
	return n * mult, true
}

// parseFO checks dmarc-fo (RFC 9989 section 4.8): values from 0, 1, d, s
// separated by colons, each at most once, 0 and 1 not together.
func (r *Record) parseFO(off int, value string) {
	var opts []string
	seen := map[string]bool{}
	for _, o := range strings.Split(value, ":") {
		o, _ = trimWSP(o)
		o = strings.ToLower(o)
		switch o {
		case "0", "1", "d", "s":
		default:
			r.problem(off, "fo", value, fmt.Sprintf("failure option %q is not 0, 1, d or s (default 0 used)", o))
			return
		}
		if seen[o] {
			r.problem(off, "fo", value, fmt.Sprintf("failure option %q repeated (default 0 used)", o))
			return
		}
		seen[o] = true
		opts = append(opts, o)
	}
	if seen["0"] && seen["1"] {
		r.problem(off, "fo", value, "failure options 0 and 1 exclude each other (default 0 used)")
		return
	}
	r.FailureOptions = opts
}

// String formats the record in canonical form: v first, then every tag
// that differs from its default.
func (r *Record) String() string {
	var b strings.Builder
	b.WriteString("v=DMARC1")
	add := func(tag, v string) {
		b.WriteString("; ")
		b.WriteString(tag)
		b.WriteByte('=')
		b.WriteString(v)
	}
	if r.Policy != "" {
		add("p", string(r.Policy))
	}
	if r.SubdomainPolicy != "" {
		add("sp", string(r.SubdomainPolicy))
	}
	if r.NonExistentPolicy != "" {
		add("np", string(r.NonExistentPolicy))
	}
	if r.ADKIM == Strict {
		add("adkim", "s")
	}
	if r.ASPF == Strict {
		add("aspf", "s")
	}
	if r.Percent != 100 {
		add("pct", strconv.Itoa(r.Percent))
	}
	if r.Testing {
		add("t", "y")
	}
	if r.PSD != PSDUnknown && r.PSD != 0 {
		add("psd", string(rune(r.PSD)))
	}
	uris := func(tag string, l []ReportURI) {
		if len(l) == 0 {
			return
		}
		parts := make([]string, len(l))
		for i, u := range l {
			parts[i] = u.URI
			if u.MaxSize > 0 {
				parts[i] += "!" + strconv.FormatUint(u.MaxSize, 10)
			}
		}
		add(tag, strings.Join(parts, ","))
	}
	uris("rua", r.RUA)
	uris("ruf", r.RUF)
	if len(r.FailureOptions) > 0 && !(len(r.FailureOptions) == 1 && r.FailureOptions[0] == "0") {
		add("fo", strings.Join(r.FailureOptions, ":"))
	}
	if len(r.ReportFormats) > 0 && !(len(r.ReportFormats) == 1 && r.ReportFormats[0] == "afrf") {
		add("rf", strings.Join(r.ReportFormats, ":"))
	}
	if r.ReportInterval != 86400 && r.ReportInterval != 0 {
		add("ri", strconv.FormatUint(uint64(r.ReportInterval), 10))
	}
	return b.String()
}
