package dynamodb_test

import (
	"testing"
	"time"

	"github.com/orderflow/orderflow/agent"
	"github.com/orderflow/orderflow/agent/sessiontest"
	"github.com/orderflow/orderflow/services/adapters/dynamodb"
	"github.com/orderflow/orderflow/services/adapters/paysim"
	"github.com/orderflow/orderflow/services/adapters/paysim/ledgertest"
	"github.com/orderflow/orderflow/services/app"
	"github.com/orderflow/orderflow/services/ingest/ingesttest"
	"github.com/orderflow/orderflow/services/inventory"
	"github.com/orderflow/orderflow/services/inventory/inventorytest"
	"github.com/orderflow/orderflow/services/lambdas"
	"github.com/orderflow/orderflow/services/notifier"
	"github.com/orderflow/orderflow/services/notifier/notifiertest"
	"github.com/orderflow/orderflow/services/pipeline/pipelinetest"
	"github.com/orderflow/orderflow/services/validation/catalogtest"
)

func openOrders(t *testing.T) *dynamodb.Orders {
	client, names := table(t, lambdas.OrdersTable, lambdas.IdempotencyTable)
	return dynamodb.NewOrders(client, names.Orders, names.Idempotency, dynamodb.OrdersOptions{})
}

func TestPipelineContract(t *testing.T) {
	t.Parallel()
	pipelinetest.Run(t, func(t *testing.T) pipelinetest.Store { return openOrders(t) })
}

func TestIngestContract(t *testing.T) {
	t.Parallel()
	ingesttest.Run(t, func(t *testing.T) ingesttest.Store { return openOrders(t) })
}

func TestInventoryContract(t *testing.T) {
	t.Parallel()
	inventorytest.Run(t, func(t *testing.T) inventory.Store {
		client, names := table(t, lambdas.InventoryTable)
		return dynamodb.NewInventory(client, names.Inventory)
	})
}

func TestCatalogContract(t *testing.T) {
	t.Parallel()
	catalogtest.Run(t, func(t *testing.T) inventory.Store {
		client, names := table(t, lambdas.InventoryTable)
		return dynamodb.NewInventory(client, names.Inventory)
	})
}

func TestLedgerContract(t *testing.T) {
	t.Parallel()
	ledgertest.Run(t, func(t *testing.T) paysim.Ledger {
		client, names := table(t, lambdas.PaymentsTable)
		return dynamodb.NewLedger(client, names.Payments)
	})
}

func TestDeduperContract(t *testing.T) {
	t.Parallel()
	notifiertest.Run(t, func(t *testing.T) notifier.Deduper {
		client, names := table(t, lambdas.DedupTable)
		return dynamodb.NewDeduper(client, names.Dedup, dynamodb.DeduperOptions{})
	})
}

func TestSessionsContract(t *testing.T) {
	t.Parallel()
	sessiontest.Run(t, func(t *testing.T) agent.SessionStore {
		client, names := table(t, lambdas.SessionsTable)
		return dynamodb.NewSessions(client, names.Sessions, dynamodb.SessionsOptions{TTL: sessiontest.TTL, MaxTurns: sessiontest.MaxTurns})
	})
}

// The order store is everything the application needs from one (services/app.OrderStore).
var _ app.OrderStore = (*dynamodb.Orders)(nil)

func TestIngestExpiryContract(t *testing.T) {
	t.Parallel()
	ingesttest.RunExpiry(t, func(t *testing.T, now func() time.Time) ingesttest.Store {
		client, names := table(t, lambdas.OrdersTable, lambdas.IdempotencyTable)
		return dynamodb.NewOrders(client, names.Orders, names.Idempotency, dynamodb.OrdersOptions{IdempotencyRetention: ingesttest.Retention, Now: now})
	})
}
