package mailscore

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewMessageHeader(t *testing.T) {
	type field struct{ name, value string }
	tests := []struct {
		name    string
		raw     string
		fields  []field
		body    string
		defects []Defect
		bareLF  bool
	}{
		{
			name:   "crlf",
			raw:    "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n",
			fields: []field{{"From", "a@example.com"}, {"Subject", "hi"}},
			body:   "body\r\n",
		},
		{
			name:    "lf",
			raw:     "From: a@example.com\nSubject: hi\n\nbody\n",
			fields:  []field{{"From", "a@example.com"}, {"Subject", "hi"}},
			body:    "body\n",
			defects: []Defect{DefectBareLF},
			bareLF:  true,
		},
		{
			name:    "mixed line endings",
			raw:     "From: a@example.com\r\nSubject: hi\n\r\nbody",
			fields:  []field{{"From", "a@example.com"}, {"Subject", "hi"}},
			body:    "body",
			defects: []Defect{DefectMixedLineEnding},
			bareLF:  true,
		},
		{
			name:   "folded",
			raw:    "Subject: a very\r\n long\r\n\tsubject\r\nTo: b@example.com\r\n\r\n",
			fields: []field{{"Subject", "a very long\tsubject"}, {"To", "b@example.com"}},
		},
		{
			name:   "repeated fields keep order",
			raw:    "Received: one\r\nReceived: two\r\nReceived: three\r\n\r\nx",
			fields: []field{{"Received", "one"}, {"Received", "two"}, {"Received", "three"}},
			body:   "x",
		},
		{
			name:   "no body",
			raw:    "Subject: only a header\r\n",
			fields: []field{{"Subject", "only a header"}},
		},
		{
			name:   "no final line break",
			raw:    "Subject: x",
			fields: []field{{"Subject", "x"}},
		},
		{
			name:   "empty value and space before colon",
			raw:    "Subject:\r\nX-Obs : old syntax\r\n\r\n",
			fields: []field{{"Subject", ""}, {"X-Obs", "old syntax"}},
		},
		{
			name:    "header ended by a non-field line",
			raw:     "Subject: x\r\nthis is body\r\nmore\r\n",
			fields:  []field{{"Subject", "x"}},
			body:    "this is body\r\nmore\r\n",
			defects: []Defect{DefectNoBlankLine},
		},
		{
			name:    "leading continuation line",
			raw:     " folded\r\nSubject: x\r\n\r\n",
			body:    " folded\r\nSubject: x\r\n\r\n",
			defects: []Defect{DefectLeadingFold, DefectNoHeader},
		},
		{
			name:    "no header at all",
			raw:     "\r\njust a body",
			body:    "just a body",
			defects: []Defect{DefectNoHeader},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewMessage(Envelope{}, []byte(tt.raw), Limits{})
			require.NoError(t, err)
			var got []field
			for _, f := range m.Header.Fields() {
				got = append(got, field{f.Name, f.Value()})
			}
			require.Equal(t, tt.fields, got)
			require.Equal(t, tt.body, string(m.Body()))
			require.Equal(t, tt.defects, m.Defects())
			require.Equal(t, tt.bareLF, m.BareLF())
			// The fields' raw bytes, concatenated, are the header section.
			var all []byte
			for _, f := range m.Header.Fields() {
				all = append(all, f.Raw...)
			}
			require.Equal(t, string(m.HeaderBytes()), string(all))
		})
	}
}

func TestFieldRawKeepsFolding(t *testing.T) {
	raw := "DKIM-Signature: v=1; a=rsa-sha256;\r\n\td=example.com\r\nFrom: x\r\n\r\n"
	m, err := NewMessage(Envelope{}, []byte(raw), Limits{})
	require.NoError(t, err)
	f := m.Header.Fields()[0]
	require.Equal(t, "DKIM-Signature: v=1; a=rsa-sha256;\r\n\td=example.com\r\n", string(f.Raw))
	require.Equal(t, " v=1; a=rsa-sha256;\r\n\td=example.com", f.RawValue())
	require.Equal(t, "v=1; a=rsa-sha256;\td=example.com", f.Value())
}

func TestHeaderLookup(t *testing.T) {
	raw := "From: a\r\nTO: b\r\nto: c\r\nSubject: s\r\n\r\n"
	m, err := NewMessage(Envelope{}, []byte(raw), Limits{})
	require.NoError(t, err)
	h := &m.Header
	require.Equal(t, "b", h.Get("To"))
	require.Equal(t, []string{"b", "c"}, h.Values("to"))
	require.Equal(t, 2, h.Count("To"))
	require.True(t, h.Has("subject"))
	require.False(t, h.Has("Date"))
	require.Equal(t, "", h.Get("Date"))
	require.Len(t, h.FieldsNamed("TO"), 2)
	require.Equal(t, 4, h.Len())
}

func TestNewMessageLimits(t *testing.T) {
	many := strings.Repeat("X-A: b\r\n", 11) + "\r\n"
	tests := []struct {
		name string
		raw  string
		lim  Limits
		want error
	}{
		{"size", strings.Repeat("a", 101), Limits{MaxSize: 100}, ErrMessageTooLarge},
		{"size exactly at limit is fine", "Subject: " + strings.Repeat("a", 91), Limits{MaxSize: 100}, nil},
		{"header size", "Subject: " + strings.Repeat("a", 200) + "\r\n\r\n", Limits{MaxHeaderSize: 100}, ErrHeaderTooLarge},
		{"field count", many, Limits{MaxFields: 10}, ErrTooManyFields},
		{"field count at limit", many, Limits{MaxFields: 11}, nil},
		{"header line", "Subject: " + strings.Repeat("a", 100) + "\r\n\r\n", Limits{MaxLineLength: 50}, ErrLineTooLong},
		{"body line", "Subject: a\r\n\r\n" + strings.Repeat("b", 51) + "\r\n", Limits{MaxLineLength: 50}, ErrLineTooLong},
		{"body line at limit", "Subject: a\r\n\r\n" + strings.Repeat("b", 50) + "\r\n", Limits{MaxLineLength: 50}, nil},
		{"unlimited", strings.Repeat("a", 70000), Limits{MaxLineLength: -1}, nil},
		{"default line limit", strings.Repeat("a", DefaultMaxLineLength+1), Limits{}, ErrLineTooLong},
		{"empty", "", Limits{}, ErrEmptyMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewMessage(Envelope{}, []byte(tt.raw), tt.lim)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
			if tt.want != ErrEmptyMessage {
				require.ErrorIs(t, err, ErrLimit)
				var le *LimitError
				require.True(t, errors.As(err, &le))
				require.Contains(t, err.Error(), fmt.Sprint(le.Limit))
			}
		})
	}
}

func TestReadMessage(t *testing.T) {
	raw := "Subject: x\r\n\r\n" + strings.Repeat("y", 100)
	m, err := ReadMessage(Envelope{HELO: "h"}, strings.NewReader(raw), Limits{})
	require.NoError(t, err)
	require.Equal(t, "h", m.Envelope.HELO)
	require.Equal(t, raw, string(m.Raw()))

	_, err = ReadMessage(Envelope{}, strings.NewReader(raw), Limits{MaxSize: 50})
	require.ErrorIs(t, err, ErrMessageTooLarge)
}

func FuzzNewMessage(f *testing.F) {
	seeds := []string{
		"From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n",
		"Subject: a\r\n b\r\n\tc\r\n\r\n",
		"Subject: x\nTo: y\n\nz",
		" lead\r\n\r\n",
		"no header\r\n",
		"A:\r\n\r\n",
		":\r\n",
		"\r\n",
		"X: \xff\xfe\r\n\r\n\x00",
		"From x Mon Jan  1 00:00:00 2024\nSubject: mbox\n\nbody",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := NewMessage(Envelope{}, raw, Limits{MaxSize: 1 << 16, MaxHeaderSize: 1 << 12, MaxFields: 50, MaxLineLength: 200})
		if err != nil {
			return
		}
		// Invariants: the fields tile the header section, the body follows it.
		var all []byte
		for _, fl := range m.Header.Fields() {
			if !bytes.HasPrefix(fl.Raw, []byte(fl.Name)) {
				t.Fatalf("field %q does not start with its name", fl.Raw)
			}
			all = append(all, fl.Raw...)
			_ = fl.Value()
		}
		if !bytes.Equal(all, m.HeaderBytes()) {
			t.Fatalf("fields %q do not tile header %q", all, m.HeaderBytes())
		}
		if m.BodyOffset() < len(m.HeaderBytes()) || m.BodyOffset() > len(raw) {
			t.Fatalf("body offset %d outside [%d, %d]", m.BodyOffset(), len(m.HeaderBytes()), len(raw))
		}
		if m.Header.Len() > 50 {
			t.Fatalf("%d fields over the limit", m.Header.Len())
		}
	})
}

// sampleMessage builds a message with a realistic header and a body of n bytes.
func sampleMessage(n int) []byte {
	var b bytes.Buffer
	b.WriteString("Received: from mail.example.net (mail.example.net [192.0.2.10])\r\n\tby mx.example.com with ESMTPS id 4XYZ\r\n\tfor <bob@example.com>; Tue, 24 Nov 2026 10:00:00 +0000\r\n")
	b.WriteString("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.net; s=sel;\r\n\th=from:to:subject:date:message-id; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n\tb=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789\r\n")
	b.WriteString("From: Alice <alice@example.net>\r\nTo: Bob <bob@example.com>\r\nSubject: Quarterly figures\r\n")
	b.WriteString("Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <20261124100000.1@example.net>\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	line := "The figures for the quarter are attached; let me know what you think of them.\r\n"
	for b.Len() < n {
		b.WriteString(line)
	}
	return b.Bytes()[:n]
}

func BenchmarkNewMessage(b *testing.B) {
	for _, size := range []int{10 << 10, 100 << 10} {
		raw := sampleMessage(size)
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := NewMessage(Envelope{}, raw, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestNewMessageAllocsIndependentOfBody measures what the benchmark aims
// at: allocations do not grow with the body.
func TestNewMessageAllocsIndependentOfBody(t *testing.T) {
	small, large := sampleMessage(2<<10), sampleMessage(200<<10)
	a := testing.AllocsPerRun(20, func() { _, _ = NewMessage(Envelope{}, small, Limits{}) })
	b := testing.AllocsPerRun(20, func() { _, _ = NewMessage(Envelope{}, large, Limits{}) })
	require.Equal(t, a, b, "allocations for a 2 KB and a 200 KB body differ")
}
