package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Limits of RFC 5321 section 4.5.3.1 on the parts of a path.
const (
	maxLocalPart = 64  // section 4.5.3.1.1
	maxDomain    = 255 // section 4.5.3.1.2
	maxPath      = 256 // section 4.5.3.1.3, angle brackets included
	maxParams    = 10  // ESMTP parameters on one MAIL or RCPT command
)

// command is one parsed SMTP command line: the verb in upper case and
// the rest of the line after the separating space.
type command struct {
	verb string
	arg  string
}

// parseCommand splits a command line (without its line break) into verb
// and argument (RFC 5321 section 4.1.1: the verb is a four-letter word,
// case-insensitive, followed by a space and the arguments). A verb longer
// than any SMTP verb is cut so that logging it is bounded.
func parseCommand(line string) command {
	verb, arg, _ := strings.Cut(line, " ")
	if len(verb) > 16 {
		verb = verb[:16]
	}
	return command{verb: upperASCII(verb), arg: arg}
}

// upperASCII upper-cases the ASCII letters of s and leaves every other
// byte alone (strings.ToUpper would turn invalid UTF-8 into longer
// replacement characters).
func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// Errors from the path and parameter parsers, each carrying the reply the
// server gives for it.
var (
	errSyntax      = errors.New("syntax error")
	errNonASCII    = errors.New("non-ASCII address without SMTPUTF8")
	errPathTooLong = errors.New("address too long")
)

// pathArg parses the argument of MAIL ("FROM:<path> params") or RCPT
// ("TO:<path> params"): prefix is "FROM:" or "TO:". It returns the address
// without angle brackets or source route ("" for the null path "<>",
// which only MAIL accepts) and the ESMTP parameters.
//
// RFC 5321 section 4.1.2 gives the grammar; as most servers do, a space
// between the colon and the path is tolerated (RFC 5321 section 4.1.1.2
// notes clients that send one).
func pathArg(arg, prefix string, nullOK bool) (addr string, params []param, err error) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", nil, fmt.Errorf("%w: expected %s<address>", errSyntax, prefix)
	}
	rest := strings.TrimLeft(arg[len(prefix):], " ")
	addr, rest, err = parsePath(rest)
	if err != nil {
		return "", nil, err
	}
	if addr == "" && !nullOK {
		return "", nil, fmt.Errorf("%w: the null path <> is not a recipient", errSyntax)
	}
	if rest != "" {
		if rest[0] != ' ' {
			return "", nil, fmt.Errorf("%w: expected a space after the path", errSyntax)
		}
		params, err = parseParams(rest[1:])
		if err != nil {
			return "", nil, err
		}
	}
	return addr, params, nil
}

// parsePath parses "<" [A-d-l ":"] Mailbox ">" or "<>" at the start of s
// (RFC 5321 section 4.1.2) and returns the mailbox and what follows the
// closing bracket. The source route (A-d-l) is dropped, as section
// 4.1.1.3 allows. "<postmaster>" without a domain is accepted (section
// 4.1.1.3 requires it as a recipient).
func parsePath(s string) (mailbox, rest string, err error) {
	if s == "" || s[0] != '<' {
		return "", "", fmt.Errorf("%w: the address must be in angle brackets", errSyntax)
	}
	// Find the closing bracket, honouring quoted strings in the local
	// part, where '>' may appear.
	end := -1
	quoted := false
scan:
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			return "", "", errNonASCII
		case c < 0x20 || c == 0x7f:
			return "", "", fmt.Errorf("%w: control character in address", errSyntax)
		case quoted && c == '\\':
			i++ // quoted-pair
		case c == '"':
			quoted = !quoted
		case !quoted && c == '>':
			end = i
			break scan
		}
	}
	if end < 0 {
		return "", "", fmt.Errorf("%w: no closing angle bracket", errSyntax)
	}
	if end+1 > maxPath {
		return "", "", errPathTooLong
	}
	inner, rest := s[1:end], s[end+1:]
	if inner == "" {
		return "", rest, nil
	}
	if inner[0] == '@' { // source route: "@a,@b:mailbox"
		_, mb, ok := strings.Cut(inner, ":")
		if !ok {
			return "", "", fmt.Errorf("%w: bad source route", errSyntax)
		}
		inner = mb
	}
	if err := checkMailbox(inner); err != nil {
		return "", "", err
	}
	return inner, rest, nil
}

// checkMailbox checks Local-part "@" ( Domain / address-literal ) of RFC
// 5321 section 4.1.2 loosely: a local part (dot-string or quoted string)
// and a domain of printable characters, within the length limits.
func checkMailbox(mb string) error {
	at := strings.LastIndexByte(mb, '@')
	if at < 0 {
		if strings.EqualFold(mb, "postmaster") {
			return nil
		}
		return fmt.Errorf("%w: address has no domain", errSyntax)
	}
	local, domain := mb[:at], mb[at+1:]
	switch {
	case local == "" || domain == "":
		return fmt.Errorf("%w: empty local part or domain", errSyntax)
	case len(local) > maxLocalPart || len(domain) > maxDomain:
		return errPathTooLong
	}
	if local[0] == '"' {
		if len(local) < 2 || local[len(local)-1] != '"' {
			return fmt.Errorf("%w: bad quoted local part", errSyntax)
		}
	} else {
		for i := 0; i < len(local); i++ {
			if !isAtext(local[i]) && local[i] != '.' {
				return fmt.Errorf("%w: bad character in local part", errSyntax)
			}
		}
	}
	if domain[0] == '[' {
		if domain[len(domain)-1] != ']' {
			return fmt.Errorf("%w: bad address literal", errSyntax)
		}
		return nil
	}
	for i := 0; i < len(domain); i++ {
		c := domain[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return fmt.Errorf("%w: bad character in domain", errSyntax)
		}
	}
	return nil
}

// isAtext reports an atext character of RFC 5322 section 3.2.3.
func isAtext(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// param is one ESMTP parameter: esmtp-keyword ["=" esmtp-value].
type param struct {
	key   string // upper case
	value string
}

// parseParams parses the space-separated Mail-parameters or
// Rcpt-parameters of RFC 5321 section 4.1.2: keywords of letters, digits
// and '-', values of printable characters other than '=' and space.
func parseParams(s string) ([]param, error) {
	var out []param
	for _, f := range strings.Fields(s) {
		if len(out) == maxParams {
			return nil, fmt.Errorf("%w: too many parameters", errSyntax)
		}
		k, v, hasValue := strings.Cut(f, "=")
		if k == "" || !isKeyword(k) {
			return nil, fmt.Errorf("%w: bad parameter %q", errSyntax, clip(f, 40))
		}
		if hasValue && (v == "" || strings.ContainsAny(v, "=")) {
			return nil, fmt.Errorf("%w: bad parameter value %q", errSyntax, clip(f, 40))
		}
		for i := 0; i < len(v); i++ {
			if v[i] < 33 || v[i] > 126 {
				return nil, fmt.Errorf("%w: bad parameter value", errSyntax)
			}
		}
		k = upperASCII(k)
		for _, p := range out {
			if p.key == k {
				return nil, fmt.Errorf("%w: parameter %s given twice", errSyntax, k)
			}
		}
		out = append(out, param{key: k, value: v})
	}
	return out, nil
}

func isKeyword(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' && i > 0) {
			return false
		}
	}
	return true
}

// parseSize parses the value of the SIZE parameter (RFC 1870 section 6):
// a decimal number of octets. Values beyond int64 saturate, which is more
// than any limit.
func parseSize(v string) (int64, error) {
	if v == "" || len(v) > 20 {
		if len(v) > 20 && strings.Trim(v, "0123456789") == "" {
			return 1<<63 - 1, nil
		}
		return 0, fmt.Errorf("%w: bad SIZE value", errSyntax)
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 1<<63 - 1, nil
		}
		return 0, fmt.Errorf("%w: bad SIZE value", errSyntax)
	}
	return int64(min(n, 1<<63-1)), nil
}

// clip shortens s to at most n bytes for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// printable reports whether s holds only printable US-ASCII (a HELO
// argument or address safe to put into a header field).
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
