// Package carriersim is a simulated shipping carrier for the local runtime: it books shipments with a
// carrier chosen by destination, a tracking number derived from the order id (so booking twice gives
// the same shipment) and an estimated delivery a few business days out.
package carriersim

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fulfillment"
)

// Carrier is the simulated carrier.
type Carrier struct{}

var _ fulfillment.Carrier = Carrier{}

// Book implements fulfillment.Carrier.
func (Carrier) Book(_ context.Context, r fulfillment.ShipmentRequest) (contracts.Shipment, error) {
	sum := sha256.Sum256([]byte(r.OrderID))
	n := binary.BigEndian.Uint64(sum[:8])
	carrier, prefix, days := "DHL", "JD", 3
	switch strings.ToUpper(strings.TrimSpace(r.Address.Country)) {
	case "USA", "US", "UNITED STATES":
		carrier, prefix, days = "UPS", "1Z", 4
	case "NL", "NLD", "NETHERLANDS":
		carrier, prefix, days = "PostNL", "3S", 1
	case "GB", "UK", "GBR", "UNITED KINGDOM":
		carrier, prefix, days = "Royal Mail", "RM", 2
	}
	return contracts.Shipment{
		Carrier:           carrier,
		TrackingNumber:    fmt.Sprintf("%s%016d", prefix, n%10_000_000_000_000_000),
		EstimatedDelivery: addBusinessDays(r.Now.UTC(), days).Format(time.DateOnly),
	}, nil
}

func addBusinessDays(t time.Time, days int) time.Time {
	for days > 0 {
		t = t.AddDate(0, 0, 1)
		if wd := t.Weekday(); wd != time.Saturday && wd != time.Sunday {
			days--
		}
	}
	return t
}
