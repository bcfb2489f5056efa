package content

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailscore/mailscore"
	"github.com/stretchr/testify/require"
)

var testNow = time.Date(2024, 9, 3, 12, 0, 0, 0, time.UTC)

func newTestChecker(t testing.TB) *Checker {
	t.Helper()
	c, err := New(Options{Now: func() time.Time { return testNow }})
	require.NoError(t, err)
	return c
}

// mail builds a message with a sane header; extra header lines and the
// body follow.
func mail(header, body string) string {
	h := "From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: Hello\r\n" +
		"Date: Tue, 3 Sep 2024 10:00:00 +0000\r\nMessage-ID: <abc.123@example.com>\r\nMIME-Version: 1.0\r\n"
	return h + header + "\r\n" + body
}

func htmlMail(html string) string {
	return mail("Content-Type: text/html; charset=utf-8\r\n", html)
}

func altMail(plain, html string) string {
	return mail("Content-Type: multipart/alternative; boundary=\"b\"\r\n",
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+plain+"\r\n"+
			"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"+html+"\r\n--b--\r\n")
}

func attachMail(filename, ctype string, data []byte) string {
	return mail("Content-Type: multipart/mixed; boundary=\"b\"\r\n",
		"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"+
			"--b\r\nContent-Type: "+ctype+"\r\nContent-Disposition: attachment; filename=\""+filename+"\"\r\n"+
			"Content-Transfer-Encoding: base64\r\n\r\n"+base64.StdEncoding.EncodeToString(data)+"\r\n--b--\r\n")
}

func zipOf(t testing.TB, files map[string][]byte, encrypted bool) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range files {
		fh := &zip.FileHeader{Name: name, Method: zip.Store}
		if encrypted {
			fh.Flags |= 1
		}
		w, err := zw.CreateHeader(fh)
		require.NoError(t, err)
		_, err = w.Write(data)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func checkRaw(t testing.TB, c *Checker, raw string) map[string]mailscore.Signal {
	t.Helper()
	m, err := mailscore.NewMessage(mailscore.Envelope{}, []byte(raw), mailscore.Limits{})
	require.NoError(t, err)
	sigs, err := c.Check(context.Background(), m, nil)
	require.NoError(t, err)
	out := map[string]mailscore.Signal{}
	for _, s := range sigs {
		require.NotContains(t, out, s.Symbol, "symbol emitted twice")
		require.NotEmpty(t, s.Reason)
		require.True(t, s.Value >= -1 && s.Value <= 1, "%s value %v", s.Symbol, s.Value)
		require.True(t, s.Confidence >= 0 && s.Confidence <= 1, "%s confidence %v", s.Symbol, s.Confidence)
		out[s.Symbol] = s
	}
	return out
}

// heuristicSymbols are the symbols fired, without the classifier's.
func heuristicSymbols(sigs map[string]mailscore.Signal) []string {
	var out []string
	for name := range sigs {
		if name != SymBayes {
			out = append(out, name)
		}
	}
	return out
}

func TestHeuristics(t *testing.T) {
	exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00"), bytes.Repeat([]byte{0}, 64)...)
	ole := append([]byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), bytes.Repeat([]byte{0}, 500)...)
	oleVBA := append(append([]byte(nil), ole...), vbaMarker...)
	longText := strings.Repeat("cheap watches and pills for everyone ", 20)
	tests := []struct {
		name     string
		raw      string
		want     []string // symbols that must fire
		minValue float64  // for the first of want
	}{
		{"clean plain text", mail("", "Hi Bob,\r\nlunch on Friday?\r\nAlice\r\n"), nil, 0},
		{"clean alternative", altMail("Hi Bob, see the report.", `<p>Hi Bob, see <a href="https://example.com/r">https://example.com/r</a></p>`), nil, 0},
		{"gtube", mail("", "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"), []string{SymGTUBE}, 1},
		{"gtube in base64", mail("Content-Transfer-Encoding: base64\r\n", base64.StdEncoding.EncodeToString([]byte("XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"))+"\r\n"), []string{SymGTUBE}, 1},

		{"hidden by display:none", altMail("x", `<p>Buy now</p><div style="display: none">`+longText+`</div>`), []string{SymHTMLHiddenText}, 0.5},
		{"hidden white on white", altMail("x", `<body bgcolor="#ffffff"><p>Buy now</p><font color="#FFFFFE">`+longText+`</font></body>`), []string{SymHTMLHiddenText}, 0.5},
		{"hidden tiny font", altMail("x", `<p>Buy now</p><span style="font-size:1px">`+longText+`</span>`), []string{SymHTMLHiddenText}, 0.5},
		{"hidden text colour equal to a cell background", altMail("x", `<table><tr><td bgcolor="black"><font color="#000">`+longText+`</font></td></tr></table><p>hello there</p>`), []string{SymHTMLHiddenText}, 0.5},
		{"short text in background colour", altMail("x", `<p>`+longText+`</p><font color="#ffffff">0220jnHp9-478RLRd7738SYmT2-135wzgr2677</font>`), []string{SymHTMLHiddenText}, 0.5},
		{"short hidden preheader is fine", altMail("Our news", `<div style="display:none">Our autumn news</div><p>`+longText+`</p>`), nil, 0},
		{"unclosed hidden paragraph ends at the next", altMail("x", `<p style="display:none">Our news</p><p style="display:none">preview text here<p>`+longText+`<p>`+longText), nil, 0},
		{"unclosed list items and cells", altMail("x", `<ul><li style="display:none">a hidden item<li>`+longText+`</ul><table><tr><td style="display:none">x<td>`+longText+`</table>`), nil, 0},
		{"dark cell with light text is visible", altMail("x", `<body text="#000000"><table bgcolor="#000000"><tr><td bgcolor="#ffffff">`+longText+`</td></tr></table></body>`), nil, 0},

		{"image only", altMail("x", `<a href="https://shop.example/"><img src="https://img.example/offer.jpg" width="600" height="800"></a><p>Click</p>`), []string{SymHTMLImageOnly}, 0.9},
		{"link text shows another domain", altMail("x", `<p>Log in at <a href="http://evil.example/login">www.paypal.com</a> now please</p>`+longText), []string{SymHTMLLinkMismatch}, 0.6},
		{"link text URL vs userinfo trick", altMail("x", `<a href="http://www.paypal.com@evil.example/">https://www.paypal.com/</a>`+longText), []string{SymHTMLLinkMismatch}, 0.6},
		{"link to a subdomain is fine", altMail("x", `<a href="https://login.example.com/x">example.com</a> `+longText), nil, 0},
		{"link text that is not a domain", altMail("x", `<a href="https://evil.example/">Click here.</a> <a href="https://evil.example/">file.txt</a> `+longText), nil, 0},
		{"form with password", altMail("x", `<form action="https://evil.example/"><input type="text" name="u"><input type="PASSWORD" name="p"></form>`+longText), []string{SymHTMLForm}, 1},
		{"form", altMail("x", `<form action="https://shop.example/"><input name="q"></form>`+longText), []string{SymHTMLForm}, 0.5},
		{"script", altMail("x", `<script>document.location="https://evil.example"</script>`+longText), []string{SymHTMLScript}, 0.5},
		{"event handler", altMail("x", `<body onload="go()">`+longText+`</body>`), []string{SymHTMLScript}, 0.5},
		{"javascript link", altMail("x", `<a href="javascript:go()">more</a>`+longText), []string{SymHTMLScript}, 0.5},
		{"tracking pixel", altMail("x", `<p>`+longText+`</p><img src="https://t.example/o.gif?id=1" width="1" height="1">`), []string{SymHTMLTracking}, 1},
		{"external style sheet", altMail("x", `<link rel="Stylesheet" href="https://cdn.example/s.css"><p>`+longText+`</p>`), []string{SymHTMLExternalCSS}, 1},
		{"css import", altMail("x", `<style>@import url(https://cdn.example/s.css);</style><p>`+longText+`</p>`), []string{SymHTMLExternalCSS}, 1},
		{"html only", htmlMail(`<p>` + longText + `</p>`), []string{SymHTMLOnly}, 1},

		{"invisible characters in words", mail("", "V\u200bi\u200ba\u200bg\u200br\u200ba for you, c\u00adh\u00ade\u00ada\u00adp\r\n"), []string{SymInvisibleChars}, 0.5},
		{"zero-width joiner in emoji is fine", mail("", "family \U0001F468\u200d\U0001F469\u200d\U0001F467 photo and \u200b spaces\r\n"), nil, 0},
		{"persian zero-width non-joiner is fine", mail("Content-Type: text/plain; charset=utf-8\r\n", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 \u0645\u06cc\u200c\u0631\u0648\u0645\r\n"), nil, 0},
		{"mixed script", mail("Content-Type: text/plain; charset=utf-8\r\n", "Your P\u0430yPal account is locked, contact \u0430pple support\r\n"), []string{SymMixedScript}, 0.6},
		{"russian is fine", mail("Content-Type: text/plain; charset=utf-8\r\n", "\u041f\u0440\u0438\u0432\u0435\u0442, \u043a\u0430\u043a \u0434\u0435\u043b\u0430? See you at Moscow office.\r\n"), nil, 0},
		{"subject shouting", strings.Replace(mail("", "hello\r\n"), "Subject: Hello", "Subject: URGENT BUSINESS PROPOSAL!!!", 1), []string{SymSubjectShouting}, 1},
		{"short capital subject is fine", strings.Replace(mail("", "hello\r\n"), "Subject: Hello", "Subject: FYI: NASA report", 1), nil, 0},
		{"body shouting", mail("", strings.Repeat("THIS OFFER IS REAL AND YOU WILL MAKE MONEY FAST ", 5)+"\r\n"), []string{SymBodyShouting}, 0.5},

		{"date missing", strings.Replace(mail("", "hi\r\n"), "Date: Tue, 3 Sep 2024 10:00:00 +0000\r\n", "", 1), []string{SymDateMissing}, 1},
		{"date malformed", strings.Replace(mail("", "hi\r\n"), "Tue, 3 Sep 2024 10:00:00 +0000", "Fri, 30 Aug 02 21:48:08 Eastern Daylight Time", 1), []string{SymDateInvalid}, 1},
		{"date impossible", strings.Replace(mail("", "hi\r\n"), "Tue, 3 Sep 2024 10:00:00 +0000", "31 Feb 2024 10:00:00 +0000", 1), []string{SymDateInvalid}, 1},
		{"date in the future", strings.Replace(mail("", "hi\r\n"), "Tue, 3 Sep 2024 10:00:00 +0000", "Tue, 10 Sep 2024 10:00:00 +0000", 1), []string{SymDateFuture}, 0.5},
		{"date a few hours ahead is fine", strings.Replace(mail("", "hi\r\n"), "Tue, 3 Sep 2024 10:00:00 +0000", "Tue, 3 Sep 2024 20:00:00 +0000", 1), nil, 0},
		{"obsolete date forms are fine", strings.Replace(mail("", "hi\r\n"), "Tue, 3 Sep 2024 10:00:00 +0000", "3 Sep 24 10:00 EDT (Eastern)", 1), nil, 0},
		{"message-id missing", strings.Replace(mail("", "hi\r\n"), "Message-ID: <abc.123@example.com>\r\n", "", 1), []string{SymMsgIDMissing}, 1},
		{"message-id malformed", strings.Replace(mail("", "hi\r\n"), "<abc.123@example.com>", "PM200011:12:45 AM", 1), []string{SymMsgIDInvalid}, 1},
		{"message-id empty domain", strings.Replace(mail("", "hi\r\n"), "<abc.123@example.com>", "<000019342305$00005cfb$00001317@.>", 1), []string{SymMsgIDInvalid}, 1},

		{"executable by name", attachMail("setup.exe", "application/octet-stream", exe), []string{SymAttachExecutable}, 1},
		{"executable by content", attachMail("report.pdf", "application/pdf", exe), []string{SymAttachExecutable}, 1},
		{"executable with trailing dot", attachMail("update.scr.", "application/octet-stream", []byte("x")), []string{SymAttachExecutable}, 1},
		{"double extension", attachMail("invoice.pdf.exe", "application/octet-stream", exe), []string{SymAttachDoubleExt, SymAttachExecutable}, 1},
		{"padded extension", attachMail("invoice.pdf          .js", "application/octet-stream", []byte("x")), []string{SymAttachDoubleExt}, 1},
		{"right-to-left override", attachMail("invoice\u202efdp.exe", "application/octet-stream", exe), []string{SymAttachDoubleExt}, 1},
		{"zip holding an executable", attachMail("docs.zip", "application/zip", zipOf(t, map[string][]byte{"readme.txt": []byte("hi"), "docs/setup.exe": exe}, false)), []string{SymAttachArchiveExe}, 1},
		{"zip in zip holding a script", attachMail("docs.zip", "application/zip", zipOf(t, map[string][]byte{"inner.zip": zipOf(t, map[string][]byte{"run.vbs": []byte("x")}, false)}, false)), []string{SymAttachArchiveExe}, 1},
		{"encrypted zip", attachMail("secret.zip", "application/zip", zipOf(t, map[string][]byte{"data.bin": []byte("x")}, true)), []string{SymAttachArchiveExe}, 0.7},
		{"harmless zip", attachMail("photos.zip", "application/zip", zipOf(t, map[string][]byte{"a.jpg": []byte("x"), "b.txt": []byte("y")}, false)), nil, 0},
		{"macro-enabled format", attachMail("budget.xlsm", "application/vnd.ms-excel.sheet.macroEnabled.12", zipOf(t, map[string][]byte{"xl/workbook.xml": []byte("x")}, false)), []string{SymAttachMacro}, 1},
		{"renamed ooxml with macros", attachMail("budget.docx", "application/octet-stream", zipOf(t, map[string][]byte{"word/document.xml": []byte("x"), "word/vbaProject.bin": []byte("x")}, false)), []string{SymAttachMacro}, 1},
		{"ole with vba", attachMail("letter.doc", "application/msword", oleVBA), []string{SymAttachMacro}, 1},
		{"ole without vba", attachMail("letter.doc", "application/msword", ole), nil, 0},
		{"harmless pdf", attachMail("report.pdf", "application/pdf", []byte("%PDF-1.4\n")), nil, 0},

		{"broken mime", mail("Content-Type: multipart/mixed; boundary=\"zz\"\r\n", "--zz\r\nContent-Type: text/plain\r\n\r\nhello\r\n"), []string{SymMIMEBroken}, 0.5},
		{"mime bomb", mail("Content-Type: multipart/mixed; boundary=\"b0\"\r\n", nested(40)), []string{SymMIMELimit}, 1},
	}
	c := newTestChecker(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sigs := checkRaw(t, c, tt.raw)
			if tt.want == nil {
				require.Empty(t, heuristicSymbols(sigs))
				return
			}
			for _, sym := range tt.want {
				require.Contains(t, sigs, sym, "fired: %v", heuristicSymbols(sigs))
			}
			require.GreaterOrEqual(t, sigs[tt.want[0]].Value, tt.minValue, sigs[tt.want[0]].Reason)
			require.Positive(t, sigs[tt.want[0]].Confidence)
		})
	}
}

func nested(n int) string {
	var b strings.Builder
	for i := 1; i < n; i++ {
		b.WriteString("--b" + strconv.Itoa(i-1) + "\r\nContent-Type: multipart/mixed; boundary=\"b" + strconv.Itoa(i) + "\"\r\n\r\n")
	}
	b.WriteString("--b" + strconv.Itoa(n-1) + "\r\n\r\ndeep\r\n")
	return b.String()
}

func TestHeuristicReasons(t *testing.T) {
	c := newTestChecker(t)
	sigs := checkRaw(t, c, altMail("x", `<p>Log in at <a href="http://evil.example/login">www.paypal.com</a></p>`))
	require.Contains(t, sigs[SymHTMLLinkMismatch].Reason, "text shows www.paypal.com but the link goes to evil.example")
	sigs = checkRaw(t, c, attachMail("docs.zip", "application/zip", zipOf(t, map[string][]byte{"setup.exe": []byte("MZ")}, false)))
	require.Contains(t, sigs[SymAttachArchiveExe].Reason, `"docs.zip" holds "setup.exe"`)
	sigs = checkRaw(t, c, strings.Replace(mail("", "hi\r\n"), "Tue, 3 Sep 2024 10:00:00 +0000", "Tue, 10 Sep 2024 10:00:00 +0000", 1))
	require.Contains(t, sigs[SymDateFuture].Reason, "7 days in the future")
	sigs = checkRaw(t, c, mail("Content-Type: text/plain; charset=utf-8\r\n", "Your P\u0430yPal account\r\n"))
	require.Contains(t, sigs[SymMixedScript].Reason, `"P`+"\u0430"+`yPal"`)
}

func TestSymbols(t *testing.T) {
	c := newTestChecker(t)
	syms := c.Symbols()
	names := map[string]mailscore.Symbol{}
	for _, s := range syms {
		require.NotContains(t, names, s.Name)
		require.NotZero(t, s.Weight, s.Name)
		require.NotEmpty(t, s.Description, s.Name)
		names[s.Name] = s
	}
	require.Greater(t, names[SymGTUBE].Weight, float64(mailscore.DefaultRejectThreshold))
	require.True(t, names[SymBayes].Signed)
	require.Equal(t, "date", names[SymDateFuture].Group)
	// Every symbol the tests fire is published.
	for _, sym := range []string{SymGTUBE, SymBayes, SymMIMEBroken, SymMIMELimit, SymHTMLHiddenText, SymHTMLImageOnly,
		SymHTMLLinkMismatch, SymHTMLForm, SymHTMLScript, SymHTMLTracking, SymHTMLExternalCSS, SymHTMLOnly,
		SymInvisibleChars, SymMixedScript, SymSubjectShouting, SymBodyShouting, SymDateMissing, SymDateInvalid,
		SymDateFuture, SymMsgIDMissing, SymMsgIDInvalid, SymAttachExecutable, SymAttachMacro, SymAttachArchiveExe, SymAttachDoubleExt} {
		require.Contains(t, names, sym)
	}
	require.Len(t, names, 25)
	// The engine accepts them.
	_, err := mailscore.NewEngine(mailscore.EngineOptions{}, c)
	require.NoError(t, err)
}

func TestNewOptions(t *testing.T) {
	_, err := New(Options{MinLearned: -1})
	require.Error(t, err)
	_, err = New(Options{MaxDateSkew: -time.Second})
	require.Error(t, err)
	c, err := New(Options{})
	require.NoError(t, err)
	require.Equal(t, Name, c.Name())
	require.IsType(t, &MemoryStore{}, c.Store())
}
