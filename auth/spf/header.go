package spf

import (
	"strings"
)

// ReceivedSPF returns the value of a Received-SPF header field (RFC 7208
// section 9.1) for the result, without the field name and on one line:
//
//	pass (mx.example.org: domain of bob@example.com designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from="bob@example.com"; helo=mail.example.com; receiver=mx.example.org; identity=mailfrom; mechanism="ip4:192.0.2.0/24"
//
// receiver is the domain name of the host that performed the check (empty:
// "unknown"). Every value that came from the client or from DNS is quoted
// or escaped, so it cannot end the comment or start another field; control
// characters are dropped. Write it as "Received-SPF: " + value, folded as
// the caller's header writer does.
func (r *Result) ReceivedSPF(receiver string) string {
	if receiver == "" {
		receiver = "unknown"
	}
	var b strings.Builder
	b.WriteString(r.Code.String())
	b.WriteString(" (")
	writeComment(&b, receiver+": "+r.comment())
	b.WriteString(")")
	if r.IP.IsValid() {
		b.WriteString(" client-ip=")
		b.WriteString(r.IP.String())
		b.WriteByte(';')
	}
	b.WriteString(" envelope-from=")
	if r.NullSender {
		b.WriteString(`""`)
	} else {
		writeValue(&b, r.Sender)
	}
	b.WriteByte(';')
	if r.HELO != "" {
		b.WriteString(" helo=")
		writeValue(&b, r.HELO)
		b.WriteByte(';')
	}
	b.WriteString(" receiver=")
	writeValue(&b, receiver)
	b.WriteString("; identity=")
	b.WriteString(string(r.identity()))
	if r.Mechanism != "" {
		b.WriteString("; mechanism=")
		writeValue(&b, r.Mechanism)
	}
	if r.Err != nil && (r.Code == PermError || r.Code == TempError) {
		b.WriteString("; problem=")
		writeValue(&b, r.Err.Error())
	}
	return b.String()
}

func (r *Result) identity() Identity {
	if r.Identity == "" {
		return MailFrom
	}
	return r.Identity
}

// comment is the human-readable part of Received-SPF, after the examples
// of RFC 7208 section 9.1.
func (r *Result) comment() string {
	who := "domain of " + r.Sender
	if r.identity() == HELO {
		who = "HELO " + r.HELO
	}
	ip := r.IP.String()
	switch r.Code {
	case Pass:
		return who + " designates " + ip + " as permitted sender"
	case Fail:
		return who + " does not designate " + ip + " as permitted sender"
	case SoftFail:
		return who + " does not designate " + ip + " as permitted sender (softfail: transitioning)"
	case Neutral:
		return ip + " is neither permitted nor denied by " + who
	case TempError:
		return "temporary error checking " + who
	case PermError:
		return "permanent error in the SPF record of " + r.Domain
	}
	if r.Err != nil {
		return who + " is not a checkable domain"
	}
	return who + " does not designate permitted sender hosts"
}

// writeComment writes s as comment text (RFC 5322 section 3.2.2):
// parentheses and backslashes are escaped, control characters dropped.
func writeComment(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '(' || c == ')' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
		default:
			b.WriteByte(c)
		}
	}
}

// writeValue writes s as a dot-atom when it is one, else as a
// quoted-string (RFC 5322 section 3.2.4), dropping control characters.
func writeValue(b *strings.Builder, s string) {
	if isDotAtom(s) {
		b.WriteString(s)
		return
	}
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

// isDotAtom reports whether s is a dot-atom (RFC 5322 section 3.2.3).
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlpha(c) || isDigit(c) || c == '.' || c >= 0x80 {
			continue
		}
		if strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) < 0 {
			return false
		}
	}
	return true
}

// AuthResProperty returns the Authentication-Results property for the
// result (RFC 8601 section 2.7.2): "smtp.mailfrom" with the MAIL FROM
// address (postmaster@HELO when the reverse path was null, RFC 7208
// section 2.4), or "smtp.helo" with the HELO name for a HELO check.
func (r *Result) AuthResProperty() (property, value string) {
	if r.identity() == HELO {
		return "smtp.helo", r.HELO
	}
	return "smtp.mailfrom", r.Sender
}

// AuthResValue returns the SPF method's resinfo for an
// Authentication-Results header field (RFC 8601 section 2.2, RFC 7208
// section 9.2), e.g. "spf=pass smtp.mailfrom=bob@example.com". The value
// is quoted when it is not a dot-atom.
func (r *Result) AuthResValue() string {
	prop, val := r.AuthResProperty()
	var b strings.Builder
	b.WriteString("spf=")
	b.WriteString(r.Code.String())
	b.WriteByte(' ')
	b.WriteString(prop)
	b.WriteByte('=')
	// pvalue = [CFWS] ( value / [ [ local-part ] "@" ] domain-name ) [CFWS]
	// (RFC 8601 section 2.2): an address with a dot-atom local-part goes
	// as it is, anything else as a quoted-string.
	if at := strings.LastIndexByte(val, '@'); at > 0 && isDotAtom(val[:at]) && isDotAtom(val[at+1:]) {
		b.WriteString(val)
	} else {
		writeValue(&b, val)
	}
	return b.String()
}

// Summary says in one sentence what the result means and why, for people:
// "pass: example.com authorizes 192.0.2.1 (include:_spf.example.net ->
// ip4:192.0.2.0/24 matched)".
func (r *Result) Summary() string {
	var b strings.Builder
	b.WriteString(r.Code.String())
	b.WriteString(": ")
	ip := r.IP.String()
	d := r.Domain
	switch r.Code {
	case Pass:
		b.WriteString(d + " authorizes " + ip)
	case Fail:
		b.WriteString(d + " does not authorize " + ip)
	case SoftFail:
		b.WriteString(d + " probably does not authorize " + ip + " (softfail)")
	case Neutral:
		b.WriteString(d + " neither authorizes nor denies " + ip)
	case None:
		if r.Err != nil {
			b.WriteString(r.Err.Error())
		} else {
			b.WriteString(d + " publishes no SPF record")
		}
	case TempError:
		b.WriteString("could not check " + d + " (temporary DNS failure)")
	case PermError:
		b.WriteString("the SPF record of " + d + " is broken")
	}
	if len(r.Path) > 0 {
		b.WriteString(" (" + strings.Join(r.Path, " -> ") + " matched)")
	} else if r.Code == Neutral {
		b.WriteString(" (no mechanism matched)")
	}
	if r.Err != nil && (r.Code == TempError || r.Code == PermError) {
		b.WriteString(": " + r.Err.Error())
	}
	return b.String()
}
