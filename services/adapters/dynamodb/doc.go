// Package dynamodb holds the DynamoDB adapters of orderflow's AWS runtime: the order store (orders, the
// events recorded about them and idempotency records), inventory with its reservations, the payment
// simulator's ledger, the notifier's dedup records and the chatbot's sessions. Each adapter is given a
// client (anything with the methods of API, such as the SDK's *dynamodb.Client) and its table names;
// none loads configuration or reads the environment.
//
// The tables are those of lambdas.Tables: string keys pk (and sk on the orders table), on-demand
// billing, the indexes and TTL attributes listed there. CreateTables and CreateTableInput build them from
// that description, as the CDK app does, so the runtime and the stack cannot drift.
//
// # Orders table
//
//	item          pk                 sk               other attributes
//	order         ORDER#<id>         ORDER            snapshot (order.Snapshot as JSON), version (N), status,
//	                                                  customerId, createdAt, gsi1pk, gsi1sk,
//	                                                  pendingPk, pendingSk (only while PENDING)
//	event         ORDER#<id>         EVENT#<eventId>  event (contracts.Event as JSON), eventTime, recorded,
//	                                                  detailType
//	reference     REFERENCE#<ref>    REFERENCE        orderId, customerId: holds the order's reference
//	                                                  (order.ParseReference), written with the order
//
// Index byCustomer: gsi1pk = CUSTOMER#<customerId>, gsi1sk = <createdAt>#<id>, where createdAt is UTC
// RFC 3339 with nanoseconds at a fixed width, so that strings sort as times; List queries it newest
// first. Index pendingByAge (keys only) is sparse: pendingPk = PENDING and pendingSk = <createdAt>#<id>
// are written only while the order is PENDING, and the update that moves it on rewrites the item
// without them, so PendingBefore and PendingPage are Queries of the PENDING orders alone, oldest
// first, never a Scan. Both indexes are eventually consistent (an order written a moment ago may be
// missing or stale in them); Get, Update and Events read the table itself, strongly consistent. Every
// pending order shares one index partition key, which bounds the rate of order creation an index
// partition absorbs (about 1,000 writes a second); sharding pendingPk is the way past that.
//
// Update is a strongly consistent GetItem, the caller's function, then one TransactWriteItems: a Put of
// the whole order item on condition version = :read (with version + 1), plus one write per event. A
// lost race cancels the transaction with ConditionalCheckFailed on the order; the cancellation carries
// the order as stored (ReturnValuesOnConditionCheckFailure), and the function runs again on it, up to
// a bound. An event write is an UpdateItem that sets each attribute with if_not_exists, without a
// condition: recording an already recorded event (a stage re-emitting its result after a crash, or a
// concurrent Publish) keeps the first copy and cannot cancel the transaction. A transaction holds at
// most 100 writes of 4 MB together, so an update may return at most 99 events. An order item with 100
// lines of 200-character names is about 27 KB, and the API's 64 KiB request limit keeps every order
// far below DynamoDB's 400 KB item limit.
//
// Publish records events the same way (that is what pipeline.Publisher means for this store: the
// order's own history of its events; the AWS wiring puts them on EventBridge separately). Events
// returns them oldest first by event time, then by when each was first recorded, then by id.
//
// # Idempotency table
//
// pk = the idempotency key; requestHash, orderId, response (B), createdAt, expiresAt (epoch seconds, the
// TTL attribute: now + the retention, 24 hours by default). Create writes the record and the order in
// one TransactWriteItems, each conditional on not existing (an expired record may be replaced); the
// cancellation reasons, in request order, say which condition failed: the record's is
// ingest.ErrIdempotencyKeyTaken, the order's a fault.Conflict. The same transaction puts the order's
// REFERENCE# item on condition that it does not exist; its failure is ingest.ErrReferenceTaken, which
// keeps references unique across all orders. GetByReference reads that item, checks its customer and
// then reads the order. Orders written before references existed have none (and no such item). Idempotency treats a record past its
// expiresAt as not found, because TTL deletes expired items only eventually (and DynamoDB Local never).
//
// # Inventory table
//
//	item          pk                      attributes
//	product       PRODUCT#<id>            catalog ("PRODUCT"), productId, name, price (N), available (N)
//	reservation   RESERVATION#<orderId>   orderId, state, lines (JSON, one per product, sorted by id),
//	                                      partSize, parts, taken, held (N)
//
// Stock is taken by UpdateItem SET available = available - :q on condition available >= :q, so it never
// goes negative. PutProductIf reads the product, compares its ETag and writes on condition that name,
// price and available are still what gave that ETag: the ETag is a hash of exactly those, so the
// condition is the ETag check itself, and a reservation in between fails it. Products reads the keys
// from the sparse, keys-only catalog index (catalog, productId), which holds products only, and then the
// products by BatchGetItem: reservation records are kept, one an order, and a Scan would read them all.
// BackfillCatalog sets the catalog attribute on the products written before the index existed.
//
// A reservation takes at most 99 products per transaction, the 100th action being the write of its
// record. An order has at most 100 lines, so a reservation may need two transactions ("parts"); every
// part is conditional on the record's state and on how many parts it has taken, so each part is taken
// exactly once whoever runs it:
//
//	no record  --part 0 + Put record (attribute_not_exists)-->  RESERVING, taken 1  (RESERVED if one part)
//	RESERVING, taken k  --part k + taken = k+1-->  RESERVING, taken k+1  (RESERVED after the last part)
//	RESERVING and a line short  --> UNDOING; each undo gives back the last part taken (taken - 1),
//	                                 and the undo of part 0 deletes the record: nothing reserved
//	RESERVED/RESERVING/UNDOING, taken t > 1  --Release-->  RELEASING, held t; each step gives back
//	                                 the last part held; giving back part 0 makes it RELEASED
//	taken 1  --Release: part 0 + state RELEASED in one transaction-->  RELEASED
//	no record  --Release-->  RELEASED tombstone with no lines (a later Reserve is ErrReleased)
//
// A process that dies between parts leaves the record RESERVING or UNDOING; the next Reserve of the
// order (the redelivered event) carries on from the record, and a Release gives back exactly the parts
// taken and reports them. Release returns true to the call whose transaction made the record RELEASED.
//
// # Payments, dedup and sessions tables
//
// Payments: pk = PAYMENT#<orderId>, the fields of paysim.Record and a version; Apply is a consistent
// read, the function, and a Put conditional on the version read, retried on a lost race. Dedup:
// pk = <consumer>#<eventId> with expiresAt (15 days by default: longer than a DLQ keeps a message). Sessions: pk =
// agent.SessionKey(customer, session) (length-prefixed, so no two pairs of ids share a key), the turns
// as JSON, a version, expires (RFC 3339) and expiresAt (epoch seconds, the TTL attribute). Reads of
// dedup records and sessions check the expiry themselves, as the idempotency records do.
//
// # Errors
//
// Throttling, exceeded throughput or request limits, server errors and transaction conflicts are
// fault.Unavailable, so deliveries are retried with backoff; a transaction cancelled only by a
// conflicting one is first sent again a few times. A failed condition is always mapped to the domain
// answer it stands for (a taken key, a lost race, out of stock, released), never to an internal error.
package dynamodb
