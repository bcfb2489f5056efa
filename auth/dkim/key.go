package dkim

import (
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
)

// keyType is the k= of a key record.
type keyType uint8

const (
	keyRSA keyType = iota + 1
	keyEd25519
)

// publicKey is a parsed key record (RFC 6376 section 3.6.1). A record that
// does not parse is kept too, with err set, so the cache remembers it.
type publicKey struct {
	typ     keyType
	rsa     *rsa.PublicKey
	ed      ed25519.PublicKey
	bits    int
	sha256  bool // h= allows sha256 (or h= absent)
	sha1    bool // h= allows sha1 (or h= absent); legacy mode only
	email   bool // s= allows email (or s= absent)
	testing bool // t=y
	strict  bool // t=s
	err     error
}

// parseKey parses a DKIM key record (RFC 6376 section 3.6.1, RFC 8463
// section 4.2). Errors match ErrKeySyntax, ErrKeyRevoked or
// ErrKeyUnsuitable.
func parseKey(rec string) *publicKey {
	k := &publicKey{}
	k.err = k.parse(rec)
	return k
}

func (k *publicKey) parse(rec string) error {
	if len(rec) > MaxKeyRecordSize {
		return errorf(ErrKeySyntax, "%w: record of %d bytes exceeds %d", ErrLimit, len(rec), MaxKeyRecordSize)
	}
	var h, kt, p, s, t string
	var hasH, hasK, hasP, hasS, hasT bool
	sc := newTagScanner(rec)
	for tg, ok := sc.next(); ok; tg, ok = sc.next() {
		switch tg.name {
		case "v":
			// "v=" must be first and DKIM1 (section 3.6.1). Records
			// that put it later are accepted when it says DKIM1.
			if tg.value != "DKIM1" {
				return errorf(ErrKeySyntax, "v=%s", tg.value)
			}
		case "h":
			h, hasH = tg.value, true
		case "k":
			kt, hasK = tg.value, true
		case "p":
			p, hasP = tg.value, true
		case "s":
			s, hasS = tg.value, true
		case "t":
			t, hasT = tg.value, true
		}
	}
	if sc.err != nil {
		if errorsIsLimit(sc.err) {
			return errorf(ErrKeySyntax, "%w", sc.err)
		}
		return errorf(ErrKeySyntax, "%v", sc.err)
	}
	if !hasP {
		return newError(ErrKeySyntax, "no p= tag")
	}
	if hasT {
		for f := range strings.SplitSeq(t, ":") {
			switch strings.ToLower(strings.TrimFunc(f, isFWS)) {
			case "y":
				k.testing = true
			case "s":
				k.strict = true
			}
			// Unknown flags are ignored.
		}
	}
	k.sha256, k.sha1 = true, true
	if hasH {
		k.sha256, k.sha1 = false, false
		for a := range strings.SplitSeq(h, ":") {
			a = strings.TrimFunc(a, isFWS)
			k.sha256 = k.sha256 || strings.EqualFold(a, "sha256")
			k.sha1 = k.sha1 || strings.EqualFold(a, "sha1")
		}
	}
	k.email = true
	if hasS {
		k.email = false
		for st := range strings.SplitSeq(s, ":") {
			st = strings.TrimFunc(st, isFWS)
			if st == "*" || strings.EqualFold(st, "email") {
				k.email = true
			}
		}
	}
	// An empty p= means the key was revoked (section 3.6.1).
	if strings.TrimFunc(p, isFWS) == "" {
		return newError(ErrKeyRevoked, "")
	}
	var buf [MaxRSABits/8 + 128]byte
	if len(p) > len(buf)*4/3+256 {
		return errorf(ErrKeySyntax, "%w: p= longer than a %d-bit key", ErrLimit, MaxRSABits)
	}
	der, err := decodeBase64(buf[:], p)
	if err != nil {
		return errorf(ErrKeySyntax, "p=: %v", err)
	}
	k.typ = keyRSA
	if hasK {
		switch strings.ToLower(kt) {
		case "rsa":
		case "ed25519":
			k.typ = keyEd25519
		default:
			return errorf(ErrKeyUnsuitable, "unknown key type k=%s", kt)
		}
	}
	switch k.typ {
	case keyEd25519:
		// RFC 8463 section 4.2: the raw 32-byte public key.
		if len(der) != ed25519.PublicKeySize {
			return errorf(ErrKeySyntax, "ed25519 key of %d bytes, want %d", len(der), ed25519.PublicKeySize)
		}
		k.ed = ed25519.PublicKey(append([]byte(nil), der...))
		k.bits = 256
	case keyRSA:
		// RFC 6376 section 3.6.1 says RSAPublicKey, and the world
		// publishes SubjectPublicKeyInfo: accept both.
		var pub *rsa.PublicKey
		if pk, err := x509.ParsePKIXPublicKey(der); err == nil {
			var ok bool
			if pub, ok = pk.(*rsa.PublicKey); !ok {
				return errorf(ErrKeySyntax, "k=rsa record holds a %T", pk)
			}
		} else if pub, err = x509.ParsePKCS1PublicKey(der); err != nil {
			return errorf(ErrKeySyntax, "p= is not an RSA public key")
		}
		k.rsa = pub
		k.bits = pub.N.BitLen()
		if k.bits > MaxRSABits {
			return errorf(ErrKeySyntax, "%w: %d-bit RSA key exceeds %d bits", ErrLimit, k.bits, MaxRSABits)
		}
	}
	return nil
}

// keyCache keeps parsed keys by record text, so a key served from the DNS
// cache is not parsed again. Safe for concurrent use.
type keyCache struct {
	lru *lru.Cache[string, *publicKey]
}

func newKeyCache(size int) (*keyCache, error) {
	if size < 0 {
		return &keyCache{}, nil
	}
	if size == 0 {
		size = DefaultKeyCacheSize
	}
	l, err := lru.New[string, *publicKey](size)
	if err != nil {
		return nil, fmt.Errorf("dkim: key cache: %w", err)
	}
	return &keyCache{lru: l}, nil
}

func (c *keyCache) get(rec string) *publicKey {
	if c.lru == nil {
		return parseKey(rec)
	}
	if k, ok := c.lru.Get(rec); ok {
		return k
	}
	k := parseKey(rec)
	c.lru.Add(rec, k)
	return k
}
