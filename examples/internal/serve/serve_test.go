package serve

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// echo is a line-echo handler written the way Serve's handlers are: it
// marks its waits with Idle and Busy. After a line "work" it is busy: it
// reads the next line without marking the wait, as a handler in the middle
// of a request does.
func echo(ctx context.Context, c *Conn) {
	r := bufio.NewReader(c)
	for {
		_ = c.SetReadDeadline(time.Now().Add(time.Minute))
		if !c.Idle() {
			io.WriteString(c, "bye\n")
			return
		}
		line, err := r.ReadString('\n')
		c.Busy()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && c.Draining() {
				io.WriteString(c, "bye\n")
			}
			return
		}
		if line == "work\n" {
			// Busy: not interrupted by a shutdown until the grace ends.
			_ = c.SetReadDeadline(time.Time{})
			line, err = r.ReadString('\n')
			if err != nil {
				return
			}
		}
		io.WriteString(c, "echo "+line)
	}
}

type harness struct {
	addr   string
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, opts Options, h func(context.Context, *Conn)) *harness {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	hs := &harness{addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { hs.done <- Serve(ctx, ln, opts, h) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-hs.done:
		case <-time.After(30 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return hs
}

func (h *harness) wait(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case err := <-h.done:
		h.done <- err
		return err
	case <-time.After(within):
		t.Fatal("Serve did not return in time")
		return nil
	}
}

func line(t *testing.T, c net.Conn, r *bufio.Reader) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	l, err := r.ReadString('\n')
	if err != nil {
		return "ERR " + err.Error()
	}
	return strings.TrimSuffix(l, "\n")
}

func TestLimits(t *testing.T) {
	var refused atomic.Int32
	h := start(t, Options{MaxConns: 2, Refuse: func(c net.Conn) {
		refused.Add(1)
		io.WriteString(c, "full\n")
	}}, echo)
	var conns []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", h.addr)
		require.NoError(t, err)
		defer c.Close()
		_, err = io.WriteString(c, "hi\n")
		require.NoError(t, err)
		require.Equal(t, "echo hi", line(t, c, bufio.NewReader(c)))
		conns = append(conns, c)
	}
	c, err := net.Dial("tcp", h.addr)
	require.NoError(t, err)
	r := bufio.NewReader(c)
	require.Equal(t, "full", line(t, c, r))
	require.Contains(t, line(t, c, r), "EOF")
	require.EqualValues(t, 1, refused.Load())
	conns[0].Close()
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			return false
		}
		defer c.Close()
		io.WriteString(c, "again\n")
		return line(t, c, bufio.NewReader(c)) == "echo again"
	}, 10*time.Second, 20*time.Millisecond)

	h2 := start(t, Options{MaxPerIP: 1}, echo)
	c1, err := net.Dial("tcp", h2.addr)
	require.NoError(t, err)
	defer c1.Close()
	io.WriteString(c1, "one\n")
	require.Equal(t, "echo one", line(t, c1, bufio.NewReader(c1)))
	c2, err := net.Dial("tcp", h2.addr)
	require.NoError(t, err)
	require.Contains(t, line(t, c2, bufio.NewReader(c2)), "EOF", "a second connection from 127.0.0.1 is closed")
}

func TestShutdownLetsBusyConnectionsFinish(t *testing.T) {
	h := start(t, Options{Grace: 20 * time.Second}, echo)
	idle, err := net.Dial("tcp", h.addr)
	require.NoError(t, err)
	defer idle.Close()
	ir := bufio.NewReader(idle)
	io.WriteString(idle, "x\n")
	require.Equal(t, "echo x", line(t, idle, ir))
	busy, err := net.Dial("tcp", h.addr)
	require.NoError(t, err)
	defer busy.Close()
	br := bufio.NewReader(busy)
	io.WriteString(busy, "y\n")
	require.Equal(t, "echo y", line(t, busy, br))
	io.WriteString(busy, "work\n")
	time.Sleep(50 * time.Millisecond) // let the handler get busy

	h.cancel()
	require.Equal(t, "bye", line(t, idle, ir))
	io.WriteString(busy, "done\n")
	require.Equal(t, "echo done", line(t, busy, br))
	require.Equal(t, "bye", line(t, busy, br))
	require.NoError(t, h.wait(t, 20*time.Second))
}

func TestGraceEndsStuckConnections(t *testing.T) {
	var ctxDone atomic.Bool
	h := start(t, Options{Grace: 200 * time.Millisecond}, func(ctx context.Context, c *Conn) {
		// Busy forever: never marks a wait as idle.
		_, _ = io.Copy(io.Discard, c)
		<-ctx.Done()
		ctxDone.Store(true)
	})
	c, err := net.Dial("tcp", h.addr)
	require.NoError(t, err)
	defer c.Close()
	time.Sleep(50 * time.Millisecond)
	begin := time.Now()
	h.cancel()
	require.NoError(t, h.wait(t, 10*time.Second))
	require.GreaterOrEqual(t, time.Since(begin), 200*time.Millisecond)
	require.True(t, ctxDone.Load(), "the handler's context is cancelled when the grace ends")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF, "the connection was closed")
}

func TestListenerError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ln.Close()
	err = Serve(context.Background(), ln, Options{}, echo)
	require.ErrorIs(t, err, net.ErrClosed)
}

func TestNewConn(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	c := NewConn(a)
	require.False(t, c.Remote.IsValid(), "a pipe has no IP address")
	require.True(t, c.Idle())
	c.Busy()
	require.False(t, c.Draining())
}
