package ledgertest_test

import (
	"testing"

	"github.com/orderflow/orderflow/services/adapters/paysim"
	"github.com/orderflow/orderflow/services/adapters/paysim/ledgertest"
)

func TestMemoryLedger(t *testing.T) {
	ledgertest.Run(t, func(*testing.T) paysim.Ledger { return paysim.NewMemoryLedger() })
}
