package mailscore

import (
	"testing"
	"unicode/utf8"
)

// FuzzMIME walks arbitrary messages: no panic, limits respected, text
// always valid UTF-8, parts numbered.
func FuzzMIME(f *testing.F) {
	f.Add([]byte(nestedMessage))
	f.Add([]byte(nestedMultiparts(20)))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n"))
	f.Add([]byte("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nfirst\n--d--\n"))
	f.Add([]byte("Content-Type: text/plain; charset*0*=utf-8''%E2; charset*1=x\nContent-Transfer-Encoding: quoted-printable\n\n=E2=82=AC=\n=ZZ\n"))
	f.Add([]byte("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nQ29udGVudC1UeXBlOiB0ZXh0L2h0bWwKCjxiPmhpPC9iPgo=\n"))
	f.Add([]byte("Content-Type: application/octet-stream; name=\"=?utf-8?q?a.exe?=\"\nContent-Transfer-Encoding: base64\n\nTVqQ\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		lim := Limits{MaxParts: 50, MaxMIMEDepth: 8, MaxDecodedSize: 1 << 16}
		m, err := NewMessage(Envelope{}, raw, lim)
		if err != nil {
			return
		}
		mi := m.MIME()
		if mi == nil {
			t.Fatal("nil MIME")
		}
		if len(mi.Parts) > lim.MaxParts {
			t.Fatalf("%d parts over the limit", len(mi.Parts))
		}
		if mi.Decoded > lim.MaxDecodedSize {
			t.Fatalf("decoded %d bytes over the limit", mi.Decoded)
		}
		total := 0
		for _, p := range mi.Parts {
			total += len(p.Body)
			if !utf8.ValidString(p.Text) {
				t.Fatalf("part %s: invalid UTF-8 text", p.Path)
			}
			if p.Path == "" || p.ContentType == "" || p.Depth > lim.MaxMIMEDepth {
				t.Fatalf("bad part %+v", p)
			}
		}
		if total > mi.Decoded {
			t.Fatalf("bodies hold %d bytes, more than Decoded (%d)", total, mi.Decoded)
		}
	})
}
