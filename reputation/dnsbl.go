package reputation

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/dnsutil"
)

// DNSList is a DNS blocklist or allowlist (RFC 5782) for the Checker to
// query, with the weights of its symbols. Use dnsutil's presets
// (dnsutil.SpamhausZEN and the others, or PresetLists by name).
//
// A listing becomes a signal named DNSBL_<TAG>_<CODE> (a code with a
// positive Value, or a neutral one with Value 0 that carries no weight) or
// DNSWL_<TAG>_<CODE> (a code with a negative Value: an allowlist trust
// level, with a negative weight); for the list named DNSWL the latter is
// just DNSWL_<CODE>. A list that cannot answer (timeout, SERVFAIL, an error
// code such as 127.255.255.254, an unhealthy list) gives the signal
// DNSBL_<TAG> (DNSWL_<TAG> for an allowlist) with Confidence 0, and the
// check returns an error: unknown, never a listing.
type DNSList struct {
	List dnsutil.Blocklist
	// Tag names the list in symbols; default: the first word of
	// List.Name, upper-case ("Spamhaus ZEN" gives SPAMHAUS).
	Tag string
	// Weight is the points of a listing whose code has Value 1; default
	// DefaultListWeight.
	Weight float64
	// AllowWeight is the points of an allowlist code with Value -1 (its
	// magnitude; it is applied as a negative weight); default
	// -DefaultAllowWeight.
	AllowWeight float64
}

// Default weights of list symbols.
const (
	DefaultListWeight  = 4.0
	DefaultAllowWeight = -3.0
)

// PresetLists returns dnsutil's list presets by name, for a command-line
// flag such as -dnsbl zen,spamcop: "zen" (Spamhaus ZEN), "spamcop",
// "barracuda", "mailspike" (graded, with a neutral band) and "dnswl" (an
// allowlist). Empty names are skipped.
func PresetLists(names ...string) ([]DNSList, error) {
	var out []DNSList
	for _, n := range names {
		var l dnsutil.Blocklist
		switch strings.ToLower(strings.TrimSpace(n)) {
		case "":
			continue
		case "zen", "spamhaus":
			l = dnsutil.SpamhausZEN()
		case "spamcop":
			l = dnsutil.SpamCop()
		case "barracuda":
			l = dnsutil.Barracuda()
		case "mailspike":
			l = dnsutil.Mailspike()
		case "dnswl":
			l = dnsutil.DNSWL()
		default:
			return nil, fmt.Errorf("reputation: unknown DNS list %q (known: zen, spamcop, barracuda, mailspike, dnswl)", n)
		}
		out = append(out, DNSList{List: l})
	}
	return out, nil
}

// listInfo is a list prepared for the checker: its symbols by code.
type listInfo struct {
	name       string
	unknownSym string
	weight     float64           // > 0
	allow      float64           // < 0
	syms       map[string]string // sign + code name -> symbol
	symbols    []mailscore.Symbol
}

// symbolPart turns a name into an UPPER_SNAKE_CASE part of a symbol.
func symbolPart(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToUpper(s) {
		if ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			b.WriteRune(r)
			under = false
		} else if !under && b.Len() > 0 {
			b.WriteByte('_')
			under = true
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}

// listCodes returns every code a list can answer with, including the one
// dnsutil uses for answers no table names.
func listCodes(l *dnsutil.Blocklist) []dnsutil.Code {
	var cs []dnsutil.Code
	for _, c := range l.Codes {
		cs = append(cs, c)
	}
	for _, c := range l.LastOctet {
		cs = append(cs, c)
	}
	for _, b := range l.Bits {
		cs = append(cs, b.Code)
	}
	if l.Listed.Name != "" {
		cs = append(cs, l.Listed)
	} else {
		cs = append(cs, dnsutil.Code{Name: "listed"}) // what Interpret makes of an unnamed answer
	}
	return cs
}

func codeSign(v float64) byte {
	switch {
	case v > 0:
		return '+'
	case v < 0:
		return '-'
	}
	return '0'
}

func prepareList(dl DNSList) (*listInfo, error) {
	l := &dl.List
	tag := dl.Tag
	if tag == "" {
		name := l.Name
		if name == "" {
			name = l.Zone
		}
		tag, _, _ = strings.Cut(strings.TrimSpace(name), " ")
		tag, _, _ = strings.Cut(tag, ".")
	}
	tag = symbolPart(tag)
	if tag == "" {
		return nil, fmt.Errorf("reputation: list %q: no tag for its symbols", l.Name)
	}
	li := &listInfo{name: l.Name, weight: dl.Weight, allow: -abs(dl.AllowWeight), syms: map[string]string{}}
	if li.name == "" {
		li.name = l.Zone
	}
	if li.weight <= 0 {
		li.weight = DefaultListWeight
	}
	if li.allow == 0 {
		li.allow = DefaultAllowWeight
	}
	codes := listCodes(l)
	allowOnly := true
	for _, c := range codes {
		if c.Value > 0 {
			allowOnly = false
		}
	}
	group := "DNSBL_" + tag
	if allowOnly {
		li.unknownSym = "DNSWL_" + tag
		if tag == "DNSWL" {
			li.unknownSym = "DNSWL"
		}
		group = li.unknownSym
	} else {
		li.unknownSym = "DNSBL_" + tag
	}
	unknownWeight := li.weight
	if allowOnly {
		unknownWeight = li.allow
	}
	li.symbols = append(li.symbols, mailscore.Symbol{
		Name: li.unknownSym, Weight: unknownWeight, Group: group,
		Description: li.name + " could not answer (unknown; never a listing)",
	})
	seen := map[string]bool{li.unknownSym: true}
	for _, c := range codes {
		part := symbolPart(c.Name)
		if part == "" {
			part = "LISTED"
		}
		var sym string
		w := li.weight
		switch {
		case c.Value < 0 && tag == "DNSWL":
			sym, w = "DNSWL_"+part, li.allow
		case c.Value < 0:
			sym, w = "DNSWL_"+tag+"_"+part, li.allow
		default:
			sym = "DNSBL_" + tag + "_" + part
		}
		li.syms[string(codeSign(c.Value))+c.Name] = sym
		if seen[sym] {
			continue
		}
		seen[sym] = true
		desc := c.Meaning
		if desc == "" {
			desc = li.name + ": listed"
		}
		li.symbols = append(li.symbols, mailscore.Symbol{Name: sym, Weight: w, Group: group, Description: desc})
	}
	slices.SortFunc(li.symbols, func(a, b mailscore.Symbol) int { return strings.Compare(a.Name, b.Name) })
	return li, nil
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
