package arc

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/auth/dkim"
	"github.com/mailscore/mailscore/internal/testdata"
)

// The ValiMail ARC test suite (../shared/testdata/arc, MIT): 171
// validation tests and 17 signing tests, written against the ARC drafts.
// Each YAML document carries its DNS records, served here with dnstest.
//
// Where a draft-era expectation contradicts RFC 8617, the test asserts the
// RFC's answer and names the section (rfcOverrides); those are counted
// apart, never dropped.

// suiteDoc is one YAML document of a suite file.
type suiteDoc struct {
	description string
	tests       []suiteTest
	records     map[string]string
	// signing documents only
	domain, selector, privateKey string
}

type suiteTest struct {
	name   string
	fields map[string]string
	// shadowed is set on a test whose name a later test in the same
	// document repeats: YAML keeps the last of duplicate keys (as PyYAML,
	// the suite's own loader, does), so the suite has 171 tests, not 175.
	shadowed bool
}

// loadSuite reads a multi-document suite file. It walks yaml.Node trees
// rather than decoding into maps, because the validation file repeats four
// test names within one mapping.
func loadSuite(t *testing.T, file string) []suiteDoc {
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var docs []suiteDoc
	for {
		var root yaml.Node
		if err := dec.Decode(&root); errors.Is(err, io.EOF) {
			break
		} else {
			require.NoError(t, err)
		}
		require.Equal(t, yaml.DocumentNode, root.Kind)
		m := root.Content[0]
		require.Equal(t, yaml.MappingNode, m.Kind)
		var d suiteDoc
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i].Value, m.Content[i+1]
			switch k {
			case "description":
				d.description = strings.TrimSpace(v.Value)
			case "domain":
				d.domain = v.Value
			case "sel":
				d.selector = v.Value
			case "privatekey":
				d.privateKey = v.Value
			case "txt-records":
				d.records = map[string]string{}
				for j := 0; j+1 < len(v.Content); j += 2 {
					d.records[v.Content[j].Value] = strings.TrimSpace(v.Content[j+1].Value)
				}
			case "tests":
				last := map[string]int{}
				for j := 0; j+1 < len(v.Content); j += 2 {
					tc := suiteTest{name: v.Content[j].Value, fields: map[string]string{}}
					body := v.Content[j+1]
					for k := 0; k+1 < len(body.Content); k += 2 {
						tc.fields[body.Content[k].Value] = body.Content[k+1].Value
					}
					if prev, ok := last[tc.name]; ok {
						d.tests[prev].shadowed = true
					}
					last[tc.name] = len(d.tests)
					d.tests = append(d.tests, tc)
				}
			}
		}
		docs = append(docs, d)
	}
	return docs
}

// rfcOverride is a draft-era expectation of the suite that RFC 8617 (or
// RFC 6376, whose DKIM-Signature the AMS inherits) answers differently.
type rfcOverride struct {
	want    Status
	section string
}

func rfcOverrides() map[string]rfcOverride {
	return map[string]rfcOverride{
		// The suite leaves cv empty where the newest seal, or an older one,
		// says cv=fail (its reference, dkimpy, returns None: "the chain is
		// terminated"). RFC 8617 section 5.2 step 2 (newest cv=fail) and step
		// 3 C (no cv=fail anywhere) make the status fail.
		"cv_fail_i1_as_cv_fail": {StatusFail, "RFC 8617 section 5.2 step 2"},
		"cv_fail_i2_as2_fail":   {StatusFail, "RFC 8617 section 5.2 step 2"},
		"cv_fail_i2_as1_fail":   {StatusFail, "RFC 8617 section 5.2 step 3 C"},
		// An AMS with an empty h=: the AMS has the syntax and semantics of a
		// DKIM-Signature (RFC 8617 section 4.1.2), whose h= names at least
		// one field and must sign From (RFC 6376 sections 3.5, 5.4 and 6.1.1:
		// "PERMFAIL (From field not signed)").
		"ams_fields_h_empty": {StatusFail, "RFC 8617 section 4.1.2 / RFC 6376 sections 3.5 and 6.1.1"},
		// h=from:to::date..., an empty field name in h= (sig-h-tag =
		// hdr-name *( [FWS] ":" [FWS] hdr-name ), RFC 6376 section 3.5).
		"ams_fields_h_mis_hdr": {StatusFail, "RFC 8617 section 4.1.2 / RFC 6376 section 3.5 (h= syntax)"},
		// An AMS without c=: a DKIM-Signature without c= is simple/simple
		// (RFC 6376 section 3.5), and RFC 8617 section 4.1.2 changes
		// nothing there. The suite's signer (dkimpy) signed it relaxed,
		// its ARC default, so the header hash differs.
		"ams_fields_c_na": {StatusFail, "RFC 8617 section 4.1.2 / RFC 6376 section 3.5 (c= default simple/simple)"},
	}
}

func statusOf(cv string) Status {
	switch strings.ToLower(strings.TrimSpace(cv)) {
	case "none":
		return StatusNone
	case "pass":
		return StatusPass
	case "fail":
		return StatusFail
	}
	return ""
}

// TestValimailValidation runs the 171 validation tests.
func TestValimailValidation(t *testing.T) {
	file := filepath.Join(testdata.Dir(t, "arc"), "arc-draft-validation-tests.yml")
	docs := loadSuite(t, file)
	total, passed, overridden := 0, 0, 0
	overrides := rfcOverrides()
	ctx := context.Background()
	for _, d := range docs {
		_, r := dnsServer(t, d.records)
		v := newValidator(t, Options{Resolver: r})
		for _, tc := range d.tests {
			name := tc.name
			if tc.shadowed {
				name += "#shadowed"
			} else {
				total++
			}
			want := statusOf(tc.fields["cv"])
			over, isOver := overrides[tc.name]
			if isOver {
				want = over.want
			}
			require.NotEmpty(t, want, "%s: no expectation", tc.name)
			ok := t.Run(name, func(t *testing.T) {
				raw := crlf(tc.fields["message"])
				msg, err := mailscore.NewMessage(mailscore.Envelope{}, []byte(raw), mailscore.Limits{})
				if errors.Is(err, mailscore.ErrEmptyMessage) {
					// No message at all: no ARC header fields, cv none.
					require.Equal(t, StatusNone, want)
					return
				}
				require.NoError(t, err)
				res := v.Validate(ctx, msg)
				require.Equal(t, want, res.Status, "%s (%s): %v", tc.name, tc.fields["description"], res.Err)
				if isOver {
					t.Logf("suite expects %q, %s says %s: %v", tc.fields["cv"], over.section, want, res.Err)
				}
				switch res.Status {
				case StatusPass, StatusNone:
					require.NoError(t, res.Err)
				default:
					require.Error(t, res.Err)
				}
			})
			if ok && !tc.shadowed {
				passed++
				if isOver {
					overridden++
				}
			}
		}
	}
	require.Equal(t, 171, total, "validation tests in the suite")
	t.Logf("ValiMail validation suite: %d/%d pass (%d of them assert the RFC 8617 answer over the suite's)", passed, total, overridden)
}

// splitSet splits the Sealer's output into its three fields' values.
func splitSet(t *testing.T, set string) (as, ams, aar string) {
	msg := mustMessage(t, set+"\r\n")
	for _, f := range msg.Header.Fields() {
		switch kindOf(f.Name) {
		case kindSeal:
			as = f.RawValue()
		case kindAMS:
			ams = f.RawValue()
		case kindAAR:
			aar = f.RawValue()
		}
	}
	return as, ams, aar
}

// tagMap parses a tag list and removes all white space from the values,
// which is how the suite compares signatures: b=, bh= and h= may be folded
// anywhere.
func tagMap(t *testing.T, v string) map[string]string {
	tags, err := dkim.ParseTagList(v)
	require.NoError(t, err, v)
	m := map[string]string{}
	for _, tg := range tags {
		m[tg.Name] = strings.Join(strings.Fields(tg.Value), "")
	}
	return m
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestValimailSigning runs the 17 signing tests: the message, the
// Authentication-Results of srv-id, the time and the key fix the new ARC
// Set, which must be the suite's, signatures included.
func TestValimailSigning(t *testing.T) {
	file := filepath.Join(testdata.Dir(t, "arc"), "arc-draft-sign-tests.yml")
	docs := loadSuite(t, file)
	total, passed := 0, 0
	ctx := context.Background()
	for _, d := range docs {
		require.NotEmpty(t, d.privateKey)
		key := parsePrivateKey(t, []byte(d.privateKey))
		_, r := dnsServer(t, d.records)
		v := newValidator(t, Options{Resolver: r})
		for _, tc := range d.tests {
			require.False(t, tc.shadowed)
			total++
			ok := t.Run(tc.name, func(t *testing.T) {
				raw := crlf(tc.fields["message"])
				msg := mustMessage(t, raw)
				ts, err := strconv.ParseInt(tc.fields["t"], 10, 64)
				require.NoError(t, err)
				s := newSealer(t, SealOptions{
					Domain: d.domain, Selector: d.selector, Key: key,
					Headers: strings.Split(tc.fields["sig-headers"], ":"), Oversign: []string{},
					Now: func() time.Time { return time.Unix(ts, 0) },
				})
				chain := v.Validate(ctx, msg)
				payload, found := MergeAuthResults(msg, tc.fields["srv-id"])
				require.True(t, found)
				set, err := s.SealPayload(msg, chain, payload)
				if strings.TrimSpace(tc.fields["AS"]) == "" {
					// "if a chain is failing, dont add another set"
					require.ErrorIs(t, err, ErrNoSeal)
					require.Empty(t, set)
					return
				}
				require.NoError(t, err)
				as, ams, aar := splitSet(t, set)
				require.Equal(t, squash(tc.fields["AAR"]), squash(aar), "ARC-Authentication-Results")
				require.Equal(t, tagMap(t, tc.fields["AMS"]), tagMap(t, ams), "ARC-Message-Signature")
				require.Equal(t, tagMap(t, tc.fields["AS"]), tagMap(t, as), "ARC-Seal")

				// Our own validator accepts the new set: the chain passes
				// when the one before passed, and fails with a cv=fail
				// seal otherwise.
				sealed := v.Validate(ctx, mustMessage(t, set+raw))
				if chain.Status == StatusFail {
					require.Equal(t, StatusFail, sealed.Status)
					require.ErrorIs(t, sealed.Err, ErrChainEnded)
					require.Equal(t, StatusPass, sealedSetStatus(t, v, set+raw))
				} else {
					require.Equal(t, StatusPass, sealed.Status, "%v", sealed.Err)
				}
			})
			if ok {
				passed++
			}
		}
	}
	require.Equal(t, 17, total, "signing tests in the suite")
	t.Logf("ValiMail signing suite: %d/%d pass", passed, total)
}

// sealedSetStatus checks the newest seal of a chain that ends in cv=fail on
// its own terms: RFC 8617 section 5.1.2 has it sign only its own set.
func sealedSetStatus(t *testing.T, v *Validator, raw string) Status {
	msg := mustMessage(t, raw)
	c := &chain{v: v, msg: msg, fields: msg.Header.Fields(), res: &Result{}, now: time.Now()}
	ex := existingSets(c.fields)
	s := ex.slots[ex.max]
	ts, err := parseTagged(c.fields[s.seal-1].RawValue())
	require.NoError(t, err)
	var sig Signature
	seal, err := parseSeal(&ts, &sig, time.Now(), 0)
	require.NoError(t, err)
	key, err := v.keys.LookupKey(context.Background(), seal.selector, seal.domain)
	require.NoError(t, err)
	var hh dkim.HeaderHasher
	sc := v.scratch.Get().(*scratch)
	defer v.scratch.Put(sc)
	hh.Reset(sc.h)
	hh.WriteField(c.fields[s.aar-1].Raw, dkim.Relaxed)
	hh.WriteField(c.fields[s.ams-1].Raw, dkim.Relaxed)
	hh.WriteSignature(c.fields[s.seal-1].Raw, seal.bStart, seal.bEnd, dkim.Relaxed)
	if key.Verify(seal.alg, hh.Sum(nil), seal.b) != nil {
		return StatusFail
	}
	return StatusPass
}
