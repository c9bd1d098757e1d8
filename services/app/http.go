package app

import (
	"fmt"
	"net/http"

	"github.com/orderflow/orderflow/agent"
	"github.com/orderflow/orderflow/schemas"
	"github.com/orderflow/orderflow/services/httpapi"
	"github.com/orderflow/orderflow/services/registry"
)

// HTTPConfig configures the REST API.
type HTTPConfig = httpapi.Config

// AdminAPI are the services behind the operations console's endpoints (Adapters.Admin). BuildAPI sets
// its Chatbot to the application's chatbot.
type AdminAPI = httpapi.Admin

// cancelHelp is what the chatbot tells customers who ask how to cancel.
const cancelHelp = "You can cancel an order until it is handed to fulfillment: reply with the order id and ask to cancel, " +
	"or use POST /orders/{orderId}/cancel. Reserved stock is released and the payment authorization voided right away."

// BuildAPI builds the REST API over the application's services, the chatbot and the schema registry
// (Adapters.API).
func BuildAPI(cfg HTTPConfig, a Adapters, app *App) (http.Handler, error) {
	bot, err := agent.New(a.Orders, a.Model, app.Metrics.Registry(), agent.Options{Now: a.Now, Logger: a.Logger, CancelHelp: cancelHelp, Sessions: a.Sessions})
	if err != nil {
		return nil, fmt.Errorf("build chatbot: %w", err)
	}
	reg, err := registry.New(schemas.FS)
	if err != nil {
		return nil, fmt.Errorf("load schema registry: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = a.Logger
	}
	var admin *httpapi.Admin
	if a.Admin != nil {
		adm := *a.Admin
		adm.Chatbot = bot
		admin = &adm
	}
	return httpapi.New(cfg, httpapi.Deps{
		Orders: a.Orders, Ingest: app.Ingest, Inventory: a.Inventory, Chatbot: bot,
		Metrics: app.Metrics.Handler(), Observer: app.Metrics,
		ReadOnly: []httpapi.Mount{{Path: "/schemas", Handler: reg}, {Path: "/schemas/{name}", Handler: reg}},
		Admin:    admin,
	}), nil
}
