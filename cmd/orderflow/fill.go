package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/services/adapters/sqlite"
	"github.com/orderflow/orderflow/services/app/local"
	"github.com/orderflow/orderflow/services/order"
)

// fill gives a data directory a long history: it copies its newest COMPLETED order, with every row about
// it, n times, with ids of the milliseconds before it. The benchmark uses it to measure orderflow
// with a million orders behind it. The server must not be running on the directory.
func fill(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("orderflow fill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", env("ORDERFLOW_DATA_DIR", "./data"), "data `directory` (ORDERFLOW_DATA_DIR)")
	n := fs.Int("orders", 1_000_000, "how many orders to add")
	customers := fs.Int("customers", 10_000, "spread the orders over this many customers, fill-00000 …")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 {
		return fmt.Errorf("--orders %d: want at least 1", *n)
	}
	db, err := sqlite.Open(filepath.Join(*dataDir, local.DatabaseFile), sqlite.Options{PruneInterval: -1})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer db.Close()
	done, _, err := db.Search(ctx, order.Search{Status: order.Completed, Limit: 1})
	if err != nil {
		return err
	}
	if len(done) == 0 {
		return fmt.Errorf("%s has no COMPLETED order to copy: place one first", *dataDir)
	}
	start := time.Now()
	// The copies' ids are of the milliseconds before the template, so they sort before it: a fill adds
	// history, not news. (Their times inside — created, history, events — are the template's.)
	first := done[0].CreatedAt().Add(-time.Duration(*n+1) * time.Millisecond)
	// n consecutive references from a random start that no stored order uses (references sort as the
	// numbers they encode, so one range query checks the whole block).
	const referenceSpace = 1 << 40
	var refBase uint64
	for attempt := 1; ; attempt++ {
		var seed [8]byte
		_, _ = rand.Read(seed[:])
		refBase = binary.BigEndian.Uint64(seed[:]) % (referenceSpace - uint64(*n))
		free, err := db.ReferencesFree(ctx, order.ReferenceOf(refBase), order.ReferenceOf(refBase+uint64(*n)-1))
		if err != nil {
			return err
		}
		if free {
			break
		}
		if attempt == 20 {
			return fmt.Errorf("found no block of %d free order references in 20 tries", *n)
		}
	}
	if *customers < 1 {
		*customers = 1
	}
	err = db.CloneOrder(ctx, done[0].ID(), *n, func(i int) (string, string, string) {
		return uuidV7At(first.Add(time.Duration(i) * time.Millisecond)), order.ReferenceOf(refBase + uint64(i)), fmt.Sprintf("fill-%05d", i%*customers)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "added %d orders (copies of %s) in %s\n", *n, done[0].Reference(), time.Since(start).Round(time.Millisecond))
	return nil
}

// uuidV7At is a version 7 UUID of the time t (RFC 9562: 48 bits of Unix milliseconds, then random bits),
// so that orders filled in the past sort before the orders placed after.
func uuidV7At(t time.Time) string {
	var u uuid.UUID
	_, _ = rand.Read(u[:])
	ms := uint64(t.UnixMilli())
	for i := 5; i >= 0; i-- {
		u[i] = byte(ms)
		ms >>= 8
	}
	u[6] = u[6]&0x0f | 0x70 // version 7
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return u.String()
}
