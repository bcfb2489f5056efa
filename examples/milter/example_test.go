package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"

	"github.com/mailscore/mailscore/examples/internal/wiring"
)

// ExampleMilter runs the filter and talks to it as an MTA does: the
// negotiation, a client, a message with the GTUBE test string, and the
// filter's answer.
func ExampleMilter() {
	cfg := wiring.Config{Offline: true, AuthservID: "mx.example"}
	setup, err := wiring.New(&cfg, nil)
	if err != nil {
		panic(err)
	}
	m, err := New(Options{Setup: setup, AuthservID: cfg.AuthservID})
	if err != nil {
		panic(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Serve(ctx, ln) }()

	c, _ := net.Dial("tcp", ln.Addr().String())
	r := bufio.NewReader(c)
	// A packet is a 32-bit length, a command byte and the data.
	send := func(cmd byte, data ...byte) {
		p := binary.BigEndian.AppendUint32(nil, uint32(1+len(data)))
		c.Write(append(append(p, cmd), data...))
	}
	recv := func() (byte, []byte) {
		var n uint32
		binary.Read(r, binary.BigEndian, &n)
		b := make([]byte, n)
		io.ReadFull(r, b)
		return b[0], b[1:]
	}

	// Version 6 with all modifications and protocol steps on offer, as
	// Postfix does.
	send('O', 0, 0, 0, 6, 0, 0, 0x01, 0xff, 0, 0x1f, 0xff, 0xff)
	cmd, data := recv()
	fmt.Printf("negotiated: %c version %d actions %#x\n", cmd, binary.BigEndian.Uint32(data), binary.BigEndian.Uint32(data[4:]))
	send('C', []byte("mail.example.net\x004\x00\x19192.0.2.7\x00")...) // host, family, port 25, address
	send('M', []byte("<spam@example.net>\x00")...)
	send('R', []byte("<bob@example.com>\x00")...)
	send('L', []byte("Subject\x00 test\x00")...)
	send('N')
	send('B', []byte("XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n")...)
	send('E')
	cmd, data = recv()
	reply, _, _ := bytes.Cut(data, []byte(" (score"))
	fmt.Printf("verdict: %c %s; dominant GTUBE: %v\n", cmd, reply, bytes.Contains(data, []byte("): GTUBE: ")))

	c.Close()
	cancel()
	<-done
	// Output:
	// negotiated: O version 6 actions 0x11
	// verdict: y 550 5.7.1 Message rejected as spam; dominant GTUBE: true
}
