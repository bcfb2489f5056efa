package dmarc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// PublicSuffixList finds the public suffix of a domain (lower-case,
// A-labels, no trailing dot) and says whether the rule that decided it is
// in the ICANN section of the list. Its signature is that of
// golang.org/x/net/publicsuffix.PublicSuffix; *SuffixList implements it
// for a list loaded at run time.
type PublicSuffixList interface {
	PublicSuffix(domain string) (suffix string, icann bool)
}

// embeddedPSL is the copy of the Public Suffix List compiled into
// golang.org/x/net/publicsuffix.
type embeddedPSL struct{}

// PublicSuffix implements PublicSuffixList.
func (embeddedPSL) PublicSuffix(d string) (string, bool) { return publicsuffix.PublicSuffix(d) }

// EmbeddedPSLVersion names the Public Suffix List revision compiled into
// golang.org/x/net/publicsuffix, which RFC 7489 mode uses unless
// Options.PSL gives another.
func EmbeddedPSLVersion() string { return fmt.Sprint(publicsuffix.List) }

// psl applies the section choice to a list.
type psl struct {
	list      PublicSuffixList
	icannOnly bool
}

// suffix returns the public suffix of d under the section choice. With
// icannOnly, a suffix decided by a private-section rule is replaced by the
// suffix of its parent until an ICANN rule (or the implicit "*" rule for a
// single label) decides.
func (p psl) suffix(d string) string {
	s, icann := p.list.PublicSuffix(d)
	for p.icannOnly && !icann {
		i := strings.IndexByte(s, '.')
		if i < 0 {
			return s // a TLD the list does not name: the implicit "*" rule
		}
		s, icann = p.list.PublicSuffix(s[i+1:])
	}
	return s
}

// orgDomain is the RFC 7489 section 3.2 Organizational Domain of d: its
// public suffix plus one label. ok is false when d is malformed or is
// itself a public suffix; org is then d.
func (p psl) orgDomain(d string) (org string, ok bool) {
	if d == "" || d[0] == '.' || d[len(d)-1] == '.' || strings.Contains(d, "..") {
		return d, false
	}
	s := p.suffix(d)
	if len(s) >= len(d) {
		return d, false
	}
	rest := d[:len(d)-len(s)-1]
	if d[len(rest)] != '.' {
		return d, false
	}
	return d[strings.LastIndexByte(rest, '.')+1:], true
}

// OrganizationalDomainPSL returns the RFC 7489 section 3.2 Organizational
// Domain of domain with the Public Suffix List compiled into
// golang.org/x/net/publicsuffix, counting the rules of both its ICANN and
// its PRIVATE sections (see Options.ICANNOnly). domain is normalized
// first (NormalizeDomain). ok is false when domain is malformed or is a
// public suffix itself.
func OrganizationalDomainPSL(domain string) (org string, ok bool) {
	d, err := NormalizeDomain(domain)
	if err != nil {
		return domain, false
	}
	return psl{list: embeddedPSL{}}.orgDomain(d)
}

// SuffixList is a Public Suffix List loaded with LoadPSL, for receivers
// that refresh the list more often than they rebuild. It is immutable and
// safe for concurrent use.
type SuffixList struct {
	rules map[string]rule // by rule name without "*." or "!" prefix
	n     int
}

type rule struct {
	normal, wildcard, exception, icann bool
}

// Len returns the number of rules loaded.
func (l *SuffixList) Len() int { return l.n }

// Limits of LoadPSL.
const (
	maxPSLRules    = 100000
	maxPSLLineSize = 1024
)

// LoadPSL reads a list in the publicsuffix.org format: one rule per line,
// "//" comments, "*." wildcards and "!" exceptions, with the sections
// marked by "===BEGIN ICANN DOMAINS===" and "===BEGIN PRIVATE DOMAINS===".
// Rules are converted to A-labels.
func LoadPSL(r io.Reader) (*SuffixList, error) {
	l := &SuffixList{rules: map[string]rule{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxPSLLineSize)
	icann := false
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(text, "//") {
			switch {
			case strings.Contains(text, "===BEGIN ICANN DOMAINS==="):
				icann = true
			case strings.Contains(text, "===BEGIN PRIVATE DOMAINS==="), strings.Contains(text, "===END ICANN DOMAINS==="):
				icann = false
			}
			continue
		}
		if text == "" {
			continue
		}
		if i := strings.IndexAny(text, " \t"); i >= 0 {
			text = text[:i] // the rule ends at the first white space
		}
		exception, wildcard := false, false
		if strings.HasPrefix(text, "!") {
			exception, text = true, text[1:]
		} else if strings.HasPrefix(text, "*.") {
			wildcard, text = true, text[2:]
		}
		name, err := idna.Lookup.ToASCII(text)
		if err != nil || name == "" || strings.Contains(name, "*") {
			return nil, fmt.Errorf("dmarc: public suffix list line %d: bad rule %q", line, sc.Text())
		}
		name = strings.ToLower(name)
		ru := l.rules[name]
		switch {
		case exception:
			ru.exception = true
		case wildcard:
			ru.wildcard = true
		default:
			ru.normal = true
		}
		ru.icann = ru.icann || icann
		l.rules[name] = ru
		if l.n++; l.n > maxPSLRules {
			return nil, fmt.Errorf("dmarc: public suffix list has more than %d rules", maxPSLRules)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("dmarc: reading public suffix list: %w", err)
	}
	if l.n == 0 {
		return nil, errors.New("dmarc: public suffix list is empty")
	}
	return l, nil
}

// PublicSuffix implements PublicSuffixList with the publicsuffix.org
// algorithm: the matching rule with the most labels wins, an exception
// rule beats every other, and when nothing matches the rule is "*".
func (l *SuffixList) PublicSuffix(d string) (string, bool) {
	best, bestIcann := -1, false // start index in d of the longest suffix
	for i := 0; ; {
		cand := d[i:]
		if ru, ok := l.rules[cand]; ok {
			if ru.exception {
				// "!city.kobe.jp": the suffix is the exception minus its
				// leftmost label.
				j := strings.IndexByte(cand, '.')
				if j < 0 {
					return cand, ru.icann
				}
				return cand[j+1:], ru.icann
			}
			if ru.normal && best < 0 {
				best, bestIcann = i, ru.icann
			}
		}
		// A wildcard rule "*.parent" makes one more label a suffix.
		j := strings.IndexByte(cand, '.')
		if j < 0 {
			break
		}
		parent := cand[j+1:]
		if ru, ok := l.rules[parent]; ok && ru.wildcard && best < 0 {
			if exc, ok := l.rules[cand]; !(ok && exc.exception) {
				best, bestIcann = i, ru.icann
			}
		}
		i += j + 1
	}
	if best < 0 {
		return d[strings.LastIndexByte(d, '.')+1:], false
	}
	return d[best:], bestIcann
}
