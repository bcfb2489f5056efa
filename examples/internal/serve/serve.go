// Package serve runs the accept loop of the example servers (the SMTP
// server and the milter): a limit on concurrent connections, overall and
// per client address, and a graceful shutdown that lets connections finish
// what they are doing while interrupting those that are only waiting.
//
//	err := serve.Serve(ctx, ln, serve.Options{MaxConns: 100}, func(ctx context.Context, c *serve.Conn) {
//		defer c.Close()
//		for {
//			c.SetReadDeadline(time.Now().Add(5 * time.Minute))
//			if !c.Idle() {
//				return // shutting down
//			}
//			line, err := r.ReadString('\n')
//			c.Busy()
//			...
//		}
//	})
//
// Serve returns when ctx is done and every connection has ended (or was
// closed after the grace period).
package serve

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Options configure Serve. The zero value is usable.
type Options struct {
	// MaxConns bounds the connections served at once; default 100. A
	// connection over the limit is handed to Refuse and closed.
	MaxConns int
	// MaxPerIP bounds the connections from one client address; 0 means
	// no bound beyond MaxConns.
	MaxPerIP int
	// Grace is how long a shutdown waits for busy connections before it
	// closes them; default 30 s.
	Grace time.Duration
	// Refuse, if set, may write a last word to a connection that is over a
	// limit (an SMTP server says 421). It runs on the accept loop with a
	// one-second write deadline already set.
	Refuse func(c net.Conn)
	// Logger receives accept errors and refusals; nil discards them.
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultMaxConns = 100
	DefaultGrace    = 30 * time.Second
)

// Conn is one served connection. Its handler marks the times it waits for
// the peer (Idle, Busy), so a shutdown can interrupt those waits and leave
// the connection's work alone.
type Conn struct {
	net.Conn
	// Remote is the peer's address (the zero value when it is not an IP
	// connection), with IPv4-mapped IPv6 addresses unmapped.
	Remote netip.AddrPort

	srv  *server
	idle bool
}

// Idle marks the connection as waiting for its peer. It returns false
// when a shutdown has begun: the handler should say goodbye and return.
// A shutdown that begins during the wait interrupts it by moving the read
// deadline to now, so the handler must set its own read deadline before
// calling Idle.
func (c *Conn) Idle() bool {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if c.srv.draining {
		return false
	}
	c.idle = true
	return true
}

// Busy marks the end of a wait begun with Idle.
func (c *Conn) Busy() {
	c.srv.mu.Lock()
	c.idle = false
	c.srv.mu.Unlock()
}

// Draining reports whether a shutdown has begun. A handler whose read
// failed with a timeout checks it to tell a shutdown from an idle peer.
func (c *Conn) Draining() bool {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	return c.srv.draining
}

// NewConn wraps a connection that is not served by Serve (a test's, or
// one a program accepted itself), so a handler written for Serve can run
// on it: it is never drained.
func NewConn(c net.Conn) *Conn {
	sc := &Conn{Conn: c, srv: &server{}}
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		sc.Remote = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return sc
}

type server struct {
	opts     Options
	mu       sync.Mutex
	conns    map[*Conn]struct{}
	perIP    map[netip.Addr]int
	draining bool
	wg       sync.WaitGroup
}

// Serve accepts connections on ln and runs handle for each on its own
// goroutine, until ctx is done. Then it closes ln, tells connections that
// are waiting for their peer to stop (Idle returns false, pending reads
// time out), waits up to Options.Grace for the others, and closes whatever
// is left; the context passed to handle is cancelled at that point. It
// returns nil after a shutdown, or the listener's error.
func Serve(ctx context.Context, ln net.Listener, opts Options, handle func(ctx context.Context, c *Conn)) error {
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	if opts.Grace <= 0 {
		opts.Grace = DefaultGrace
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &server{opts: opts, conns: map[*Conn]struct{}{}, perIP: map[netip.Addr]int{}}
	// Handlers keep working through a shutdown until the grace period
	// ends: their context is cancelled then, not when ctx is.
	hctx, hardStop := context.WithCancel(context.WithoutCancel(ctx))
	defer hardStop()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	var acceptErr error
	backoff := time.Duration(0)
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// Out of file descriptors and the like: wait and retry,
				// as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				opts.Logger.Warn("accept failed; retrying", "err", err, "in", backoff)
				select {
				case <-time.After(backoff):
				case <-ctx.Done():
				}
				continue
			}
			acceptErr = err
			break
		}
		backoff = 0
		c := NewConn(nc)
		c.srv = s
		if why := s.admit(c); why != "" {
			opts.Logger.Warn("connection refused", "remote", nc.RemoteAddr().String(), "why", why)
			if opts.Refuse != nil {
				_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
				opts.Refuse(nc)
			}
			nc.Close()
			continue
		}
		s.wg.Go(func() {
			defer s.release(c)
			defer c.Close()
			handle(hctx, c)
		})
	}
	ln.Close()
	s.drain(hardStop)
	return acceptErr
}

// isTemporary reports an accept error worth retrying (EMFILE, ENFILE,
// ECONNABORTED...); net does not export them, but they say so.
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// admit registers c, or says why it is over a limit.
func (s *server) admit(c *Conn) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.conns) >= s.opts.MaxConns {
		return "too many connections"
	}
	ip := c.Remote.Addr()
	if s.opts.MaxPerIP > 0 && ip.IsValid() && s.perIP[ip] >= s.opts.MaxPerIP {
		return "too many connections from this address"
	}
	s.conns[c] = struct{}{}
	if ip.IsValid() {
		s.perIP[ip]++
	}
	return ""
}

func (s *server) release(c *Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if ip := c.Remote.Addr(); ip.IsValid() {
		if s.perIP[ip]--; s.perIP[ip] <= 0 {
			delete(s.perIP, ip)
		}
	}
}

// drain runs the shutdown: interrupt waiting connections, wait for the
// busy ones up to the grace period, then close the rest.
func (s *server) drain(hardStop context.CancelFunc) {
	s.mu.Lock()
	s.draining = true
	for c := range s.conns {
		if c.idle {
			_ = c.SetReadDeadline(time.Now())
		}
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(s.opts.Grace):
	}
	s.mu.Lock()
	n := len(s.conns)
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.opts.Logger.Warn("grace period over: connections closed", "count", n)
	hardStop()
	// Handlers return promptly once their connection is closed and their
	// context cancelled; do not hang the process on one that does not.
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.opts.Logger.Error("handlers still running after shutdown")
	}
}
