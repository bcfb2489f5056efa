package urlcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mailscore/mailscore"
	"github.com/mailscore/mailscore/dnsutil/dnstest"
)

// testServer is an httptest server that counts its requests.
type testServer struct {
	*httptest.Server
	hits    atomic.Int64 // requests
	conns   atomic.Int64 // TCP connections accepted
	mu      sync.Mutex
	methods []string
}

func newServer(t *testing.T, h http.HandlerFunc) *testServer {
	t.Helper()
	s := &testServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		s.methods = append(s.methods, r.Method+" "+r.URL.Path)
		s.mu.Unlock()
		h(w, r)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *testServer) port() string {
	_, p, _ := net.SplitHostPort(s.Listener.Addr().String())
	return p
}

func (s *testServer) addrPort() netip.AddrPort {
	return netip.MustParseAddrPort(s.Listener.Addr().String())
}

// names serves public-looking names that resolve to loopback and other
// internal addresses.
const names = `
a.example.   A 127.0.0.1
b.example.   A 127.0.0.1
c.example.   A 127.0.0.1
short.example. A 127.0.0.1
track.example. A 127.0.0.1
land.example. A 127.0.0.1
public.example. A 127.0.0.1
localhost.   A 127.0.0.1
ten.example. A 10.0.0.1
meta.example. A 169.254.169.254
cgnat.example. A 100.64.0.1
mapped.example. AAAA ::ffff:127.0.0.1
ula.example. AAAA fd00::1
nat64.example. AAAA 64:ff9b::7f00:1
sixtofour.example. AAAA 2002:7f00:1::1
rebind.example. A 203.0.113.10
rebind.example. A 127.0.0.1
`

func testFollower(t *testing.T, opts FollowerOptions) *Follower {
	t.Helper()
	srv := dnstest.New(t, names)
	opts.Resolver = resolverFor(t, srv)
	if opts.HopTimeout == 0 {
		opts.HopTimeout = 3 * time.Second
	}
	return NewFollower(opts)
}

func TestFollowChain(t *testing.T) {
	var srv *testServer
	srv = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a":
			http.Redirect(w, r, "/b", http.StatusFound)
		case "/b":
			http.Redirect(w, r, "http://b.example:"+srv.port()+"/c", http.StatusMovedPermanently)
		case "/c":
			w.Header().Set("Location", "//c.example:"+srv.port()+"/final?x=1")
			w.WriteHeader(http.StatusSeeOther)
		case "/final":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, `<html><form action="/login"><INPUT name=u><Input TYPE = "Password" name=p></form></html>`)
		}
	})
	f := testFollower(t, FollowerOptions{AllowLoopback: true, AnyPort: true})
	land, err := f.Follow(context.Background(), "http://a.example:"+srv.port()+"/a")
	require.NoError(t, err)
	require.Len(t, land.Hops, 4)
	require.Equal(t, []int{302, 301, 303, 200}, []int{land.Hops[0].Status, land.Hops[1].Status, land.Hops[2].Status, land.Hops[3].Status})
	require.Equal(t, "http://c.example:"+srv.port()+"/final?x=1", land.Final.String())
	require.Equal(t, []string{"a.example", "b.example", "c.example"}, land.Domains())
	require.True(t, land.LoginForm)
	require.Empty(t, land.Executable)
	for _, h := range land.Hops {
		require.Equal(t, srv.addrPort(), h.Addr, "every hop dialed the checked address")
	}
}

func TestFollowHopLimit(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/loop/"))
		http.Redirect(w, r, fmt.Sprintf("/loop/%d", n+1), http.StatusFound)
	})
	f := testFollower(t, FollowerOptions{AllowLoopback: true, AnyPort: true, MaxHops: 3})
	land, err := f.Follow(context.Background(), srv.URL+"/loop/0")
	require.NoError(t, err)
	require.True(t, land.HopLimit)
	require.Len(t, land.Hops, 4, "the first request and 3 redirects")
	require.EqualValues(t, 4, srv.hits.Load())
}

func TestFollowByteLimit(t *testing.T) {
	var written atomic.Int64
	done := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		w.Header().Set("Content-Type", "text/html")
		chunk := []byte(strings.Repeat("<p>filler</p>", 2048))
		for written.Load() < 64<<20 {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	f := testFollower(t, FollowerOptions{AllowLoopback: true, AnyPort: true, MaxBytes: 64 << 10})
	land, err := f.Follow(context.Background(), srv.URL+"/big")
	require.NoError(t, err)
	require.True(t, land.Truncated)
	require.EqualValues(t, 64<<10, land.Bytes)
	<-done
	t.Logf("read %d bytes; the server got %d bytes out before the connection closed", land.Bytes, written.Load())
	require.Less(t, written.Load(), int64(64<<20), "the Follower stopped reading and closed")
}

func TestFollowExecutables(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/type":
			w.Header().Set("Content-Type", "application/x-msdownload")
			w.Write([]byte("whatever"))
		case "/mz":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte("MZ\x90\x00\x03rest of a PE file"))
		case "/elf":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte("\x7fELF\x02\x01\x01"))
		case "/disposition":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", `attachment; filename="invoice.pdf.exe"`)
			w.Write([]byte("data"))
		case "/files/setup.scr":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte("data"))
		case "/short":
			http.Redirect(w, r, "/mz", http.StatusFound)
		case "/doc.pdf":
			w.Header().Set("Content-Type", "application/pdf")
			w.Write([]byte("%PDF-1.7"))
		case "/page.exe":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html>a page named .exe</html>"))
		}
	})
	f := testFollower(t, FollowerOptions{AllowLoopback: true, AnyPort: true})
	tests := []struct{ path, want string }{
		{"/type", "served as application/x-msdownload"},
		{"/mz", "a Windows program (starts with MZ)"},
		{"/elf", "an ELF program"},
		{"/disposition", "downloads as invoice.pdf.exe"},
		{"/files/setup.scr", "a download named setup.scr"},
		{"/short", "a Windows program (starts with MZ)"},
		{"/doc.pdf", ""},
		{"/page.exe", ""},
	}
	for _, tt := range tests {
		land, err := f.Follow(context.Background(), srv.URL+tt.path)
		require.NoError(t, err, tt.path)
		require.Equal(t, tt.want, land.Executable, tt.path)
	}
}

func TestFollowHeadFirst(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/r":
			http.Redirect(w, r, "/page", http.StatusFound)
		case "/page":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<input type='password'>"))
		case "/exe":
			w.Header().Set("Content-Type", "application/x-msdownload")
		}
	})
	f := testFollower(t, FollowerOptions{AllowLoopback: true, AnyPort: true, HeadFirst: true})
	land, err := f.Follow(context.Background(), srv.URL+"/r")
	require.NoError(t, err)
	require.True(t, land.LoginForm)
	land, err = f.Follow(context.Background(), srv.URL+"/exe")
	require.NoError(t, err)
	require.Equal(t, "served as application/x-msdownload", land.Executable)
	require.Equal(t, []string{"HEAD /r", "HEAD /page", "GET /page", "HEAD /exe"}, srv.methods)
}

func TestFollowTimeouts(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/slow":
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
		case strings.HasPrefix(r.URL.Path, "/step/"):
			time.Sleep(150 * time.Millisecond)
			n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/step/"))
			http.Redirect(w, r, fmt.Sprintf("/step/%d", n+1), http.StatusFound)
		}
	})
	// Per hop.
	f := testFollower(t, FollowerOptions{AllowLoopback: true, AnyPort: true, HopTimeout: 200 * time.Millisecond})
	start := time.Now()
	_, err := f.Follow(context.Background(), srv.URL+"/slow")
	require.Error(t, err)
	require.True(t, isTimeout(err), "%v", err)
	require.Less(t, time.Since(start), 2*time.Second)
	// Per link: every hop is quick enough, the chain is not.
	f = testFollower(t, FollowerOptions{AllowLoopback: true, AnyPort: true, HopTimeout: 2 * time.Second, LinkTimeout: 500 * time.Millisecond, MaxHops: 20})
	start = time.Now()
	land, err := f.Follow(context.Background(), srv.URL+"/step/0")
	require.Error(t, err)
	require.True(t, isTimeout(err), "%v", err)
	require.Less(t, time.Since(start), 2*time.Second)
	require.GreaterOrEqual(t, len(land.Hops), 2)
}

// TestFollowSSRF: with loopback not allowed, names that look public but
// resolve to internal addresses, internal address literals in any form,
// and redirects to any of them are all refused before a connection is
// made.
func TestFollowSSRF(t *testing.T) {
	target := newServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("inside")) })
	p := target.port()
	f := testFollower(t, FollowerOptions{AnyPort: true}) // AllowLoopback off
	refused := []struct{ url, reason string }{
		{"http://127.0.0.1:" + p + "/", "loopback"},
		{"http://0x7f000001:" + p + "/", "loopback"},
		{"http://2130706433:" + p + "/", "loopback"},
		{"http://0177.0.0.1:" + p + "/", "loopback"},
		{"http://127.1:" + p + "/", "loopback"},
		{"http://[::1]:" + p + "/", "loopback"},
		{"http://[::ffff:127.0.0.1]:" + p + "/", "IPv4-mapped loopback"},
		{"http://public.example:" + p + "/", "loopback"},
		{"http://localhost:" + p + "/", "loopback"},
		{"http://mapped.example:" + p + "/", "IPv4-mapped loopback"},
		{"http://rebind.example:" + p + "/", "loopback"},
		{"http://nat64.example:" + p + "/", "NAT64 form of a loopback"},
		{"http://sixtofour.example:" + p + "/", "6to4 form of a loopback"},
		{"http://ten.example/", "private address (RFC 1918)"},
		{"http://10.0.0.1/", "private address (RFC 1918)"},
		{"http://192.168.1.1/", "private address (RFC 1918)"},
		{"http://172.16.0.1/", "private address (RFC 1918)"},
		{"http://meta.example/latest/meta-data/", "link-local"},
		{"http://169.254.169.254/latest/meta-data/", "link-local"},
		{"http://cgnat.example/", "CGNAT"},
		{"http://ula.example/", "unique local"},
		{"http://[fe80::1]/", "link-local"},
		{"http://0.0.0.0:" + p + "/", "unspecified"},
		{"http://224.0.0.1/", "multicast"},
		{"http://[ff02::1]/", "multicast"},
	}
	for _, tt := range refused {
		t.Run(tt.url, func(t *testing.T) {
			_, err := f.Follow(context.Background(), tt.url)
			require.Error(t, err)
			require.ErrorIs(t, err, ErrForbiddenAddress)
			var ae *AddressError
			require.True(t, errors.As(err, &ae))
			require.Contains(t, ae.Reason, tt.reason)
		})
	}
	require.Zero(t, target.conns.Load(), "nothing reached the inside: not even a TCP connection")

	// Redirects to the inside, from a server the test allows exactly
	// (by address and port), loopback still not allowed.
	entry := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	f = testFollower(t, FollowerOptions{AnyPort: true, AllowAddrPorts: []netip.AddrPort{entry.addrPort()}})
	for _, to := range []string{
		"http://127.0.0.1:" + p + "/",
		"http://public.example:" + p + "/",
		"http://[::ffff:127.0.0.1]:" + p + "/",
		"http://0x7f.1:" + p + "/",
		"http://10.0.0.1/",
		"http://meta.example/",
		"http://rebind.example:" + p + "/",
	} {
		land, err := f.Follow(context.Background(), entry.URL+"/go?to="+to)
		require.ErrorIs(t, err, ErrForbiddenAddress, to)
		require.Equal(t, 302, land.Hops[0].Status, to)
		require.Len(t, land.Hops, 2, to)
	}
	require.Zero(t, target.conns.Load(), "no redirect reached the inside")
	require.EqualValues(t, 7, entry.hits.Load())

	// Allowing loopback for tests allows nothing else.
	f = testFollower(t, FollowerOptions{AnyPort: true, AllowLoopback: true})
	for _, to := range []string{"http://[::ffff:127.0.0.1]:" + p + "/", "http://nat64.example:" + p + "/", "http://ten.example/", "http://meta.example/"} {
		_, err := f.Follow(context.Background(), entry.URL+"/go?to="+to)
		require.ErrorIs(t, err, ErrForbiddenAddress, to)
	}
	require.Zero(t, target.conns.Load())

	// Ports: only the web's by default.
	f = testFollower(t, FollowerOptions{})
	_, err := f.Follow(context.Background(), "http://203.0.113.9:25/")
	require.ErrorIs(t, err, ErrForbiddenAddress)
	require.Contains(t, err.Error(), "port 25 is not allowed")

	// The socket-level check refuses whatever resolved the address.
	require.ErrorIs(t, f.control("tcp4", "127.0.0.1:80", nil), ErrForbiddenAddress)
	require.ErrorIs(t, f.control("tcp6", "[::ffff:10.1.2.3]:443", nil), ErrForbiddenAddress)
	require.NoError(t, f.control("tcp4", "203.0.113.9:443", nil))
}

func TestInternalAddr(t *testing.T) {
	internal := []string{"127.0.0.1", "127.255.255.254", "::1", "0.0.0.0", "::", "10.1.2.3", "172.31.255.255", "192.168.0.1",
		"169.254.169.254", "fe80::1", "100.64.0.1", "100.127.255.255", "224.0.0.251", "239.255.255.250", "ff02::1",
		"fc00::1", "fd12:3456::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a00:1",
		"64:ff9b:1::1", "2002:c0a8:101::1", "2001:0:4136:e378::1", "::10.0.0.1", "0.1.2.3", "192.0.0.8", "198.18.0.1",
		"240.0.0.1", "255.255.255.255", "100::1", "fec0::1", "2001:db8::1"}
	for _, s := range internal {
		require.NotEmpty(t, internalAddr(netip.MustParseAddr(s)), s)
	}
	public := []string{"8.8.8.8", "1.1.1.1", "203.0.113.10", "100.63.255.255", "100.128.0.0", "172.32.0.1", "2606:4700::1111",
		"::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "192.0.2.1", "198.51.100.7"}
	for _, s := range public {
		require.Empty(t, internalAddr(netip.MustParseAddr(s)), s)
	}
}

// TestCheckerLanding follows a message's shortener through a redirect
// chain to an executable.
func TestCheckerLanding(t *testing.T) {
	var srv *testServer
	srv = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/s":
			http.Redirect(w, r, "http://track.example:"+srv.port()+"/t", http.StatusFound)
		case "/t":
			http.Redirect(w, r, "http://land.example:"+srv.port()+"/dl/invoice.exe", http.StatusFound)
		case "/dl/invoice.exe":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte("MZ\x90\x00"))
		}
	})
	dns := dnstest.New(t, names)
	r := resolverFor(t, dns)
	f := NewFollower(FollowerOptions{Resolver: r, AllowLoopback: true, AnyPort: true})
	c := newChecker(t, r, Options{Follower: f, Shorteners: []string{"short.example"}})
	body := "Your invoice: http://short.example:" + srv.port() + "/s"
	sigs, err := c.Check(context.Background(), message(t, "billing@sender.example", body), nil)
	require.NoError(t, err)
	require.Equal(t, []string{SymLandingExecutable, SymRedirectChain, SymShortener}, symbols(sigs))
	chain := signal(sigs, SymRedirectChain)
	require.Contains(t, chain.Reason, "short.example -> track.example -> land.example")
	require.Equal(t, 0.5, chain.Value)
	exe := signal(sigs, SymLandingExecutable)
	require.Contains(t, exe.Reason, "/dl/invoice.exe: a Windows program")
	require.Contains(t, exe.Keys, mailscore.Key{Kind: mailscore.KeyURLDomain, Value: "land.example"})
	rep := signal(sigs, SymDomainReputation)
	require.Contains(t, rep.Keys, mailscore.Key{Kind: mailscore.KeyURLDomain, Value: "land.example"}, "the landing domain is checked like any URL domain")

	// Off by default: the same checker without a Follower fetches nothing.
	before := srv.hits.Load()
	c = newChecker(t, r, Options{Shorteners: []string{"short.example"}})
	sigs, err = c.Check(context.Background(), message(t, "billing@sender.example", body), nil)
	require.NoError(t, err)
	require.Equal(t, []string{SymShortener}, symbols(sigs))
	require.Equal(t, before, srv.hits.Load())
}
