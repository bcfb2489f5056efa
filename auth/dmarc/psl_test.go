package dmarc

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore/dnsutil"
	"github.com/mailscore/mailscore/internal/testdata"
)

var checkPSLine = regexp.MustCompile(`^checkPublicSuffix\((null|'[^']*'), (null|'[^']*')\);`)

type pslVector struct{ in, want string } // "" for null

func loadPSLVectors(t *testing.T) []pslVector {
	f, err := os.Open(filepath.Join(testdata.Dir(t, "dmarc", "psl"), "test_psl.txt"))
	require.NoError(t, err)
	defer f.Close()
	var out []pslVector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := checkPSLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		unq := func(s string) string { return strings.Trim(strings.TrimPrefix(s, "null"), "'") }
		out = append(out, pslVector{unq(m[1]), unq(m[2])})
	}
	require.NoError(t, sc.Err())
	return out
}

func loadSharedPSL(t *testing.T) *SuffixList {
	f, err := os.Open(filepath.Join(testdata.Dir(t, "dmarc", "psl"), "public_suffix_list.dat"))
	require.NoError(t, err)
	defer f.Close()
	l, err := LoadPSL(f)
	require.NoError(t, err)
	return l
}

// TestPSLVectors runs the official Public Suffix List test vectors
// (test_psl.txt) through the RFC 7489 section 3.2 Organizational Domain,
// with the list compiled into golang.org/x/net/publicsuffix (the default)
// and with the shared public_suffix_list.dat loaded by LoadPSL. Inputs and
// expected names are compared in A-label form, as DMARC uses them.
func TestPSLVectors(t *testing.T) {
	vecs := loadPSLVectors(t)
	require.Len(t, vecs, 78, "test_psl.txt holds 78 active checks")
	lists := []struct {
		name string
		list PublicSuffixList
	}{
		{"x/net embedded (" + EmbeddedPSLVersion() + ")", embeddedPSL{}},
		{"shared public_suffix_list.dat via LoadPSL", loadSharedPSL(t)},
	}
	for _, l := range lists {
		p := psl{list: l.list}
		passed := 0
		for _, v := range vecs {
			want, wantOK := "", v.want != ""
			if wantOK {
				var err error
				want, err = NormalizeDomain(v.want)
				require.NoError(t, err)
			}
			got, ok := "", false
			if d, err := NormalizeDomain(v.in); err == nil && v.in != "" && !strings.HasPrefix(v.in, ".") {
				got, ok = p.orgDomain(d)
			}
			if !ok {
				got = ""
			}
			if ok == wantOK && got == want {
				passed++
			} else {
				t.Errorf("%s: %q: got %q (ok %v), want %q", l.name, v.in, got, ok, v.want)
			}
		}
		t.Logf("PSL vectors with %s: %d passed / %d", l.name, passed, len(vecs))
	}
}

// TestPSLDrift measures how far the list compiled into x/net differs from
// the shared copy: for every rule of the shared list, a name under it must
// get the same public suffix from both. Lists change weekly, so some drift
// is expected; a large one means LoadPSL or the comparison is broken.
func TestPSLDrift(t *testing.T) {
	shared := loadSharedPSL(t)
	f, err := os.Open(filepath.Join(testdata.Dir(t, "dmarc", "psl"), "public_suffix_list.dat"))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	rules, diff := 0, 0
	var examples []string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		name := strings.TrimPrefix(strings.TrimPrefix(line, "!"), "*.")
		a, err := NormalizeDomain(name)
		require.NoError(t, err)
		probe := "zz9." + a
		if strings.HasPrefix(line, "*.") {
			probe = "zz9.yy8." + a
		}
		rules++
		s1, i1 := shared.PublicSuffix(probe)
		s2, i2 := embeddedPSL{}.PublicSuffix(probe)
		if s1 != s2 || i1 != i2 {
			diff++
			if len(examples) < 5 {
				examples = append(examples, probe+": shared "+s1+", x/net "+s2)
			}
		}
	}
	t.Logf("PSL drift: %d of %d rules of the shared list answer differently in x/net's embedded copy (%s); e.g. %v",
		diff, rules, EmbeddedPSLVersion(), examples)
	require.Less(t, diff, rules/50, "more than 2%% of the rules differ: suspect LoadPSL")
}

// TestPSLPrivateSection: by default the PRIVATE section counts, so
// subdomains of blogspot.com, github.io and similar registries of third
// parties are Organizational Domains of their own; ICANNOnly counts only
// the ICANN section.
func TestPSLPrivateSection(t *testing.T) {
	shared := loadSharedPSL(t)
	tests := []struct {
		domain, all, icann string
	}{
		{"alice.blogspot.com", "alice.blogspot.com", "blogspot.com"},
		{"www.alice.blogspot.com", "alice.blogspot.com", "blogspot.com"},
		{"project.github.io", "project.github.io", "github.io"},
		{"a.b.example.com", "example.com", "example.com"},
		{"mail.example.co.uk", "example.co.uk", "example.co.uk"},
	}
	for _, l := range []PublicSuffixList{embeddedPSL{}, shared} {
		for _, tt := range tests {
			got, ok := psl{list: l}.orgDomain(tt.domain)
			require.True(t, ok, tt.domain)
			require.Equal(t, tt.all, got, tt.domain)
			got, ok = psl{list: l, icannOnly: true}.orgDomain(tt.domain)
			require.True(t, ok, tt.domain)
			require.Equal(t, tt.icann, got, tt.domain)
		}
	}
	org, ok := OrganizationalDomainPSL("Alice.BlogSpot.com.")
	require.True(t, ok)
	require.Equal(t, "alice.blogspot.com", org)
	_, ok = OrganizationalDomainPSL("co.uk")
	require.False(t, ok, "a public suffix has no Organizational Domain")

	// Alignment follows: two blogs are different organizations unless the
	// receiver counts only ICANN rules.
	all := New(dnsutil.Offline{}, Options{Mode: PSL})
	icann := New(dnsutil.Offline{}, Options{Mode: PSL, ICANNOnly: true})
	require.False(t, all.Aligned("alice.blogspot.com", "bob.blogspot.com", Relaxed))
	require.True(t, icann.Aligned("alice.blogspot.com", "bob.blogspot.com", Relaxed))
	require.True(t, all.Aligned("www.alice.blogspot.com", "alice.blogspot.com", Relaxed))
	withShared := New(dnsutil.Offline{}, Options{Mode: PSL, PSL: shared})
	require.False(t, withShared.Aligned("alice.blogspot.com", "bob.blogspot.com", Relaxed))
}

func TestLoadPSLErrors(t *testing.T) {
	_, err := LoadPSL(strings.NewReader("// only a comment\n"))
	require.Error(t, err)
	_, err = LoadPSL(strings.NewReader("ok\n*.*.bad\n"))
	require.ErrorContains(t, err, "line 2")
	_, err = LoadPSL(strings.NewReader(strings.Repeat("x", 2000) + "\n"))
	require.Error(t, err)
	l, err := LoadPSL(strings.NewReader("// ===BEGIN ICANN DOMAINS===\nck\n*.ck\n!www.ck\n// ===END ICANN DOMAINS===\n// ===BEGIN PRIVATE DOMAINS===\nblog.ck.example\n"))
	require.NoError(t, err)
	require.Equal(t, 4, l.Len())
	s, icann := l.PublicSuffix("a.b.ck")
	require.Equal(t, "b.ck", s)
	require.True(t, icann)
	s, _ = l.PublicSuffix("a.www.ck")
	require.Equal(t, "ck", s)
	s, icann = l.PublicSuffix("x.blog.ck.example")
	require.Equal(t, "blog.ck.example", s)
	require.False(t, icann)
	s, icann = l.PublicSuffix("x.unknown")
	require.Equal(t, "unknown", s)
	require.False(t, icann)
}
