package sqlite

import (
	"fmt"
	"testing"
)

func TestThePriceCacheStaysBounded(t *testing.T) {
	c := newPriceCache()
	for i := range maxPrices + 10 {
		_, _, gen := c.get(fmt.Sprint("unknown-", i))
		c.fill(fmt.Sprint("unknown-", i), cachedPrice{}, gen)
		if len(c.m) > maxPrices {
			t.Fatalf("the cache holds %d prices, more than %d", len(c.m), maxPrices)
		}
	}
	if _, ok, _ := c.get(fmt.Sprint("unknown-", maxPrices+9)); !ok {
		t.Errorf("the last price filled is not cached")
	}
}
