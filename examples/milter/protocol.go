package main

// The Sendmail milter protocol, version 6, as Sendmail's libmilter and
// Postfix speak it. It has no RFC; this follows the public descriptions
// (Sendmail's libmilter documentation and mfdef.h constants, Postfix's
// MILTER_README, and the community's milter-protocol notes):
//
//   - Every packet is a 32-bit big-endian length, then a command byte,
//     then length-1 octets of data. Strings are NUL-terminated.
//   - The MTA drives: it sends a command, the filter answers the commands
//     that expect an answer.
//   - The first command is SMFIC_OPTNEG (version, actions, protocol
//     steps); the filter answers with the version it speaks, the
//     modifications it may make (a subset of the MTA's), and the protocol
//     steps it wants left out or left unanswered.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// Commands from the MTA (SMFIC_*).
const (
	cmdAbort   = 'A' // end of the message without EOB; no reply
	cmdBody    = 'B' // a chunk of the body
	cmdConnect = 'C' // client connection information
	cmdMacro   = 'D' // macro definitions; no reply
	cmdEOB     = 'E' // end of body: the filter gives its verdict
	cmdHelo    = 'H' // HELO/EHLO name
	cmdQuitNC  = 'K' // end of this SMTP connection; another follows (v6)
	cmdHeader  = 'L' // one header field
	cmdMail    = 'M' // MAIL FROM and its ESMTP arguments
	cmdEOH     = 'N' // end of the header
	cmdOptNeg  = 'O' // option negotiation
	cmdQuit    = 'Q' // end of the milter connection; no reply
	cmdRcpt    = 'R' // RCPT TO and its ESMTP arguments
	cmdData    = 'T' // DATA (v4+)
	cmdUnknown = 'U' // an SMTP command the MTA did not know (v3+)
)

// Replies to the MTA (SMFIR_*).
const (
	respAccept    = 'a' // accept the message (or connection)
	respContinue  = 'c' // go on
	respInsHeader = 'i' // insert a header field at an index
	respChgHeader = 'm' // change (an empty value: delete) a header field
	respReplyCode = 'y' // reject or tempfail with this SMTP reply
	respSkip      = 's' // send no more body chunks
	respOptNeg    = 'O' // the filter's side of the negotiation
	// respAddHeader appends a header field; this filter inserts at the top
	// instead (respInsHeader, version 3 and later), as trace fields go
	// (RFC 5321 section 4.4). SMFIR_REJECT ('r') and SMFIR_TEMPFAIL ('t')
	// are not used: SMFIR_REPLYCODE rejects or tempfails with a reason.
	respAddHeader = 'h'
)

// Modifications the filter may make (SMFIF_*).
const (
	actAddHeaders    = 0x01 // add and insert header fields
	actChangeHeaders = 0x10 // change and delete header fields
)

// Protocol steps (SMFIP_*): for the MTA's offer, what it can leave out;
// in the filter's answer, what it asks to leave out.
const (
	protoNoUnknown   = 0x100    // send no SMFIC_UNKNOWN
	protoNoData      = 0x200    // send no SMFIC_DATA
	protoSkip        = 0x400    // the MTA understands SMFIR_SKIP
	protoNoReplyConn = 0x1000   // no reply to SMFIC_CONNECT
	protoNoReplyHelo = 0x2000   // ... SMFIC_HELO
	protoNoReplyMail = 0x4000   // ... SMFIC_MAIL
	protoNoReplyRcpt = 0x8000   // ... SMFIC_RCPT
	protoNoReplyData = 0x10000  // ... SMFIC_DATA
	protoNoReplyUnkn = 0x20000  // ... SMFIC_UNKNOWN
	protoNoReplyEOH  = 0x40000  // ... SMFIC_EOH
	protoNoReplyBody = 0x80000  // ... SMFIC_BODY
	protoNoReplyHdr  = 0x80     // ... SMFIC_HEADER
	protoLeadSpace   = 0x100000 // header values keep the space after the colon
)

// wantProto is every step this filter can do without: it reads
// everything but unknown commands and DATA, and answers only what decides.
const wantProto = protoNoUnknown | protoNoData | protoSkip | protoNoReplyConn | protoNoReplyHelo |
	protoNoReplyMail | protoNoReplyRcpt | protoNoReplyData | protoNoReplyUnkn | protoNoReplyEOH |
	protoNoReplyBody | protoNoReplyHdr | protoLeadSpace

// protocolVersion is the milter protocol version this filter speaks.
const protocolVersion = 6

// maxPacket bounds a packet from the MTA. Body chunks are at most 65535
// octets unless the filter asks for more (SMFIP_MDS_256K/1M; this one
// does not); macro packets are the next largest. 1 MiB leaves room.
const maxPacket = 1 << 20

// Errors of the packet decoder.
var (
	errPacket         = errors.New("milter: malformed packet")
	errPacketTooLarge = errors.New("milter: packet too large")
)

// readPacket reads one packet into buf (grown as needed, up to max) and
// returns its command and data; data aliases buf.
func readPacket(r *bufio.Reader, buf []byte, max int) (cmd byte, data, nbuf []byte, err error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, buf, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	switch {
	case n == 0:
		return 0, nil, buf, fmt.Errorf("%w: zero length", errPacket)
	case n > uint32(max):
		return 0, nil, buf, fmt.Errorf("%w: %d octets (limit %d)", errPacketTooLarge, n, max)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, buf, err
	}
	return buf[0], buf[1:], buf, nil
}

// writePacket writes one packet: the command and the concatenated parts.
func writePacket(w io.Writer, cmd byte, parts ...[]byte) error {
	n := 1
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, 4+n)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	b = append(b, cmd)
	for _, p := range parts {
		b = append(b, p...)
	}
	_, err := w.Write(b)
	return err
}

// cstr returns s NUL-terminated, with any NUL inside it removed.
func cstr(s string) []byte {
	b := make([]byte, 0, len(s)+1)
	for i := 0; i < len(s); i++ {
		if s[i] != 0 {
			b = append(b, s[i])
		}
	}
	return append(b, 0)
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// optneg is the content of SMFIC_OPTNEG.
type optneg struct {
	version, actions, protocol uint32
}

func decodeOptNeg(data []byte) (optneg, error) {
	if len(data) < 12 {
		return optneg{}, fmt.Errorf("%w: OPTNEG of %d octets", errPacket, len(data))
	}
	return optneg{
		version:  binary.BigEndian.Uint32(data),
		actions:  binary.BigEndian.Uint32(data[4:]),
		protocol: binary.BigEndian.Uint32(data[8:]),
	}, nil
}

// connInfo is the content of SMFIC_CONNECT: the client's host name (or
// "[address]" without one), the address family ('4', '6', 'L' for a
// Unix socket, 'U' unknown), the port and the address.
type connInfo struct {
	hostname string
	family   byte
	port     uint16
	addr     netip.Addr
}

func decodeConnect(data []byte) (connInfo, error) {
	var ci connInfo
	host, rest, ok := cutNUL(data)
	if !ok || len(rest) < 1 {
		return ci, fmt.Errorf("%w: CONNECT without a family", errPacket)
	}
	ci.hostname, ci.family = host, rest[0]
	rest = rest[1:]
	if ci.family == 'U' { // unknown: nothing follows
		return ci, nil
	}
	if len(rest) < 2 {
		return ci, fmt.Errorf("%w: CONNECT without a port", errPacket)
	}
	ci.port = binary.BigEndian.Uint16(rest)
	addr, _, _ := cutNUL(rest[2:])
	if ci.family == '4' || ci.family == '6' {
		// Sendmail writes IPv6 addresses with an "IPv6:" prefix.
		a := addr
		if len(a) > 5 && strings.EqualFold(a[:5], "ipv6:") {
			a = a[5:]
		}
		ip, err := netip.ParseAddr(a)
		if err != nil {
			return ci, fmt.Errorf("%w: CONNECT address %q", errPacket, clip(addr, 60))
		}
		ci.addr = ip.Unmap()
	}
	return ci, nil
}

// cutNUL cuts the NUL-terminated string off the front of b. Without a NUL
// the whole of b is the string and ok is false.
func cutNUL(b []byte) (s string, rest []byte, ok bool) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return string(b), nil, false
	}
	return string(b[:i]), b[i+1:], true
}

// strs splits data into its NUL-terminated strings (a last one without
// its NUL is kept), at most max of them.
func strs(data []byte, max int) []string {
	var out []string
	for len(data) > 0 && len(out) < max {
		s, rest, _ := cutNUL(data)
		out = append(out, s)
		data = rest
	}
	return out
}

// decodeHeader decodes SMFIC_HEADER: name NUL value NUL.
func decodeHeader(data []byte) (name, value string, err error) {
	name, rest, ok := cutNUL(data)
	if !ok || name == "" {
		return "", "", fmt.Errorf("%w: HEADER without a name", errPacket)
	}
	value, _, _ = cutNUL(rest)
	return name, value, nil
}

// decodeMacros decodes SMFIC_MACRO: the command the macros are for, then
// name NUL value NUL pairs. Names lose their braces ("{i}" is "i").
func decodeMacros(data []byte, max int) (forCmd byte, pairs [][2]string, err error) {
	if len(data) < 1 {
		return 0, nil, fmt.Errorf("%w: empty MACRO", errPacket)
	}
	s := strs(data[1:], 2*max)
	for i := 0; i+1 < len(s); i += 2 {
		pairs = append(pairs, [2]string{strings.Trim(s[i], "{}"), s[i+1]})
	}
	return data[0], pairs, nil
}

// angle strips the angle brackets an MTA sends addresses in.
func angle(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		return s[1 : len(s)-1]
	}
	return s
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
