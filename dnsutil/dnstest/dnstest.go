// Package dnstest runs an in-process authoritative DNS server on 127.0.0.1
// for tests: real UDP and TCP on one port, zone data written as RFC 1035
// master-file text, and faults injected per name and type (SERVFAIL,
// REFUSED, dropped queries, forced truncation, delays, malformed answers,
// dropping queries from source ports below 1024). Every query is logged, so
// tests can count lookups and check source ports.
//
//	srv := dnstest.New(t, `
//	example.com. 300 IN TXT "v=spf1 -all"
//	`)
//	srv.SetFault("slow.example.", dns.TypeTXT, dnstest.Fault{Drop: true})
//	resolver, _ := dnsutil.New(dnsutil.Options{Servers: []string{srv.Addr()}})
//
// The server answers like a recursive resolver in front of authoritative
// data: it follows CNAME chains inside its own data, answers NXDOMAIN or
// NODATA with an SOA in the authority section (RFC 2308), expands wildcards
// (RFC 4592), and truncates UDP answers larger than the client's EDNS buffer
// (RFC 6891) or 512 bytes, so clients must retry over TCP.
package dnstest

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Fault changes how the server answers a name and type.
type Fault struct {
	ServFail  bool          // answer SERVFAIL
	Refused   bool          // answer REFUSED
	Drop      bool          // never answer (the client times out)
	Truncate  bool          // answer over UDP with TC set and no records (forces TCP)
	Malformed bool          // answer with bytes that do not parse as a DNS message
	Delay     time.Duration // wait before answering (applies with any other fault)
	AD        bool          // set the AD bit (as a validating resolver would for signed data)
}

// Query is one query the server received.
type Query struct {
	Name       string // lower-case, absolute
	Type       uint16
	Net        string // "udp" or "tcp"
	SourcePort int
	ID         uint16
	DO         bool   // DNSSEC OK bit set
	UDPSize    uint16 // EDNS buffer size advertised, 0 without EDNS
	Time       time.Time
}

type faultKey struct {
	name  string
	qtype uint16 // 0: any type
}

// Server is a running test DNS server. Its methods are safe for concurrent
// use.
type Server struct {
	udp, tcp *dns.Server
	addr     string

	mu           sync.Mutex
	records      map[string][]dns.RR // by lower-case owner name
	names        map[string]bool     // every owner name and its ancestors (empty non-terminals)
	faults       map[faultKey]Fault
	log          []Query
	dropLowPorts bool
	defaultTTL   uint32
	closed       bool
}

// New starts a server for a test with the given zone data and stops it when
// the test ends. It fails the test if the zone does not parse.
func New(tb testing.TB, zone string) *Server {
	tb.Helper()
	s, err := Start(zone)
	if err != nil {
		tb.Fatalf("dnstest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Start starts a server with the given zone data (see Add). Call Close to
// stop it.
func Start(zone string) (*Server, error) {
	s := &Server{
		records:    map[string][]dns.RR{},
		names:      map[string]bool{},
		faults:     map[faultKey]Fault{},
		defaultTTL: 300,
	}
	if err := s.Add(zone); err != nil {
		return nil, err
	}
	// UDP and TCP on the same port: try a few times in case the TCP port
	// is taken.
	var pc net.PacketConn
	var ln net.Listener
	var err error
	for range 20 {
		pc, err = net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("listen udp: %w", err)
		}
		ln, err = net.Listen("tcp4", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("listen tcp: %w", err)
	}
	s.addr = pc.LocalAddr().String()
	var wg sync.WaitGroup
	wg.Add(2)
	started := func() { wg.Done() }
	s.udp = &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(s.serveUDP), NotifyStartedFunc: started}
	s.tcp = &dns.Server{Listener: ln, Handler: dns.HandlerFunc(s.serveTCP), NotifyStartedFunc: started}
	go func() { _ = s.udp.ActivateAndServe() }()
	go func() { _ = s.tcp.ActivateAndServe() }()
	wg.Wait()
	return s, nil
}

// Addr returns the server's address, "127.0.0.1:port", for UDP and TCP.
func (s *Server) Addr() string { return s.addr }

// Close stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	_ = s.udp.Shutdown()
	_ = s.tcp.Shutdown()
}

// Add parses zone as RFC 1035 master-file text and adds its records. Names
// are relative to the root unless the text sets $ORIGIN; a record without a
// TTL gets 300 seconds.
func (s *Server) Add(zone string) error {
	zp := dns.NewZoneParser(strings.NewReader(zone), ".", "")
	zp.SetDefaultTTL(s.defaultTTL)
	var rrs []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		return fmt.Errorf("zone data: %w", err)
	}
	s.AddRR(rrs...)
	return nil
}

// AddRR adds records given as values.
func (s *Server) AddRR(rrs ...dns.RR) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rr := range rrs {
		name := strings.ToLower(dns.Fqdn(rr.Header().Name))
		rr.Header().Name = name
		s.records[name] = append(s.records[name], rr)
		for n := name; ; {
			s.names[n] = true
			i, end := dns.NextLabel(n, 0)
			if end || n == "." {
				break
			}
			n = n[i:]
		}
	}
}

// Remove deletes the records of a name and type (type 0: every type).
func (s *Server) Remove(name string, qtype uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name = canonical(name)
	if qtype == 0 {
		delete(s.records, name)
		return
	}
	kept := s.records[name][:0]
	for _, rr := range s.records[name] {
		if rr.Header().Rrtype != qtype {
			kept = append(kept, rr)
		}
	}
	s.records[name] = kept
}

// Replace removes every record and loads zone instead. Faults and the log
// are kept.
func (s *Server) Replace(zone string) error {
	s.mu.Lock()
	s.records = map[string][]dns.RR{}
	s.names = map[string]bool{}
	s.mu.Unlock()
	return s.Add(zone)
}

// SetFault injects a fault for name and qtype (qtype 0: every type; name
// "*": every name). A zero Fault removes it.
func (s *Server) SetFault(name string, qtype uint16, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := faultKey{canonical(name), qtype}
	if name == "*" {
		k.name = "*"
	}
	if f == (Fault{}) {
		delete(s.faults, k)
		return
	}
	s.faults[k] = f
}

// DropLowSourcePorts makes the server ignore queries from source ports
// below 1024, as some firewalls do.
func (s *Server) DropLowSourcePorts(drop bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropLowPorts = drop
}

// Queries returns a copy of the query log.
func (s *Server) Queries() []Query {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Query(nil), s.log...)
}

// Count returns how many queries for name and qtype (0: any) were received,
// over UDP and TCP together.
func (s *Server) Count(name string, qtype uint16) int {
	name = canonical(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, q := range s.log {
		if q.Name == name && (qtype == 0 || q.Type == qtype) {
			n++
		}
	}
	return n
}

// ResetLog clears the query log.
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

func canonical(name string) string { return strings.ToLower(dns.Fqdn(name)) }

func (s *Server) serveUDP(w dns.ResponseWriter, r *dns.Msg) { s.serve(w, r, "udp") }
func (s *Server) serveTCP(w dns.ResponseWriter, r *dns.Msg) { s.serve(w, r, "tcp") }

func (s *Server) fault(name string, qtype uint16) Fault {
	for _, k := range []faultKey{{name, qtype}, {name, 0}, {"*", qtype}, {"*", 0}} {
		if f, ok := s.faults[k]; ok {
			return f
		}
	}
	return Fault{}
}

func (s *Server) serve(w dns.ResponseWriter, r *dns.Msg, network string) {
	if len(r.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcodeFormatError(r)
		_ = w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	port := 0
	switch a := w.RemoteAddr().(type) {
	case *net.UDPAddr:
		port = a.Port
	case *net.TCPAddr:
		port = a.Port
	}
	entry := Query{Name: name, Type: q.Qtype, Net: network, SourcePort: port, ID: r.Id, Time: time.Now()}
	if opt := r.IsEdns0(); opt != nil {
		entry.DO = opt.Do()
		entry.UDPSize = opt.UDPSize()
	}

	s.mu.Lock()
	s.log = append(s.log, entry)
	f := s.fault(name, q.Qtype)
	dropLow := s.dropLowPorts
	s.mu.Unlock()

	if f.Delay > 0 {
		time.Sleep(f.Delay)
	}
	if f.Drop || (dropLow && port < 1024) {
		return
	}
	if f.Malformed {
		// A header with the right ID claiming one answer, then garbage.
		b := []byte{byte(r.Id >> 8), byte(r.Id), 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff}
		_, _ = w.Write(b)
		return
	}
	m := new(dns.Msg)
	m.SetReply(r)
	m.RecursionAvailable = true
	m.Compress = true
	switch {
	case f.ServFail:
		m.Rcode = dns.RcodeServerFailure
	case f.Refused:
		m.Rcode = dns.RcodeRefused
	case f.Truncate && network == "udp":
		m.Truncated = true
	default:
		s.answer(m, name, q.Qtype)
		// RFC 6840 section 5.8: AD only for clients that asked (AD or DO set).
		m.AuthenticatedData = f.AD && (r.AuthenticatedData || entry.DO)
	}
	size := dns.MinMsgSize
	if opt := r.IsEdns0(); opt != nil {
		if network == "udp" && int(opt.UDPSize()) > size {
			size = int(opt.UDPSize())
		}
		m.SetEdns0(max(opt.UDPSize(), dns.MinMsgSize), false)
	}
	if network == "udp" {
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}

// answer fills m for name and qtype from the server's data.
func (s *Server) answer(m *dns.Msg, name string, qtype uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.Authoritative = true
	seen := map[string]bool{}
	for range 16 { // CNAME chains are followed at most 16 links
		if seen[name] {
			break
		}
		seen[name] = true
		rrs, ok := s.records[name]
		if !ok || len(rrs) == 0 {
			rrs = s.wildcard(name)
		}
		if len(rrs) == 0 && !s.names[name] {
			if len(m.Answer) == 0 {
				m.Rcode = dns.RcodeNameError
			}
			m.Ns = []dns.RR{s.soa(name)}
			return
		}
		var cname *dns.CNAME
		found := false
		for _, rr := range rrs {
			h := rr.Header()
			if h.Rrtype == qtype || qtype == dns.TypeANY {
				m.Answer = append(m.Answer, rr)
				found = true
			}
			if c, ok := rr.(*dns.CNAME); ok && qtype != dns.TypeCNAME {
				cname = c
			}
		}
		if found || cname == nil {
			if !found {
				m.Ns = []dns.RR{s.soa(name)}
			}
			return
		}
		m.Answer = append(m.Answer, cname)
		name = strings.ToLower(cname.Target)
	}
}

// wildcard returns the records of the wildcard that covers name, with the
// owner rewritten to name (RFC 4592 section 3.3.1), or nil.
func (s *Server) wildcard(name string) []dns.RR {
	for n := name; n != "."; {
		i, end := dns.NextLabel(n, 0)
		if end {
			break
		}
		parent := n[i:]
		if rrs := s.records["*."+parent]; len(rrs) > 0 {
			out := make([]dns.RR, len(rrs))
			for j, rr := range rrs {
				c := dns.Copy(rr)
				c.Header().Name = name
				out[j] = c
			}
			return out
		}
		if s.names[parent] {
			return nil // the closest encloser exists and has no wildcard
		}
		n = parent
	}
	return nil
}

// soa returns the SOA of the closest enclosing zone in the data, or a
// synthetic one, for negative answers (RFC 2308 section 3).
func (s *Server) soa(name string) dns.RR {
	for n := name; ; {
		for _, rr := range s.records[n] {
			if soa, ok := rr.(*dns.SOA); ok {
				return soa
			}
		}
		i, end := dns.NextLabel(n, 0)
		if end || n == "." {
			break
		}
		n = n[i:]
	}
	return &dns.SOA{
		Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 60},
		Ns:  "ns.dnstest.", Mbox: "hostmaster.dnstest.", Serial: 1,
		Refresh: 3600, Retry: 600, Expire: 86400, Minttl: 60,
	}
}
