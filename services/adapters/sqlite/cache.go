package sqlite

import (
	"sync"

	"github.com/orderflow/orderflow/services/order"
)

// snapshotCacheSize bounds the snapshot cache. Every stage of the pipeline reads an order shortly after
// the previous stage wrote it, so the orders in flight are what matters, not the whole table; under a
// backlog tens of thousands are in flight (about 2 KiB each).
const snapshotCacheSize = 1 << 15

// snapshotCache keeps the decoded snapshots of recently written orders, so that a stage's Get and the
// Update that follows it neither query nor JSON-decode the order again.
//
// Only the writer puts snapshots, each right after the commit that stored it and before anyone can hear
// of that commit: its caller, OnLog, a read of the log (which stops at DB.finished). Only this process
// writes orders (orderflow fill adds new ones only, with the server stopped). So a cached snapshot is
// the stored version for anyone who heard of the write; a Get racing with a write may see the version
// before it, which is a read that came first. Put never replaces a newer version with an older one.
type snapshotCache struct {
	mu   sync.Mutex
	m    map[string]*cachedOrder   // pointers: a snapshot is a few hundred bytes to copy out of the map
	ring [snapshotCacheSize]string // ids in the order they were put; the oldest is evicted first
	pos  int64                     // how many puts so far
}

type cachedOrder struct {
	s   order.Snapshot // never changed once cached: readers share it and change nothing
	pos int64          // the put that stored it, to know whether its ring slot is still its own
}

func newSnapshotCache() *snapshotCache {
	return &snapshotCache{m: make(map[string]*cachedOrder, snapshotCacheSize)}
}

// put caches s (whose Version must be the committed one) unless a newer version is cached already.
// s may be shared with orders rebuilt from it (order.FromSnapshot never writes through a snapshot's
// slices or pointers), but nobody may change it in place once it is put.
func (c *snapshotCache) put(s order.Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.m[s.ID]
	if ok && old.s.Version >= s.Version {
		return
	}
	slot := c.pos % snapshotCacheSize
	if evict := c.ring[slot]; evict != "" {
		if e, found := c.m[evict]; found && e.pos == c.pos-snapshotCacheSize {
			delete(c.m, evict)
			if evict == s.ID {
				ok = false
			}
		}
	}
	c.ring[slot] = s.ID
	if ok {
		*old = cachedOrder{s: s, pos: c.pos} // in place: readers copy an entry out under the lock
	} else {
		c.m[s.ID] = &cachedOrder{s: s, pos: c.pos}
	}
	c.pos++
}

// latest returns the newest cached snapshot of the order, if any. Its slices and pointers are the
// cache's: the caller reads it or rebuilds an order from it (order.FromSnapshot), and changes nothing
// in place.
func (c *snapshotCache) latest(id string) (order.Snapshot, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok {
		return e.s, true
	}
	return order.Snapshot{}, false
}
