package urlcheck

import "net/netip"

// reasonLoopback is internalAddr's answer for loopback addresses, which
// FollowerOptions.AllowLoopback lets through.
const reasonLoopback = "loopback address"

func pfx4(a, b, c, d byte, bits int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{a, b, c, d}), bits)
}

func pfx6(hi uint64, bits int) netip.Prefix {
	var b [16]byte
	for i := range 8 {
		b[i] = byte(hi >> (56 - 8*i))
	}
	return netip.PrefixFrom(netip.AddrFrom16(b), bits)
}

// embeddedV4 returns the IPv4 address inside an IPv6 address at byte off.
func embeddedV4(a netip.Addr, off int) netip.Addr {
	b := a.As16()
	return netip.AddrFrom4([4]byte{b[off], b[off+1], b[off+2], b[off+3]})
}

// internalAddr says why an address must not be connected to, or "" if it
// is a public unicast address. The ranges are those of the IANA IPv4 and
// IPv6 Special-Purpose Address Registries (RFC 6890) that are not
// globally reachable, plus the IPv6 forms that carry an IPv4 address
// (IPv4-mapped, RFC 4291 section 2.5.5.2; NAT64, RFC 6052; 6to4,
// RFC 3056), which are judged by the address they carry.
func internalAddr(a netip.Addr) string {
	if !a.IsValid() {
		return "invalid address"
	}
	if a.Zone() != "" {
		return "scoped address"
	}
	if a.Is4In6() {
		if r := internalAddr(a.Unmap()); r != "" {
			if r == reasonLoopback {
				return "IPv4-mapped loopback address"
			}
			return "IPv4-mapped " + r
		}
		return ""
	}
	switch {
	case a.IsLoopback():
		return reasonLoopback
	case a.IsUnspecified():
		return "unspecified address"
	case a.IsPrivate():
		if a.Is4() {
			return "private address (RFC 1918)"
		}
		return "unique local address (RFC 4193)"
	case a.IsLinkLocalUnicast():
		return "link-local address"
	case a.IsMulticast():
		return "multicast address"
	}
	if a.Is4() {
		switch {
		case pfx4(0, 0, 0, 0, 8).Contains(a):
			return "this-network address (0.0.0.0/8)"
		case pfx4(100, 64, 0, 0, 10).Contains(a):
			return "shared address space (CGNAT, RFC 6598)"
		case pfx4(192, 0, 0, 0, 24).Contains(a):
			return "IETF protocol assignment (192.0.0.0/24)"
		case pfx4(198, 18, 0, 0, 15).Contains(a):
			return "benchmarking address (RFC 2544)"
		case pfx4(240, 0, 0, 0, 4).Contains(a):
			return "reserved or broadcast address (240.0.0.0/4)"
		}
		return ""
	}
	switch {
	case pfx6(0x0064_ff9b_0000_0000, 96).Contains(a):
		if r := internalAddr(embeddedV4(a, 12)); r != "" {
			return "NAT64 form of a " + r
		}
		return ""
	case pfx6(0x0064_ff9b_0001_0000, 48).Contains(a):
		return "local-use NAT64 address (RFC 8215)"
	case pfx6(0x2002_0000_0000_0000, 16).Contains(a):
		if r := internalAddr(embeddedV4(a, 2)); r != "" {
			return "6to4 form of a " + r
		}
		return ""
	case pfx6(0x2001_0000_0000_0000, 32).Contains(a):
		return "Teredo address (RFC 4380)"
	case pfx6(0, 96).Contains(a):
		return "IPv4-compatible address (deprecated, RFC 4291)"
	case pfx6(0x0100_0000_0000_0000, 64).Contains(a):
		return "discard-only address (RFC 6666)"
	case pfx6(0xfec0_0000_0000_0000, 10).Contains(a):
		return "site-local address (deprecated)"
	case pfx6(0x2001_0db8_0000_0000, 32).Contains(a):
		return "documentation address (RFC 3849)"
	}
	return ""
}
