// Package sqlite is orderflow's local store: one embedded SQLite file that holds the orders, their
// events (the bus's log, with one cursor per consumer), the messages waiting for delivery (the ingest
// queue and the retries of failed deliveries), the dead letters, the inventory, the simulated payment
// ledger, idempotency keys and processed-event ids.
//
// It is built for durability first and speed second. Every acknowledged write has been committed in WAL
// mode and the WAL fsynced after that commit (sync.go: the writer commits with synchronous=NORMAL and a
// syncer fsyncs for every commit since its last fsync), so it survives kill -9 and power loss; only the
// pipeline's own steps may ask to hear of the commit alone (CommitOnly). Reads use a pool of
// connections; all writes go through one writer goroutine that owns the only write connection, runs its
// prepared statements on the driver's connection (wstmt.go) and commits whatever writes are waiting in a
// single transaction (group commit), each write inside its own savepoint so that a failing write rolls
// back only itself. The cost of one commit and one fsync is shared by every caller in the batch, which
// is what lets one machine ingest thousands of orders per second.
//
// A DB implements ingest.Store, ingest.Queue, pipeline.Orders, pipeline.Publisher, localbus.Mailbox,
// inventory.Store, paysim.Ledger and notifier.Deduper. Several processes may open the same file (the
// dlq command does while the server runs); SQLite's locks serialize their writers.
package sqlite
