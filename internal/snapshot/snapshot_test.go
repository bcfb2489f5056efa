package snapshot

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func encode(t *testing.T, kind string, payload string) []byte {
	var b bytes.Buffer
	require.NoError(t, Encode(&b, kind, 3, func(w io.Writer) error {
		_, err := io.WriteString(w, payload)
		return err
	}))
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	for _, p := range []string{"", "x", string(bytes.Repeat([]byte("0123456789"), 100000))} {
		data := encode(t, "test", p)
		got, v, err := Decode(bytes.NewReader(data), "test", 1<<30)
		require.NoError(t, err)
		require.Equal(t, 3, v)
		require.Equal(t, p, string(got))
	}
}

func TestRefusesDamage(t *testing.T) {
	good := encode(t, "test", "some payload worth keeping")
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrCorrupt},
		{"truncated by one byte", good[:len(good)-1], ErrCorrupt},
		{"truncated in half", good[:len(good)/2], ErrCorrupt},
		{"bit flip in payload", flip(good, 30), ErrCorrupt},
		{"bit flip in trailer length", flip(good, len(good)-18), ErrCorrupt},
		{"wrong kind", encode(t, "other", "x"), ErrWrongKind},
		{"not a snapshot", []byte("hello world\n12345678901234567890"), ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _, err := Decode(bytes.NewReader(tt.data), "test", 1<<20)
			require.ErrorIs(t, err, tt.want)
			require.Nil(t, p)
		})
	}
	_, _, err := Decode(bytes.NewReader(good), "test", 10)
	require.ErrorIs(t, err, ErrTooLarge)
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x20
	return c
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.snap")
	write := func(s string) error {
		return WriteFile(path, "test", 1, func(w io.Writer) error {
			_, err := io.WriteString(w, s)
			return err
		})
	}
	require.NoError(t, write("first"))
	// A payload writer that fails half way leaves the old file untouched and
	// no temporary file behind.
	boom := errors.New("boom")
	err := WriteFile(path, "test", 1, func(w io.Writer) error {
		_, _ = io.WriteString(w, "partial")
		return boom
	})
	require.ErrorIs(t, err, boom)
	got, _, err := ReadFile(path, "test", 1<<20)
	require.NoError(t, err)
	require.Equal(t, "first", string(got))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)

	require.NoError(t, write("second"))
	got, _, err = ReadFile(path, "test", 1<<20)
	require.NoError(t, err)
	require.Equal(t, "second", string(got))

	_, _, err = ReadFile(filepath.Join(dir, "missing"), "test", 1<<20)
	require.ErrorIs(t, err, os.ErrNotExist)
}

func FuzzDecode(f *testing.F) {
	var b bytes.Buffer
	_ = Encode(&b, "test", 1, func(w io.Writer) error { _, err := w.Write([]byte("payload")); return err })
	f.Add(b.Bytes())
	f.Add([]byte("mailscore-snapshot test 1\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, _, err := Decode(bytes.NewReader(data), "test", 1<<20)
		if err == nil && len(p) > len(data) {
			t.Fatal("payload longer than input")
		}
	})
}
