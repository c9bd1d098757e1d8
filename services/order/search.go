package order

// Search selects orders for the operations console.
type Search struct {
	// Status selects the orders in this status; "" for any.
	Status Status
	// CustomerID selects this customer's orders; "" for any customer.
	CustomerID string
	// Reference, in its canonical form (ParseReference), finds that one order of any customer.
	Reference string
	// Limit is the page size, 1 to 100.
	Limit int
	// Cursor is "" for the first page, and the cursor Search returned for the next.
	Cursor string
}
