package spf

import (
	"net/netip"
	"strings"
)

// Kind is the kind of an SPF term (RFC 7208 sections 5 and 6).
type Kind uint8

// Term kinds.
const (
	KindAll      Kind = iota + 1 // "all" (section 5.1)
	KindInclude                  // "include:" (section 5.2)
	KindA                        // "a" (section 5.3)
	KindMX                       // "mx" (section 5.4)
	KindPTR                      // "ptr" (section 5.5)
	KindIP4                      // "ip4:" (section 5.6)
	KindIP6                      // "ip6:" (section 5.6)
	KindExists                   // "exists:" (section 5.7)
	KindRedirect                 // "redirect=" modifier (section 6.1)
	KindExp                      // "exp=" modifier (section 6.2)
	KindUnknown                  // any other modifier, ignored (section 6)
)

var kindNames = [...]string{"", "all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists", "redirect", "exp", "unknown-modifier"}

// String returns the term's name ("include", "redirect", ...).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "invalid"
}

// Mechanism reports whether terms of this kind are mechanisms (directives)
// rather than modifiers.
func (k Kind) Mechanism() bool { return k >= KindAll && k <= KindExists }

// QueriesDNS reports whether evaluating a term of this kind counts against
// the limit of 10 DNS-querying terms (RFC 7208 section 4.6.4).
func (k Kind) QueriesDNS() bool {
	switch k {
	case KindInclude, KindA, KindMX, KindPTR, KindExists, KindRedirect:
		return true
	}
	return false
}

// Qualifier is a mechanism's qualifier (RFC 7208 section 4.6.2).
type Qualifier byte

// Qualifiers.
const (
	QualifierPass     Qualifier = '+'
	QualifierFail     Qualifier = '-'
	QualifierSoftFail Qualifier = '~'
	QualifierNeutral  Qualifier = '?'
)

// Result is the result a matching mechanism with this qualifier gives.
func (q Qualifier) Result() ResultCode {
	switch q {
	case QualifierFail:
		return Fail
	case QualifierSoftFail:
		return SoftFail
	case QualifierNeutral:
		return Neutral
	}
	return Pass
}

// Term is one directive or modifier of a record.
type Term struct {
	// Text is the term as written in the record.
	Text string
	// Kind says what the term is.
	Kind Kind
	// Qualifier of a mechanism ('+' when none is written); zero for
	// modifiers.
	Qualifier Qualifier
	// Domain is the domain-spec (a macro-string, section 7.1) of include,
	// a, mx, ptr, exists, redirect and exp; empty when a, mx or ptr use
	// the current domain.
	Domain string
	// Prefix is the network of ip4 and ip6 (masked to its length).
	Prefix netip.Prefix
	// Bits4 and Bits6 are the CIDR lengths of a and mx (32 and 128 when
	// none is written, section 5.6).
	Bits4, Bits6 int
	// Name and Value of an unknown modifier (Kind KindUnknown).
	Name, Value string

	macro bool // Domain contains macros and must be expanded
	// Without macros: the lower-case target without a trailing dot and
	// its query name ("" when it cannot be queried), computed once.
	target, fqdn string
}

// setDomain records a validated domain-spec.
func (t *Term) setDomain(d string) {
	t.Domain = d
	t.macro = strings.IndexByte(d, '%') >= 0
	if !t.macro {
		t.fqdn, _ = queryName(d)
		t.target = lower(trimDot(d))
	}
}

// Record is a parsed SPF record (RFC 7208 section 4.6).
type Record struct {
	// Text is the record as published.
	Text string
	// Terms are the record's directives and modifiers, in order.
	Terms []Term
	// Redirect and Exp point at the redirect= and exp= modifiers in Terms,
	// or are nil.
	Redirect, Exp *Term
	// HasAll reports an "all" mechanism, which makes redirect= ignored
	// (section 6.1).
	HasAll bool
}

// IsRecord reports whether a TXT string is an SPF version 1 record: it
// begins with "v=spf1" (any case) followed by a space or its end (RFC 7208
// section 4.5).
func IsRecord(txt string) bool {
	return len(txt) >= 6 && strings.EqualFold(txt[:6], "v=spf1") && (len(txt) == 6 || txt[6] == ' ')
}

// Parse parses an SPF record. The whole record is checked, so a syntax
// error anywhere is found before evaluation begins (RFC 7208 section
// 4.6). Errors are *SyntaxError, matching ErrSyntax.
func Parse(txt string) (*Record, error) {
	rec := &Record{Text: txt}
	if err := rec.parse(); err != nil {
		return nil, err
	}
	return rec, nil
}

func (rec *Record) errorf(term, msg string) error {
	return &SyntaxError{Record: rec.Text, Term: term, Msg: msg}
}

func (rec *Record) parse() error {
	txt := rec.Text
	if !IsRecord(txt) {
		return rec.errorf("", "not an SPF record (no \"v=spf1\" version)")
	}
	// record = version terms *SP; terms = *( 1*SP ( directive / modifier ) ).
	// Every character must be a space or visible US-ASCII (sections 3 and
	// 4.6.1): control characters and 8-bit bytes are errors.
	n := 0
	for i := 6; i < len(txt); i++ {
		c := txt[i]
		if c == ' ' {
			if i+1 < len(txt) && txt[i+1] != ' ' {
				n++
			}
			continue
		}
		if c < 0x21 || c > 0x7e {
			end := min(len(txt), i+1)
			start := strings.LastIndexByte(txt[:i], ' ') + 1
			return rec.errorf(txt[start:end], "character "+quoteByte(c)+" is not allowed (only printable US-ASCII and spaces)")
		}
	}
	rec.Terms = make([]Term, 0, n)
	redirect, exp := -1, -1
	for rest := txt[6:]; rest != ""; {
		i := strings.IndexByte(rest, ' ')
		var t string
		if i < 0 {
			t, rest = rest, ""
		} else {
			t, rest = rest[:i], rest[i+1:]
		}
		if t == "" {
			continue
		}
		term := Term{Text: t}
		if err := rec.parseTerm(&term); err != nil {
			return err
		}
		switch term.Kind {
		case KindRedirect:
			if redirect >= 0 {
				return rec.errorf(t, "redirect= appears more than once (section 6)")
			}
			redirect = len(rec.Terms)
		case KindExp:
			if exp >= 0 {
				return rec.errorf(t, "exp= appears more than once (section 6)")
			}
			exp = len(rec.Terms)
		case KindAll:
			rec.HasAll = true
		}
		rec.Terms = append(rec.Terms, term)
	}
	if redirect >= 0 {
		rec.Redirect = &rec.Terms[redirect]
	}
	if exp >= 0 {
		rec.Exp = &rec.Terms[exp]
	}
	return nil
}

func isAlpha(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parseTerm parses one directive or modifier (section 12's ABNF).
func (rec *Record) parseTerm(t *Term) error {
	s := t.Text
	// modifier = redirect / explanation / unknown-modifier, where
	// unknown-modifier = name "=" macro-string and
	// name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ).
	if isAlpha(s[0]) {
		i := 1
		for i < len(s) && (isAlpha(s[i]) || isDigit(s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.') {
			i++
		}
		if i < len(s) && s[i] == '=' {
			return rec.parseModifier(t, s[:i], s[i+1:])
		}
	}
	// directive = [ qualifier ] mechanism
	t.Qualifier = QualifierPass
	switch s[0] {
	case '+', '-', '~', '?':
		t.Qualifier = Qualifier(s[0])
		s = s[1:]
	}
	i := 0
	for i < len(s) && s[i] != ':' && s[i] != '/' {
		i++
	}
	name, arg := s[:i], s[i:]
	switch {
	case strings.EqualFold(name, "all"):
		t.Kind = KindAll
		if arg != "" {
			return rec.errorf(t.Text, "all takes no argument (section 5.1)")
		}
	case strings.EqualFold(name, "include"):
		t.Kind = KindInclude
		return rec.domainArg(t, arg, true)
	case strings.EqualFold(name, "exists"):
		t.Kind = KindExists
		return rec.domainArg(t, arg, true)
	case strings.EqualFold(name, "ptr"):
		t.Kind = KindPTR
		return rec.domainArg(t, arg, false)
	case strings.EqualFold(name, "a"), strings.EqualFold(name, "mx"):
		t.Kind = KindA
		if len(name) == 2 {
			t.Kind = KindMX
		}
		t.Bits4, t.Bits6 = 32, 128
		arg, err := rec.dualCIDR(t, arg)
		if err != nil {
			return err
		}
		return rec.domainArg(t, arg, false)
	case strings.EqualFold(name, "ip4"), strings.EqualFold(name, "ip6"):
		t.Kind = KindIP4
		if name[2] == '6' {
			t.Kind = KindIP6
		}
		return rec.ipArg(t, arg)
	case name == "":
		return rec.errorf(t.Text, "missing mechanism name")
	default:
		return rec.errorf(t.Text, "unknown mechanism "+quote(name))
	}
	return nil
}

func (rec *Record) parseModifier(t *Term, name, value string) error {
	switch {
	case strings.EqualFold(name, "redirect"):
		t.Kind = KindRedirect
	case strings.EqualFold(name, "exp"):
		t.Kind = KindExp
	default:
		// unknown-modifier = name "=" macro-string (section 6): ignored,
		// but its value must be a valid macro-string.
		t.Kind = KindUnknown
		t.Name, t.Value = name, value
		if err := checkMacroString(value, true, false); err != "" {
			return rec.errorf(t.Text, err)
		}
		return nil
	}
	if value == "" {
		return rec.errorf(t.Text, name+"= needs a domain (section 6)")
	}
	if err := checkDomainSpec(value); err != "" {
		return rec.errorf(t.Text, err)
	}
	t.setDomain(value)
	return nil
}

// domainArg parses [ ":" domain-spec ] (required when must is set).
func (rec *Record) domainArg(t *Term, arg string, must bool) error {
	if arg == "" {
		if must {
			return rec.errorf(t.Text, t.Kind.String()+" needs \":\" and a domain")
		}
		return nil
	}
	if arg[0] != ':' {
		return rec.errorf(t.Text, "unexpected "+quote(arg))
	}
	arg = arg[1:]
	if arg == "" {
		return rec.errorf(t.Text, "empty domain after \":\"")
	}
	if err := checkDomainSpec(arg); err != "" {
		return rec.errorf(t.Text, err)
	}
	t.setDomain(arg)
	return nil
}

// dualCIDR strips dual-cidr-length = [ ip4-cidr-length ] [ "/"
// ip6-cidr-length ] from the end of arg (section 5.6).
func (rec *Record) dualCIDR(t *Term, arg string) (string, error) {
	if i := strings.LastIndex(arg, "//"); i >= 0 && allDigits(arg[i+2:]) {
		n, ok := cidrLen(arg[i+2:], 128)
		if !ok {
			return "", rec.errorf(t.Text, "invalid IPv6 prefix length "+quote(arg[i+2:]))
		}
		t.Bits6 = n
		arg = arg[:i]
	}
	if i := strings.LastIndexByte(arg, '/'); i >= 0 && allDigits(arg[i+1:]) {
		n, ok := cidrLen(arg[i+1:], 32)
		if !ok {
			return "", rec.errorf(t.Text, "invalid IPv4 prefix length "+quote(arg[i+1:]))
		}
		t.Bits4 = n
		arg = arg[:i]
	}
	return arg, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// cidrLen parses a prefix length: no leading zeros, at most max.
func cidrLen(s string, max int) (int, bool) {
	if s == "" || len(s) > 3 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, n <= max
}

// ipArg parses ":" ip4-network [ ip4-cidr-length ] or the ip6 form
// (section 5.6).
func (rec *Record) ipArg(t *Term, arg string) error {
	if len(arg) < 2 || arg[0] != ':' {
		return rec.errorf(t.Text, t.Kind.String()+" needs \":\" and an address")
	}
	arg = arg[1:]
	addr, bitsText, hasBits := strings.Cut(arg, "/")
	ip, err := netip.ParseAddr(addr)
	max := 32
	if t.Kind == KindIP4 {
		if err != nil || !ip.Is4() {
			return rec.errorf(t.Text, "invalid IPv4 address "+quote(addr))
		}
	} else {
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return rec.errorf(t.Text, "invalid IPv6 address "+quote(addr))
		}
		max = 128
	}
	bits := max
	if hasBits {
		n, ok := cidrLen(bitsText, max)
		if !ok {
			return rec.errorf(t.Text, "invalid prefix length "+quote(bitsText))
		}
		bits = n
	}
	t.Prefix, _ = ip.Prefix(bits)
	return nil
}

// checkDomainSpec checks domain-spec = macro-string domain-end, where
// domain-end = ( "." toplabel [ "." ] ) / macro-expand (section 7.1). The
// macro letters c, r and t are allowed only in explanations (section 7.3).
// It returns "" or what is wrong.
func checkDomainSpec(s string) string {
	if err := checkMacroString(s, false, false); err != "" {
		return err
	}
	// Find the trailing run of literal characters (after the last
	// macro-expand).
	lit := len(s)
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		end := macroEnd(s, i)
		if end == len(s) {
			return "" // ends with a macro-expand
		}
		lit = end
		i = end - 1
	}
	if lit == len(s) {
		lit = 0
	}
	tail := s[lit:]
	tail = strings.TrimSuffix(tail, ".")
	dot := strings.LastIndexByte(tail, '.')
	if dot < 0 {
		return "domain " + quote(s) + " does not end in a dot and a top-level label (section 7.1)"
	}
	if !isTopLabel(tail[dot+1:]) {
		return "domain " + quote(s) + " does not end in a valid top-level label (section 7.1)"
	}
	return ""
}

// macroEnd returns the index just past the macro-expand starting at s[i]
// == '%', which checkMacroString has validated.
func macroEnd(s string, i int) int {
	if s[i+1] != '{' {
		return i + 2
	}
	return i + strings.IndexByte(s[i:], '}') + 1
}

// isTopLabel: toplabel = ( *alphanum ALPHA *alphanum ) /
// ( 1*alphanum "-" *( alphanum / "-" ) alphanum ).
func isTopLabel(l string) bool {
	if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	alpha, dash := false, false
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case isAlpha(c):
			alpha = true
		case isDigit(c):
		case c == '-':
			dash = true
		default:
			return false
		}
	}
	return alpha || dash
}

// checkMacroString checks macro-string = *( macro-expand / macro-literal )
// (section 7.1): visible US-ASCII, with "%" only in "%%", "%_", "%-" and
// "%{" macro-letter transformers *delimiter "}". expOnly allows the macro
// letters c, r and t; spaces allows spaces, for explain-string = *(
// macro-string / SP ) (section 6.2). It returns "" or what is wrong.
func checkMacroString(s string, expOnly, spaces bool) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' && spaces {
			continue
		}
		if c < 0x21 || c > 0x7e {
			return "character " + quoteByte(c) + " is not allowed"
		}
		if c != '%' {
			continue
		}
		if i+1 >= len(s) {
			return "\"%\" at the end of " + quote(s) + " (section 7.1)"
		}
		switch s[i+1] {
		case '%', '_', '-':
			i++
			continue
		case '{':
		default:
			return "\"%\" followed by " + quoteByte(s[i+1]) + " in " + quote(s) + " (section 7.1)"
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "unterminated macro in " + quote(s)
		}
		m := s[i+2 : i+end]
		if _, err := parseMacro(m, expOnly); err != "" {
			return err + " in " + quote(s)
		}
		i += end
	}
	return ""
}

// macro is a parsed macro-expand body: letter transformers *delimiter.
type macro struct {
	letter  byte // lower-case
	upper   bool // URL-escape the expansion (section 7.3)
	digits  int  // keep this many right-hand parts; 0: all
	reverse bool
	delims  string // "" means "."
}

// parseMacro parses the inside of "%{...}". It returns "" or what is
// wrong.
func parseMacro(m string, expOnly bool) (macro, string) {
	var mc macro
	if m == "" {
		return mc, "empty macro"
	}
	l := m[0]
	mc.upper = 'A' <= l && l <= 'Z'
	mc.letter = l | 0x20
	switch mc.letter {
	case 's', 'l', 'o', 'd', 'i', 'p', 'h', 'v':
	case 'c', 'r', 't':
		if !expOnly {
			return mc, "macro letter " + quoteByte(l) + " is allowed only in explanations (section 7.3)"
		}
	default:
		return mc, "unknown macro letter " + quoteByte(l) + " (section 7.3)"
	}
	i := 1
	for i < len(m) && isDigit(m[i]) {
		if mc.digits > 1<<20 {
			return mc, "macro transformer digits too large"
		}
		mc.digits = mc.digits*10 + int(m[i]-'0')
		i++
	}
	if i > 1 && mc.digits == 0 {
		return mc, "macro transformer digits must not be zero (section 7.3)"
	}
	if i < len(m) && (m[i] == 'r' || m[i] == 'R') {
		mc.reverse = true
		i++
	}
	for j := i; j < len(m); j++ {
		switch m[j] {
		case '.', '-', '+', ',', '/', '_', '=':
		default:
			return mc, "invalid macro delimiter " + quoteByte(m[j]) + " (section 7.1)"
		}
	}
	mc.delims = m[i:]
	return mc, ""
}

// String returns the record's text.
func (rec *Record) String() string { return rec.Text }

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c > 0x7e:
			b.WriteString(`\x`)
			b.WriteByte(hexUpper[c>>4])
			b.WriteByte(hexUpper[c&15])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func quoteByte(c byte) string {
	if c >= 0x21 && c <= 0x7e {
		return "'" + string(c) + "'"
	}
	return `'\x` + string([]byte{hexUpper[c>>4], hexUpper[c&15]}) + `'`
}

const hexUpper = "0123456789ABCDEF"
