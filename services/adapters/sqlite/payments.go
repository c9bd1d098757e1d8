package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/paysim"
)

var _ paysim.Ledger = (*DB)(nil)

// Apply loads the payment record of orderID (a zero Record with OrderID set when there is none), calls
// fn and stores the record, all inside one write of the writer, so that Apply calls for the same order
// never interleave. fn must be quick: it runs inside the transaction other writes are waiting on. If fn
// returns an error nothing is stored and Apply returns that error unchanged; a failed write
// is returned wrapped.
func (db *DB) Apply(ctx context.Context, orderID string, fn func(r *paysim.Record) error) error {
	var fnErr error
	err := db.write(ctx, func(w *writer) error {
		fnErr = nil
		r := paysim.Record{OrderID: orderID}
		var state string
		var amount int64
		err := w.queryRow(w.st.getPayment, orderID).Scan(&state, &r.AuthorizationID, &amount, &r.Currency, &r.Attempts, &r.DeclineCode)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read payment record: %w", err)
		}
		r.State, r.Amount = paysim.State(state), contracts.Amount(amount)
		if err := fn(&r); err != nil {
			fnErr = err
			return err
		}
		return w.exec(w.st.upsertPayment, orderID, string(r.State), r.AuthorizationID, int64(r.Amount), r.Currency, r.Attempts, r.DeclineCode)
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("apply payment change to order %s: %w", orderID, err)
	}
	return nil
}
