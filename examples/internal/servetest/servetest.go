// Package servetest holds what the tests of the example servers
// (examples/smtpd and examples/milter) share: the offline engine they
// score with, a logger into the test log, and a way to play raw client
// input against one session.
//
//	setup := servetest.OfflineSetup("mx.test")
//	logger := servetest.Logger(t)
//	servetest.PlaySession(t, srv.session, []byte("EHLO x\r\n"))
package servetest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailscore/mailscore/examples/internal/serve"
	"github.com/mailscore/mailscore/examples/internal/wiring"
)

// SessionTimeout is how long PlaySession waits for a session to end after
// the client has closed its side: generous, for a loaded machine.
const SessionTimeout = 10 * time.Second

// OfflineSetup builds the engine the example programs build with -offline
// (no network at all), naming authservID in Authentication-Results. It
// panics if the engine cannot be built, so it can feed a sync.OnceValue.
func OfflineSetup(authservID string) *wiring.Setup {
	cfg := wiring.Config{Offline: true, Timeout: SessionTimeout, AuthservID: authservID}
	s, err := wiring.New(&cfg, nil)
	if err != nil {
		panic(err)
	}
	return s
}

// Logger returns a debug-level logger that writes to t's log.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// PlaySession runs session on one end of a pipe, writes in to the other
// end, discards the replies and closes it, then fails t unless the session
// ends within SessionTimeout: whatever a client sends, a server must
// neither panic nor hang.
func PlaySession(t testing.TB, session func(context.Context, *serve.Conn), in []byte) {
	t.Helper()
	server, client := net.Pipe()
	go func() { _, _ = io.Copy(io.Discard, client) }()
	done := make(chan struct{})
	go func() {
		defer close(done)
		session(context.Background(), serve.NewConn(server))
		server.Close()
	}()
	_, _ = client.Write(in)
	client.Close()
	select {
	case <-done:
	case <-time.After(SessionTimeout):
		t.Fatal("session did not end")
	}
}
