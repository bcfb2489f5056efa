package urlcheck

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mailscore/mailscore/dnsutil"
)

// FollowerOptions configure a Follower. The zero value is safe: five
// redirects, 256 KiB per response, 4 s per hop, 6 s per link and per
// message, ports 80, 443, 8080 and 8443 only, no internal address ever.
//
// The Checker follows links before it looks up the domains they land on,
// so MessageTimeout plus Options.Timeout should stay under the engine's
// deadline (mailscore.EngineOptions.Timeout, 10 s by default).
type FollowerOptions struct {
	// MaxHops is how many redirects are followed; default 5.
	MaxHops int
	// MaxBytes is the most body bytes read from one response; default
	// 256 KiB.
	MaxBytes int64
	// HopTimeout bounds one request, from dialing to the last byte read;
	// default 4 s.
	HopTimeout time.Duration
	// LinkTimeout bounds all the hops of one link; default 6 s.
	LinkTimeout time.Duration
	// MessageTimeout bounds all the links the Checker follows for one
	// message (they are followed concurrently); default 6 s.
	MessageTimeout time.Duration
	// HeadFirst asks each hop with HEAD and reads a body with GET only when
	// the page itself must be looked at (HTML, or a server refusing HEAD).
	HeadFirst bool
	// Resolver resolves host names; nil means the system resolver. Every
	// address it returns is checked before any is dialed.
	Resolver dnsutil.Resolver
	// UserAgent is sent with each request; default a browser-like string
	// naming mailscore.
	UserAgent string
	// Ports are the ports links may use; default 80, 443, 8080, 8443.
	Ports []uint16
	// AnyPort allows every port (tests use it for httptest servers).
	AnyPort bool
	// AllowLoopback allows loopback addresses (127.0.0.0/8, ::1). It is
	// for tests against net/http/httptest servers and must stay off in
	// production. Private, link-local and the other internal ranges stay
	// refused.
	AllowLoopback bool
	// AllowAddrPorts are exact address:port pairs dialed even if internal
	// (a sandbox proxy, or a test server while AllowLoopback is off).
	AllowAddrPorts []netip.AddrPort
	// TLSConfig is used for https; nil means the system's roots.
	TLSConfig *tls.Config
}

// Follower follows links to their landing pages: up to MaxHops redirects
// with GET (or HEAD first), at most MaxBytes read per response, with a
// timeout per hop, per link and per message. It is SSRF-safe: it resolves
// every host itself, refuses the host if any of its addresses is internal
// (loopback, RFC 1918 and other private ranges, link-local, CGNAT,
// multicast, unspecified, reserved, and IPv4-mapped, NAT64, 6to4 and
// Teredo forms of them), dials only the checked address, and checks the
// socket's address again just before connecting; on every hop, so neither
// a redirect nor DNS rebinding reaches inside. It sends no cookies, no
// credentials and no Referer, and ignores proxy settings. Safe for
// concurrent use.
//
// Following a link tells whoever runs it that the message arrived: spam
// links are often unique per recipient. Enable it only where that is
// acceptable, ideally from an address not tied to your mail servers.
type Follower struct {
	opts   FollowerOptions
	client *http.Client
	dialer *net.Dialer
}

// NewFollower returns a Follower.
func NewFollower(opts FollowerOptions) *Follower {
	if opts.MaxHops <= 0 {
		opts.MaxHops = 5
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 256 << 10
	}
	if opts.HopTimeout <= 0 {
		opts.HopTimeout = 4 * time.Second
	}
	if opts.LinkTimeout <= 0 {
		opts.LinkTimeout = 6 * time.Second
	}
	if opts.MessageTimeout <= 0 {
		opts.MessageTimeout = 6 * time.Second
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "Mozilla/5.0 (compatible; mailscore-urlcheck; +https://github.com/mailscore/mailscore)"
	}
	if len(opts.Ports) == 0 {
		opts.Ports = []uint16{80, 443, 8080, 8443}
	}
	f := &Follower{opts: opts}
	f.dialer = &net.Dialer{Timeout: opts.HopTimeout, Control: f.control}
	var tlsConf *tls.Config
	if opts.TLSConfig != nil {
		tlsConf = opts.TLSConfig.Clone()
	}
	f.client = &http.Client{
		Transport: &http.Transport{
			Proxy:                  nil, // a proxy would dial for us, unchecked
			DialContext:            f.dialContext,
			TLSClientConfig:        tlsConf,
			TLSHandshakeTimeout:    opts.HopTimeout,
			ResponseHeaderTimeout:  opts.HopTimeout,
			MaxResponseHeaderBytes: 64 << 10,
			DisableKeepAlives:      true,
			ForceAttemptHTTP2:      true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return f
}

// ErrForbiddenAddress is matched by the error of a dial the Follower
// refused because the address is internal or the port is not allowed.
var ErrForbiddenAddress = errors.New("urlcheck: refusing to connect to an internal address")

// AddressError says which host, address and rule made the Follower refuse
// to connect.
type AddressError struct {
	Host   string
	Addr   netip.AddrPort
	Reason string
}

// Error says what was refused and why.
func (e *AddressError) Error() string {
	if e.Host != "" && e.Host != e.Addr.Addr().String() {
		return fmt.Sprintf("urlcheck: refusing to connect to %s (%s): %s", e.Host, e.Addr, e.Reason)
	}
	return fmt.Sprintf("urlcheck: refusing to connect to %s: %s", e.Addr, e.Reason)
}

// Unwrap lets errors.Is match ErrForbiddenAddress.
func (e *AddressError) Unwrap() error { return ErrForbiddenAddress }

// check returns an error if the Follower may not connect to ap.
func (f *Follower) check(host string, ap netip.AddrPort) error {
	if slices.Contains(f.opts.AllowAddrPorts, ap) {
		return nil
	}
	if !f.opts.AnyPort && !slices.Contains(f.opts.Ports, ap.Port()) {
		return &AddressError{Host: host, Addr: ap, Reason: "port " + strconv.Itoa(int(ap.Port())) + " is not allowed"}
	}
	if reason := internalAddr(ap.Addr()); reason != "" {
		if reason == reasonLoopback && f.opts.AllowLoopback && !ap.Addr().Is4In6() {
			return nil
		}
		return &AddressError{Host: host, Addr: ap, Reason: reason}
	}
	return nil
}

// control checks the address the socket is about to connect to, whatever
// resolved it: the last line of defence.
func (f *Follower) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &AddressError{Reason: "unparsable socket address " + address}
	}
	return f.check("", ap)
}

// dialContext resolves the host itself, refuses it if any address is
// internal, and dials only the addresses it checked.
func (f *Follower) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("urlcheck: bad port in %q", addr)
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		ips, err = f.resolve(ctx, host)
		if err != nil {
			return nil, err
		}
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("urlcheck: %s has no addresses", host)
	}
	for _, ip := range ips {
		if err := f.check(host, netip.AddrPortFrom(ip, uint16(port))); err != nil {
			return nil, err
		}
	}
	var firstErr error
	for _, ip := range ips {
		c, err := f.dialer.DialContext(ctx, "tcp", netip.AddrPortFrom(ip, uint16(port)).String())
		if err == nil {
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}

func (f *Follower) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if f.opts.Resolver != nil {
		ips, err := dnsutil.LookupIP(ctx, f.opts.Resolver, host)
		if len(ips) == 0 && err != nil {
			return nil, err
		}
		return ips, nil
	}
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// Hop is one request of a followed link.
type Hop struct {
	URL      string
	Method   string
	Status   int
	Location string         // the redirect target as sent, if any
	Addr     netip.AddrPort // the address connected to
}

// Landing is where a followed link went.
type Landing struct {
	Start URL
	// Hops are the requests made, in order (a HEAD and a GET of the same
	// URL are two hops).
	Hops []Hop
	// Final is the last URL reached: the one that answered without a
	// redirect, or where the chain stopped.
	Final       URL
	Status      int
	ContentType string
	// Executable says why the final response is a program download
	// ("" if it is not): its type, its file name or its first bytes.
	Executable string
	// LoginForm reports a page with a password field.
	LoginForm bool
	// Bytes is the number of body bytes read from the final response;
	// Truncated reports that MaxBytes stopped the reading.
	Bytes     int64
	Truncated bool
	// HopLimit reports that MaxHops redirects were followed without
	// landing.
	HopLimit bool
	// Stopped says why following stopped early (a redirect to a scheme
	// that is not http or https, a bad Location), "" otherwise.
	Stopped string
}

// Domains returns the distinct registered domains (or addresses) of the
// start, every hop and the final URL, in order.
func (l *Landing) Domains() []string {
	var out []string
	add := func(u URL) {
		d := u.Domain
		if d == "" {
			d = u.Host
		}
		if d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	add(l.Start)
	for _, h := range l.Hops {
		if u, k := parse(h.URL, false); k == errNone {
			add(u)
		}
	}
	add(l.Final)
	return out
}

func isRedirect(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// Follow follows raw (an http or https URL) to where it lands. It returns
// an error when the first request fails (including ErrForbiddenAddress);
// a failure after some redirects returns the Landing so far with the
// error.
func (f *Follower) Follow(ctx context.Context, raw string) (*Landing, error) {
	u, err := Normalize(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: %s", ErrScheme, u.Scheme)
	}
	ctx, cancel := context.WithTimeout(ctx, f.opts.LinkTimeout)
	defer cancel()
	land := &Landing{Start: u}
	cur := u
	for redirects := 0; ; redirects++ {
		if redirects > f.opts.MaxHops {
			land.HopLimit = true
			land.Final = cur
			return land, nil
		}
		method := http.MethodGet
		if f.opts.HeadFirst {
			method = http.MethodHead
		}
		res, err := f.fetch(ctx, &cur, method, land)
		if err == nil && method == http.MethodHead && !isRedirect(res.status) && f.needBody(res) {
			res, err = f.fetch(ctx, &cur, http.MethodGet, land)
		}
		if err != nil {
			land.Final = cur
			return land, err
		}
		if isRedirect(res.status) && res.location != "" {
			next, why := resolveLocation(&cur, res.location)
			if why != "" {
				land.Final, land.Stopped = cur, why
				return land, nil
			}
			cur = next
			continue
		}
		land.Final = cur
		land.Status = res.status
		land.ContentType = res.ctype
		land.Bytes = int64(len(res.body))
		land.Truncated = res.truncated
		if res.status >= 200 && res.status < 300 {
			land.Executable = executable(&cur, res)
			land.LoginForm = strings.Contains(res.ctype, "html") && hasPasswordField(res.body)
		}
		return land, nil
	}
}

// resolveLocation turns a Location header into the next URL (RFC 9110
// section 10.2.2: a relative reference is resolved against the request
// URL).
func resolveLocation(cur *URL, loc string) (URL, string) {
	base, err := url.Parse(cur.String())
	if err != nil {
		return URL{}, "the current URL does not parse"
	}
	ref, err := url.Parse(strings.TrimSpace(loc))
	if err != nil {
		// Browsers are lenient; try it as an absolute URL.
		if u, k := parse(loc, false); k == errNone {
			if u.Scheme != "http" && u.Scheme != "https" {
				return URL{}, "redirect to a " + u.Scheme + " URL"
			}
			return u, ""
		}
		return URL{}, "unparsable Location header"
	}
	abs := base.ResolveReference(ref)
	if abs.Scheme != "http" && abs.Scheme != "https" {
		return URL{}, "redirect to a " + abs.Scheme + " URL"
	}
	u, k := parse(abs.String(), false)
	if k != errNone {
		return URL{}, "redirect to an invalid URL: " + k.err().Error()
	}
	return u, ""
}

type response struct {
	status      int
	location    string
	ctype       string
	disposition string
	body        []byte
	truncated   bool
}

func (f *Follower) needBody(r *response) bool {
	switch {
	case r.status == http.StatusMethodNotAllowed || r.status == http.StatusNotImplemented:
		return true
	case r.status < 200 || r.status >= 300:
		return false
	case r.ctype == "" || strings.Contains(r.ctype, "html"):
		return true
	}
	return false
}

// fetch makes one request under the hop timeout and reads at most
// MaxBytes of the body.
func (f *Follower) fetch(ctx context.Context, u *URL, method string, land *Landing) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, f.opts.HopTimeout)
	defer cancel()
	hop := Hop{URL: u.String(), Method: method}
	trace := &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) {
		if ap, err := netip.ParseAddrPort(ci.Conn.RemoteAddr().String()); err == nil {
			hop.Addr = ap
		}
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), method, hop.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("urlcheck: request for %s: %w", hop.URL, err)
	}
	req.Header.Set("User-Agent", f.opts.UserAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	resp, err := f.client.Do(req)
	if err != nil {
		land.Hops = append(land.Hops, hop)
		return nil, err
	}
	defer resp.Body.Close()
	r := &response{status: resp.StatusCode, location: resp.Header.Get("Location"), disposition: resp.Header.Get("Content-Disposition")}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil {
		r.ctype = strings.ToLower(mt)
	}
	hop.Status, hop.Location = resp.StatusCode, r.location
	land.Hops = append(land.Hops, hop)
	if method == http.MethodGet && !isRedirect(resp.StatusCode) {
		r.body, err = io.ReadAll(io.LimitReader(resp.Body, f.opts.MaxBytes+1))
		if int64(len(r.body)) > f.opts.MaxBytes {
			r.body, r.truncated = r.body[:f.opts.MaxBytes], true
		}
		if err != nil && !r.truncated {
			return nil, fmt.Errorf("urlcheck: reading %s: %w", hop.URL, err)
		}
	}
	return r, nil
}

// executableType reports media types of programs and installers.
func executableType(t string) bool {
	switch t {
	case "application/x-msdownload", "application/x-msdos-program", "application/x-dosexec",
		"application/vnd.microsoft.portable-executable", "application/x-executable",
		"application/x-elf", "application/x-sharedlib", "application/x-mach-binary",
		"application/x-msi", "application/x-ms-installer", "application/x-ms-shortcut",
		"application/java-archive", "application/x-java-archive", "application/hta",
		"application/vnd.android.package-archive", "application/x-sh", "application/x-bat",
		"application/x-apple-diskimage":
		return true
	}
	return false
}

// executableExt reports file extensions Windows, macOS, Android or a
// shell runs.
func executableExt(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".exe", ".scr", ".com", ".pif", ".msi", ".msix", ".bat", ".cmd", ".vbs", ".vbe", ".js", ".jse",
		".wsf", ".wsh", ".hta", ".ps1", ".jar", ".apk", ".dll", ".lnk", ".cpl", ".dmg", ".pkg", ".app",
		".sh", ".elf", ".iso", ".img", ".vhd", ".appx":
		return true
	}
	return false
}

// executable says why a response is a program download, or "".
func executable(u *URL, r *response) string {
	if executableType(r.ctype) {
		return "served as " + r.ctype
	}
	if r.disposition != "" {
		if _, p, err := mime.ParseMediaType(r.disposition); err == nil && executableExt(p["filename"]) {
			return "downloads as " + p["filename"]
		}
	}
	b := r.body
	switch {
	case len(b) >= 2 && b[0] == 'M' && b[1] == 'Z':
		return "a Windows program (starts with MZ)"
	case len(b) >= 4 && string(b[:4]) == "\x7fELF":
		return "an ELF program"
	case len(b) >= 4 && (string(b[:4]) == "\xcf\xfa\xed\xfe" || string(b[:4]) == "\xce\xfa\xed\xfe" || string(b[:4]) == "\xca\xfe\xba\xbe"):
		return "a Mach-O program"
	}
	if !strings.Contains(r.ctype, "html") && !strings.HasPrefix(r.ctype, "text/") {
		p := u.Rest
		if i := strings.IndexAny(p, "?#"); i >= 0 {
			p = p[:i]
		}
		if executableExt(p) {
			return "a download named " + path.Base(p)
		}
	}
	return ""
}

// hasPasswordField reports an <input type=password> in an HTML page.
func hasPasswordField(b []byte) bool {
	s := string(b)
	for n := 0; n < 1000; n++ {
		i := indexFold(s, "<input")
		if i < 0 {
			return false
		}
		s = s[i+6:]
		end := strings.IndexByte(s, '>')
		tag := s
		if end >= 0 {
			tag = s[:end]
		}
		for _, form := range []string{"type=password", `type="password"`, "type='password'"} {
			if indexFold(strings.ReplaceAll(tag, " = ", "="), form) >= 0 {
				return true
			}
		}
	}
	return false
}
