package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/examples/internal/servetest"
	"github.com/mailscore/mailscore/examples/internal/wiring"
)

// FuzzSession plays arbitrary client input against a session: whatever
// the client sends, the server must not panic or hang.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"EHLO x\r\nMAIL FROM:<a@b.example> SIZE=10\r\nRCPT TO:<c@d.example>\r\nDATA\r\nSubject: x\r\n\r\n..y\r\n.\r\nQUIT\r\n",
		"HELO x\nMAIL FROM:<>\nRCPT TO:<postmaster>\nDATA\nx\n.\n",
		"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\na\r\n.\nb\r\n.\r\nRSET\r\nSTARTTLS\r\nVRFY x\r\n",
		"\r\n\r\nEHLO\r\nMAIL\r\nRCPT\r\nDATA\r\nBDAT 10 LAST\r\nGET / HTTP/1.0\r\n",
	} {
		f.Add([]byte(s))
	}
	e, err := mailscore.NewEngine(mailscore.EngineOptions{})
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	srv, err := NewServer(Options{Setup: &wiring.Setup{Engine: e}, Maildir: dir, Hostname: "mx.fuzz",
		MaxSize: 4096, MaxLineLength: 200, MaxRecipients: 3, MaxMessages: 3, MaxErrors: 5,
		CommandTimeout: 2 * time.Second, DataTimeout: 2 * time.Second})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		servetest.PlaySession(t, srv.session, in)
		files, _ := filepath.Glob(filepath.Join(dir, "new", "*"))
		for _, f := range files {
			os.Remove(f)
		}
	})
}
