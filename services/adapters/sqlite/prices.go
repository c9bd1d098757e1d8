package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/validation"
)

// The store answers validation's prices itself (validation.CatalogOf finds it by this method).
var _ validation.Catalog = (*DB)(nil)

// maxPrices bounds the price cache; when it is full it starts over. Catalogs are small, but every
// unknown product id asked for is remembered too.
const maxPrices = 10_000

// priceCache remembers the price of each product asked for (or that it is not in the catalog), for
// validation, which asks for every line of every order. Only PutProduct and PutProductIf change a
// price or add a product (stock changes leave prices alone, and products are never deleted), and both
// forget the product after their commit; no other process writes products (the data directory is
// locked by the server, and the dlq command touches only the dead letters).
//
// A read that raced such a write cannot leave the old price behind: fill is given the generation taken
// before the read, and stores nothing if a write was forgotten since; a read that stored the old price
// before the write's forget is undone by that forget.
type priceCache struct {
	mu  sync.Mutex
	gen uint64
	m   map[string]cachedPrice
}

type cachedPrice struct {
	price contracts.Amount
	found bool
}

func newPriceCache() *priceCache { return &priceCache{m: make(map[string]cachedPrice)} }

// get returns the cached price of id, or the generation to fill it with.
func (c *priceCache) get(id string) (p cachedPrice, ok bool, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok = c.m[id]
	return p, ok, c.gen
}

// fill stores what a read that started at generation gen found, unless a write was forgotten since.
func (c *priceCache) fill(id string, p cachedPrice, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.m) >= maxPrices {
		clear(c.m)
	}
	c.m[id] = p
}

// forget drops what is known of id; a write calls it after its commit.
func (c *priceCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, id)
}

// Price returns the product's price, or a fault.NotFound error for a product not in the catalog. It
// answers from memory after the first read of each product; a PutProduct that has returned is always
// seen.
func (db *DB) Price(ctx context.Context, id string) (contracts.Amount, error) {
	p, ok, gen := db.prices.get(id)
	if !ok {
		var price int64
		var name string
		var available int
		err := db.rs.product.QueryRowContext(ctx, id).Scan(&name, &price, &available)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return 0, fmt.Errorf("read the price of product %s: %w", id, err)
		default:
			p = cachedPrice{price: contracts.Amount(price), found: true}
		}
		db.prices.fill(id, p, gen)
	}
	if !p.found {
		return 0, fault.NotFoundf("product %s not found", id)
	}
	return p.price, nil
}
