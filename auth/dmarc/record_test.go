package dmarc

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseRecordAllTags(t *testing.T) {
	r, err := ParseRecord("v=DMARC1; p=Reject; sp=quarantine; np=none; adkim=s; aspf=S; pct=25; t=y; psd=n; " +
		"rua=mailto:agg@example.com!10m, https://reports.example.net/dmarc; ruf=mailto:f@example.com!500; fo=1:d:s; rf=afrf:iodef; ri=3600; xfuture=whatever")
	require.NoError(t, err)
	require.Equal(t, PolicyReject, r.Policy)
	require.Equal(t, PolicyQuarantine, r.SubdomainPolicy)
	require.Equal(t, PolicyNone, r.NonExistentPolicy)
	require.Equal(t, Strict, r.ADKIM)
	require.Equal(t, Strict, r.ASPF)
	require.Equal(t, 25, r.Percent)
	require.True(t, r.Testing)
	require.Equal(t, PSDNo, r.PSD)
	require.Equal(t, []ReportURI{{"mailto:agg@example.com", 10 << 20}, {"https://reports.example.net/dmarc", 0}}, r.RUA)
	require.Equal(t, []ReportURI{{"mailto:f@example.com", 500}}, r.RUF)
	require.Equal(t, []string{"1", "d", "s"}, r.FailureOptions)
	require.Equal(t, []string{"afrf", "iodef"}, r.ReportFormats)
	require.Equal(t, uint32(3600), r.ReportInterval)
	require.False(t, r.PolicyInvalid)
	require.Empty(t, r.Problems)

	// String is canonical and parses back to the same record.
	again, err := ParseRecord(r.String())
	require.NoError(t, err)
	again.Raw = r.Raw
	require.Equal(t, r, again)
}

func TestParseRecordDefaults(t *testing.T) {
	r, err := ParseRecord("v=DMARC1;p=none")
	require.NoError(t, err)
	require.Equal(t, &Record{
		Policy: PolicyNone, ADKIM: Relaxed, ASPF: Relaxed, Percent: 100, PSD: PSDUnknown,
		FailureOptions: []string{"0"}, ReportFormats: []string{"afrf"}, ReportInterval: 86400, Raw: "v=DMARC1;p=none",
	}, r)
	for _, ok := range []string{"v=DMARC1", "v=DMARC1;", "v = DMARC1 ; p = none ;", "V=DMARC1; P=NONE", "v=DMARC1; p=none; ;", "\tv=DMARC1\t;\tp=reject\t"} {
		r, err := ParseRecord(ok)
		require.NoError(t, err, ok)
		require.NotNil(t, r, ok)
	}
}

func TestParseRecordNotDMARC(t *testing.T) {
	for _, s := range []string{
		"", ";", "v=spf1 -all", "p=reject; v=DMARC1", "v=dmarc1; p=reject", "v=DMARC2; p=reject",
		"v=DMARC1 p=reject", "vv=DMARC1", "some text", strings.Repeat("v", MaxRecordLength+1),
	} {
		r, err := ParseRecord(s)
		require.Nil(t, r, s)
		require.ErrorIs(t, err, ErrNotDMARC, s)
		require.False(t, IsRecord(s) && err != nil && len(s) <= MaxRecordLength, "IsRecord(%q) agrees", s)
	}
	_, err := ParseRecord("v=DMARC1 p=reject")
	require.ErrorContains(t, err, "a ';' is missing after DMARC1")
}

func TestParseRecordProblems(t *testing.T) {
	tests := []struct {
		rec, tag, msg string
		offset        int
		invalidPolicy bool
		check         func(*testing.T, *Record)
	}{
		{"v=DMARC1; p=bogus; rua=mailto:a@example.com", "p", "policy must be", 10, true, func(t *testing.T, r *Record) {
			require.Equal(t, Policy(""), r.Policy)
		}},
		{"v=DMARC1; p=reject; sp=maybe", "sp", "policy must be", 20, true, nil},
		{"v=DMARC1; p=reject; np=", "np", "empty value", 20, true, nil},
		{"v=DMARC1; p=reject; adkim=x", "adkim", "alignment must be r or s", 20, false, func(t *testing.T, r *Record) {
			require.Equal(t, Relaxed, r.ADKIM)
		}},
		{"v=DMARC1; p=reject; pct=101", "pct", "pct must be", 20, false, func(t *testing.T, r *Record) { require.Equal(t, 100, r.Percent) }},
		{"v=DMARC1; p=reject; pct=-1", "pct", "pct must be", 20, false, nil},
		{"v=DMARC1; p=reject; pct=0050", "pct", "pct must be", 20, false, nil},
		{"v=DMARC1; p=reject; t=maybe", "t", "t must be y or n", 20, false, nil},
		{"v=DMARC1; p=reject; psd=x", "psd", "psd must be", 20, false, nil},
		{"v=DMARC1; p=reject; rua=not a uri", "rua", "", 20, false, func(t *testing.T, r *Record) { require.Empty(t, r.RUA) }},
		{"v=DMARC1; p=reject; rua=mailto:a@example.com!10x", "rua", "size limit", 20, false, nil},
		{"v=DMARC1; p=reject; rua=mailto:a@example.com!99999999999999999999", "rua", "size limit", 20, false, nil},
		{"v=DMARC1; p=reject; ruf=mailto:nobody", "ruf", "not a URI", 20, false, nil},
		{"v=DMARC1; p=reject; fo=0:1", "fo", "exclude each other", 20, false, func(t *testing.T, r *Record) {
			require.Equal(t, []string{"0"}, r.FailureOptions)
		}},
		{"v=DMARC1; p=reject; fo=d:d", "fo", "repeated", 20, false, nil},
		{"v=DMARC1; p=reject; fo=x", "fo", "not 0, 1, d or s", 20, false, nil},
		{"v=DMARC1; p=reject; rf=a b", "rf", "not a keyword", 20, false, nil},
		{"v=DMARC1; p=reject; ri=soon", "ri", "ri must be", 20, false, nil},
		{"v=DMARC1; p=reject; p=none", "p", "more than once", 20, false, func(t *testing.T, r *Record) {
			require.Equal(t, PolicyReject, r.Policy, "the first occurrence counts")
		}},
		{"v=DMARC1; p=reject; v=DMARC1", "v", "more than once", 20, false, nil},
		{"v=DMARC1; p=reject; 1x=2", "", "letters only", 20, false, nil},
		{"v=DMARC1; p=reject; novalue", "", "without '='", 20, false, nil},
		{"v=DMARC1;; p=reject", "", "empty tag", 9, false, nil},
		{"v=DMARC1; p=re\x01ject", "p", "outside printable ASCII", 10, true, nil},
		{"v=DMARC1; rua=mailto:a@example.com", "", "", 0, true, func(t *testing.T, r *Record) { require.Len(t, r.RUA, 1) }},
	}
	for _, tt := range tests {
		t.Run(tt.rec, func(t *testing.T) {
			r, err := ParseRecord(tt.rec)
			require.NotNil(t, r, "a record with bad tags is still a record")
			require.Equal(t, tt.invalidPolicy, r.PolicyInvalid)
			if tt.check != nil {
				tt.check(t, r)
			}
			if tt.msg == "" && tt.tag == "" {
				if tt.rec != "v=DMARC1; p=reject; rua=not a uri" {
					require.NoError(t, err)
					return
				}
			}
			require.ErrorIs(t, err, ErrSyntax)
			require.NotErrorIs(t, err, ErrNotDMARC)
			var se *SyntaxError
			require.True(t, errors.As(err, &se))
			require.Equal(t, tt.tag, se.Tag)
			require.Equal(t, tt.offset, se.Offset, "offset points at the tag")
			require.Contains(t, se.Error(), tt.msg)
			require.Equal(t, r.Problems[0], se)
		})
	}
}

func TestParseRecordURILimits(t *testing.T) {
	var uris []string
	for i := 0; i < MaxReportURIs+5; i++ {
		uris = append(uris, "mailto:r@example.com")
	}
	r, err := ParseRecord("v=DMARC1; p=none; rua=" + strings.Join(uris, ","))
	require.ErrorIs(t, err, ErrSyntax)
	require.Len(t, r.RUA, MaxReportURIs)
	r, err = ParseRecord("v=DMARC1; p=none; rua=mailto:a@example.com!1t, mailto:b@example.com!2G,mailto:c@example.com!7")
	require.NoError(t, err)
	require.Equal(t, []uint64{1 << 40, 2 << 30, 7}, []uint64{r.RUA[0].MaxSize, r.RUA[1].MaxSize, r.RUA[2].MaxSize})
	_, err = ParseRecord("v=DMARC1; p=none; rua=mailto:" + strings.Repeat("a", maxURILength) + "@example.com")
	require.ErrorIs(t, err, ErrSyntax)
}

func TestIsRecord(t *testing.T) {
	require.True(t, IsRecord("v=DMARC1; p=none"))
	require.True(t, IsRecord(" v = DMARC1"))
	require.False(t, IsRecord("v=DMARC1x"))
	require.False(t, IsRecord("v=spf1"))
	require.False(t, IsRecord("x"))
}

func FuzzParseRecord(f *testing.F) {
	for _, s := range []string{
		"v=DMARC1; p=reject", "v=DMARC1; p=none; sp=reject; np=quarantine; adkim=s; aspf=r; pct=50; t=y; psd=y",
		"v=DMARC1; rua=mailto:a@example.com!10m,mailto:b@example.net; ruf=mailto:c@example.org; fo=1:d:s; rf=afrf; ri=60",
		"v=DMARC1;;;", "v=DMARC1 p=reject", "v=DMARC1; p=re\x00ject", "v=DMARC1; rua=!", "v=DMARC1; fo=0:1:d:d",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRecord(s)
		if r == nil {
			if !errors.Is(err, ErrNotDMARC) {
				t.Fatalf("nil record without ErrNotDMARC: %v", err)
			}
			return
		}
		if (err == nil) != (len(r.Problems) == 0) {
			t.Fatalf("error %v with problems %v", err, r.Problems)
		}
		for _, p := range r.Problems {
			if p.Offset < 0 || p.Offset > len(s) {
				t.Fatalf("problem offset %d outside the record", p.Offset)
			}
		}
		if r.Percent < 0 || r.Percent > 100 || len(r.RUA) > MaxReportURIs || len(r.RUF) > MaxReportURIs {
			t.Fatalf("out of range: %+v", r)
		}
		// The canonical form parses cleanly to the same values.
		again, err := ParseRecord(r.String())
		if err != nil {
			t.Fatalf("canonical form %q does not parse: %v", r.String(), err)
		}
		if again.String() != r.String() {
			t.Fatalf("canonical form not stable: %q vs %q", r.String(), again.String())
		}
	})
}
