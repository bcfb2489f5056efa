package servetest

import (
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore/examples/internal/serve"
)

// TestPlaySession checks that the session sees exactly the client's input,
// then end of input, and that its replies do not block it.
func TestPlaySession(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("EHLO x\r\n"), make([]byte, 1<<16)} {
		var got []byte
		var werr, rerr error
		PlaySession(t, func(_ context.Context, c *serve.Conn) {
			_, werr = c.Write([]byte("220 ready\r\n"))
			got, rerr = io.ReadAll(c)
		}, in)
		require.NoError(t, werr)
		require.NoError(t, rerr)
		require.Equal(t, len(in), len(got))
		require.Equal(t, string(in), string(got))
	}
}

func TestOfflineSetup(t *testing.T) {
	s := OfflineSetup("mx.test")
	require.NotNil(t, s.Engine)
	Logger(t).Debug("engine built", "authserv-id", "mx.test")
}
