package sqlite

import (
	"sync"

	"github.com/orderflow/orderflow/services/order"
)

// snapshotCacheSize bounds the snapshot cache. Every stage of the pipeline reads an order shortly after
// the previous stage wrote it, so the orders in flight are what matters, not the whole table; under a
// backlog tens of thousands are in flight (about 2 KiB each).
const snapshotCacheSize = 1 << 15

// snapshotCache keeps the decoded snapshots of recently committed order versions, so that a stage's Get
// and the Update that follows it do not each read and JSON-decode the order again.
//
// It can be behind the database, never ahead of it: a version is put only after the transaction that
// stored it has committed, and a version names one content, since only one conditional write can ever
// store it. Get hands out a cached snapshot only when the database's current version is the cached
// one; Update may start from a stale one, because its conditional write on the version then fails and
// it starts over from the stored order.
type snapshotCache struct {
	mu   sync.Mutex
	m    map[string]cachedOrder
	ring [snapshotCacheSize]string // ids in the order they were put; the oldest is evicted first
	pos  int64                     // how many puts so far
}

type cachedOrder struct {
	s   order.Snapshot // never changed once cached: readers get copies
	pos int64          // the put that stored it, to know whether its ring slot is still its own
}

func newSnapshotCache() *snapshotCache {
	return &snapshotCache{m: make(map[string]cachedOrder, snapshotCacheSize)}
}

// put caches s (whose Version must be the committed one) unless a newer version is cached already. The
// cache keeps its own copy.
func (c *snapshotCache) put(s order.Snapshot) {
	s = order.FromSnapshot(s).Snapshot()
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[s.ID]; ok && old.s.Version >= s.Version {
		return
	}
	slot := c.pos % snapshotCacheSize
	if evict := c.ring[slot]; evict != "" {
		if e, ok := c.m[evict]; ok && e.pos == c.pos-snapshotCacheSize {
			delete(c.m, evict)
		}
	}
	c.ring[slot] = s.ID
	c.m[s.ID] = cachedOrder{s: s, pos: c.pos}
	c.pos++
}

// latest returns a copy of the newest cached snapshot of the order, if any.
func (c *snapshotCache) latest(id string) (order.Snapshot, bool) {
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if !ok {
		return order.Snapshot{}, false
	}
	return order.FromSnapshot(e.s).Snapshot(), true
}

// at returns a copy of the cached snapshot of the order at version, if that is the one cached.
func (c *snapshotCache) at(id string, version int64) (order.Snapshot, bool) {
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if !ok || e.s.Version != version {
		return order.Snapshot{}, false
	}
	return order.FromSnapshot(e.s).Snapshot(), true
}
