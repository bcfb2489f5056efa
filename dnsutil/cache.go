package dnsutil

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// CacheOptions configure a Client's answer cache. The zero value caches
// 10,000 answers, honours TTLs up to one hour, and remembers server failures
// for 5 seconds.
type CacheOptions struct {
	// Size is the number of answers kept (least recently used evicted);
	// default 10,000. A negative Size disables the cache.
	Size int
	// MinTTL is a floor under TTLs; default 0 (a zero TTL is not cached).
	MinTTL time.Duration
	// MaxTTL is a ceiling over TTLs, positive and negative alike; default
	// one hour, so a corrupted record with a TTL of days cannot poison
	// lookups for longer.
	MaxTTL time.Duration
	// FailureTTL is how long a server failure, refusal, timeout or
	// malformed answer is remembered, so a broken zone is not hammered
	// (RFC 9520 section 3.2); default 5s, at most 5 minutes.
	FailureTTL time.Duration
}

type cacheKey struct {
	name  string
	qtype uint16
}

type cacheEntry struct {
	answer  *Answer
	err     error
	expires time.Time
}

type cache struct {
	lru                    *lru.Cache[cacheKey, cacheEntry]
	minTTL, maxTTL, failTT time.Duration
	now                    func() time.Time
}

func newCache(o CacheOptions, now func() time.Time) (*cache, error) {
	if o.Size < 0 {
		return &cache{now: now}, nil
	}
	if o.Size == 0 {
		o.Size = 10000
	}
	if o.MaxTTL <= 0 {
		o.MaxTTL = time.Hour
	}
	if o.FailureTTL <= 0 {
		o.FailureTTL = 5 * time.Second
	}
	// RFC 9520 section 3.2: failures MUST NOT be cached for longer than
	// five minutes.
	o.FailureTTL = min(o.FailureTTL, 5*time.Minute)
	if o.MinTTL > o.MaxTTL {
		return nil, fmt.Errorf("dnsutil: cache MinTTL %v exceeds MaxTTL %v", o.MinTTL, o.MaxTTL)
	}
	l, err := lru.New[cacheKey, cacheEntry](o.Size)
	if err != nil {
		return nil, fmt.Errorf("dnsutil: cache: %w", err)
	}
	return &cache{lru: l, minTTL: o.MinTTL, maxTTL: o.MaxTTL, failTT: o.FailureTTL, now: now}, nil
}

func (c *cache) get(name string, qtype uint16) (*Answer, error, bool) {
	if c.lru == nil {
		return nil, nil, false
	}
	k := cacheKey{name, qtype}
	e, ok := c.lru.Get(k)
	if !ok {
		return nil, nil, false
	}
	if !c.now().Before(e.expires) {
		c.lru.Remove(k)
		return nil, nil, false
	}
	return e.answer, e.err, true
}

func (c *cache) clamp(ttl time.Duration) time.Duration {
	return max(c.minTTL, min(c.maxTTL, ttl))
}

// put stores an answer or error for as long as it may be reused.
func (c *cache) put(name string, qtype uint16, a *Answer, err error) {
	if c.lru == nil {
		return
	}
	var ttl time.Duration
	var n *negative
	switch {
	case err == nil:
		ttl = c.clamp(time.Duration(a.TTL) * time.Second)
	case errors.As(err, &n):
		if n.ttl < 0 {
			return // RFC 2308 section 5: no SOA, no negative caching
		}
		ttl = c.clamp(time.Duration(n.ttl) * time.Second)
		err = n.err
	case errors.Is(err, ErrInvalidName):
		return
	case IsTemporary(err):
		ttl = c.failTT
	default:
		return
	}
	if ttl <= 0 {
		return
	}
	c.lru.Add(cacheKey{name, qtype}, cacheEntry{answer: a, err: err, expires: c.now().Add(ttl)})
}

// Flush empties the cache.
func (c *Client) Flush() {
	if c.cache.lru != nil {
		c.cache.lru.Purge()
	}
}

// Purge removes every cached answer for name, of any type.
func (c *Client) Purge(name string) {
	if c.cache.lru == nil {
		return
	}
	cname, err := Canonical(name)
	if err != nil {
		return
	}
	for _, k := range c.cache.lru.Keys() {
		if k.name == cname {
			c.cache.lru.Remove(k)
		}
	}
}

// Stats counts what the client did since it was created.
type Stats struct {
	Hits      uint64 // lookups answered from the cache (answers and errors)
	Misses    uint64 // lookups not in the cache
	Queries   uint64 // queries sent upstream (each UDP or TCP exchange)
	Coalesced uint64 // lookups answered by an upstream query shared with other callers
	Cached    int    // answers in the cache now
}

type counters struct {
	hits, misses, queries, coalesced atomic.Uint64
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	s := Stats{
		Hits: c.stats.hits.Load(), Misses: c.stats.misses.Load(),
		Queries: c.stats.queries.Load(), Coalesced: c.stats.coalesced.Load(),
	}
	if c.cache.lru != nil {
		s.Cached = c.cache.lru.Len()
	}
	return s
}
