package app

import (
	"context"
	"fmt"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/inventory"
)

// ExampleOrder is the order the banner's curl posts: the seed system's example.
const ExampleOrder = `{"customerId":"customer123","items":[{"productId":"LAPTOP001","name":"Gaming Laptop","quantity":1,"price":1299.99}],"totalAmount":1299.99,"customerEmail":"customer@example.com","customerPhone":"+31629408162","shippingAddress":{"street":"123 Main St","city":"Anytown","state":"CA","zipCode":"12345","country":"USA"}}`

// DemoCatalog is seeded on first start.
var DemoCatalog = []contracts.InventoryItem{
	{ProductID: "LAPTOP001", Name: "Gaming Laptop", Price: 129999, Available: 1_000_000},
	{ProductID: "MOUSE001", Name: "Wireless Mouse", Price: 4999, Available: 100_000},
	{ProductID: "KEYBOARD001", Name: "Mechanical Keyboard", Price: 12950, Available: 50_000},
	{ProductID: "MONITOR001", Name: "27-inch 4K Monitor", Price: 44900, Available: 20_000},
	{ProductID: "HEADSET001", Name: "Noise-Cancelling Headset", Price: 19999, Available: 30_000},
	{ProductID: "WEBCAM001", Name: "HD Webcam", Price: 7950, Available: 40_000},
	{ProductID: "DOCK001", Name: "USB-C Docking Station", Price: 18900, Available: 15_000},
	{ProductID: "SSD001", Name: "2 TB NVMe SSD", Price: 15999, Available: 25_000},
	{ProductID: "CHAIR001", Name: "Ergonomic Office Chair", Price: 34900, Available: 5_000},
	{ProductID: "DESK001", Name: "Standing Desk", Price: 59900, Available: 2_000},
	{ProductID: "CABLE001", Name: "USB-C Cable 2 m", Price: 1299, Available: 500_000},
	{ProductID: "SERVER001", Name: "Rack Server", Price: 4_999_999, Available: 100},
	{ProductID: "LIMITED001", Name: "Limited Edition Console", Price: 49999, Available: 5},
}

// SeedCatalog puts DemoCatalog into an empty catalog; a catalog with any product is left alone.
func SeedCatalog(ctx context.Context, store inventory.Store) error {
	existing, err := store.Products(ctx)
	if err != nil {
		return fmt.Errorf("read catalog: %w", err)
	}
	if len(existing) > 0 {
		return nil
	}
	for _, p := range DemoCatalog {
		if err := store.PutProduct(ctx, inventory.Product{ID: p.ProductID, Name: p.Name, Price: p.Price, Available: p.Available}); err != nil {
			return fmt.Errorf("seed product %s: %w", p.ProductID, err)
		}
	}
	return nil
}
