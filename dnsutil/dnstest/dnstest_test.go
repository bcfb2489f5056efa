package dnstest

import (
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"
)

const zone = `
$ORIGIN example.test.
@        300 IN SOA ns hostmaster 1 3600 600 86400 60
@        300 IN A 192.0.2.1
alias    300 IN CNAME @
loop1    300 IN CNAME loop2
loop2    300 IN CNAME loop1
*.wild   300 IN TXT "wildcard"
x.wild   300 IN A 192.0.2.9
a.b.c    300 IN A 192.0.2.2
`

func ask(t *testing.T, s *Server, network, name string, qtype uint16, edns bool) *dns.Msg {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	if edns {
		q.SetEdns0(1232, false)
	}
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	r, _, err := c.Exchange(q, s.Addr())
	require.NoError(t, err)
	return r
}

func TestServerAnswers(t *testing.T) {
	s := New(t, zone)
	tests := []struct {
		name    string
		qtype   uint16
		rcode   int
		answers int
		soa     bool
	}{
		{"example.test.", dns.TypeA, dns.RcodeSuccess, 1, false},
		{"EXAMPLE.test.", dns.TypeA, dns.RcodeSuccess, 1, false},
		{"alias.example.test.", dns.TypeA, dns.RcodeSuccess, 2, false}, // CNAME + target
		{"loop1.example.test.", dns.TypeA, dns.RcodeSuccess, 2, false}, // a loop ends
		{"nope.example.test.", dns.TypeA, dns.RcodeNameError, 0, true},
		{"example.test.", dns.TypeMX, dns.RcodeSuccess, 0, true},    // NODATA
		{"b.c.example.test.", dns.TypeA, dns.RcodeSuccess, 0, true}, // empty non-terminal
		{"y.wild.example.test.", dns.TypeTXT, dns.RcodeSuccess, 1, false},
		{"x.wild.example.test.", dns.TypeTXT, dns.RcodeSuccess, 0, true}, // the name exists: no wildcard
		{"z.x.wild.example.test.", dns.TypeTXT, dns.RcodeNameError, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name+dns.TypeToString[tt.qtype], func(t *testing.T) {
			r := ask(t, s, "udp", tt.name, tt.qtype, false)
			require.Equal(t, tt.rcode, r.Rcode)
			require.Len(t, r.Answer, tt.answers)
			require.Equal(t, tt.soa, len(r.Ns) == 1)
			require.True(t, r.Authoritative)
		})
	}
	r := ask(t, s, "tcp", "y.wild.example.test.", dns.TypeTXT, false)
	require.Equal(t, "y.wild.example.test.", r.Answer[0].Header().Name, "wildcard owner rewritten")
}

func TestServerFaultsAndLog(t *testing.T) {
	s := New(t, zone)
	s.SetFault("example.test", dns.TypeA, Fault{ServFail: true})
	require.Equal(t, dns.RcodeServerFailure, ask(t, s, "udp", "example.test.", dns.TypeA, false).Rcode)
	s.SetFault("example.test", dns.TypeA, Fault{Refused: true})
	require.Equal(t, dns.RcodeRefused, ask(t, s, "udp", "example.test.", dns.TypeA, false).Rcode)
	s.SetFault("example.test", dns.TypeA, Fault{Truncate: true})
	r := ask(t, s, "udp", "example.test.", dns.TypeA, true)
	require.True(t, r.Truncated)
	require.Empty(t, r.Answer)
	r = ask(t, s, "tcp", "example.test.", dns.TypeA, true)
	require.False(t, r.Truncated)
	require.Len(t, r.Answer, 1)
	s.SetFault("example.test", dns.TypeA, Fault{Delay: 100 * time.Millisecond})
	start := time.Now()
	ask(t, s, "udp", "example.test.", dns.TypeA, false)
	require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
	s.SetFault("example.test", dns.TypeA, Fault{})
	require.Equal(t, dns.RcodeSuccess, ask(t, s, "udp", "example.test.", dns.TypeA, false).Rcode)

	s.SetFault("example.test", dns.TypeA, Fault{Drop: true})
	q := new(dns.Msg)
	q.SetQuestion("example.test.", dns.TypeA)
	_, _, err := (&dns.Client{Timeout: 200 * time.Millisecond}).Exchange(q, s.Addr())
	require.Error(t, err, "a dropped query times out")

	qs := s.Queries()
	require.Len(t, qs, 7)
	require.Equal(t, "tcp", qs[3].Net)
	require.EqualValues(t, 1232, qs[2].UDPSize)
	require.Equal(t, 7, s.Count("EXAMPLE.test", dns.TypeA))
	require.Equal(t, 0, s.Count("example.test", dns.TypeMX))
	s.ResetLog()
	require.Empty(t, s.Queries())
}

func TestServerUpdates(t *testing.T) {
	s := New(t, zone)
	require.NoError(t, s.Add("new.example.test. 60 IN TXT \"hello\""))
	require.Len(t, ask(t, s, "udp", "new.example.test.", dns.TypeTXT, false).Answer, 1)
	s.Remove("new.example.test", dns.TypeTXT)
	require.Empty(t, ask(t, s, "udp", "new.example.test.", dns.TypeTXT, false).Answer)
	require.NoError(t, s.Replace("other.test. 60 IN A 192.0.2.7"))
	require.Equal(t, dns.RcodeNameError, ask(t, s, "udp", "example.test.", dns.TypeA, false).Rcode)
	require.Error(t, s.Add("this is not a zone"))
	_, err := Start("bad zone data")
	require.Error(t, err)
}
