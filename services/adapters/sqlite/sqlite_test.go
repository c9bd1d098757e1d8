package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/localbus/mailboxtest"
	"github.com/orderflow/orderflow/services/adapters/paysim"
	"github.com/orderflow/orderflow/services/adapters/paysim/ledgertest"
	"github.com/orderflow/orderflow/services/adapters/sqlite"
	"github.com/orderflow/orderflow/services/ingest/ingesttest"
	"github.com/orderflow/orderflow/services/inventory"
	"github.com/orderflow/orderflow/services/inventory/inventorytest"
	"github.com/orderflow/orderflow/services/notifier"
	"github.com/orderflow/orderflow/services/notifier/notifiertest"
	"github.com/orderflow/orderflow/services/pipeline/pipelinetest"
	"github.com/orderflow/orderflow/services/validation/catalogtest"
)

// open opens a DB in a fresh temporary directory, closed when the test ends.
func open(t testing.TB, opts sqlite.Options) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "orderflow.db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestInventoryContract(t *testing.T) {
	t.Parallel()
	inventorytest.Run(t, func(t *testing.T) inventory.Store { return open(t, sqlite.Options{}) })
}

func TestCatalogContract(t *testing.T) {
	t.Parallel()
	catalogtest.Run(t, func(t *testing.T) inventory.Store { return open(t, sqlite.Options{}) })
}

func TestPipelineContract(t *testing.T) {
	t.Parallel()
	pipelinetest.Run(t, func(t *testing.T) pipelinetest.Store { return open(t, sqlite.Options{}) })
}

func TestIngestContract(t *testing.T) {
	t.Parallel()
	ingesttest.Run(t, func(t *testing.T) ingesttest.Store { return open(t, sqlite.Options{}) })
}

func TestMailboxContract(t *testing.T) {
	t.Parallel()
	mailboxtest.Run(t, func(t *testing.T, dir string, route func(contracts.Event) []string) mailboxtest.Store {
		db, err := sqlite.Open(filepath.Join(dir, "orderflow.db"), sqlite.Options{Router: route})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

func TestLedgerContract(t *testing.T) {
	t.Parallel()
	ledgertest.Run(t, func(t *testing.T) paysim.Ledger { return open(t, sqlite.Options{}) })
}

func TestDeduperContract(t *testing.T) {
	t.Parallel()
	notifiertest.Run(t, func(t *testing.T) notifier.Deduper { return open(t, sqlite.Options{}) })
}
