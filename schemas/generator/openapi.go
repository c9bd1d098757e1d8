package generator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"

	"github.com/invopop/jsonschema"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/registry"
)

// OpenAPIVersion is the version of the OpenAPI Specification the API document follows. 3.1 uses JSON
// Schema 2020-12, the dialect invopop/jsonschema writes, so component schemas need no translation.
const OpenAPIVersion = "3.1.0"

// The OpenAPI document, as far as orderflow uses it.
type (
	openAPI struct {
		OpenAPI    string                           `json:"openapi"`
		Info       apiInfo                          `json:"info"`
		Security   []map[string][]string            `json:"security"`
		Tags       []apiTag                         `json:"tags"`
		Paths      map[string]map[string]*operation `json:"paths"`
		Components components                       `json:"components"`
	}
	apiInfo struct {
		Title       string `json:"title"`
		Version     string `json:"version"`
		Description string `json:"description"`
	}
	apiTag struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	operation struct {
		OperationID string                 `json:"operationId"`
		Summary     string                 `json:"summary"`
		Description string                 `json:"description,omitempty"`
		Tags        []string               `json:"tags"`
		Security    *[]map[string][]string `json:"security,omitempty"`
		Parameters  []parameter            `json:"parameters,omitempty"`
		RequestBody *requestBody           `json:"requestBody,omitempty"`
		Responses   map[string]*response   `json:"responses"`
	}
	parameter struct {
		Name        string             `json:"name"`
		In          string             `json:"in"`
		Description string             `json:"description"`
		Required    bool               `json:"required"`
		Schema      *jsonschema.Schema `json:"schema"`
	}
	requestBody struct {
		Required bool                 `json:"required"`
		Content  map[string]mediaType `json:"content"`
	}
	mediaType struct {
		Schema  *jsonschema.Schema `json:"schema"`
		Example any                `json:"example,omitempty"`
	}
	response struct {
		Description string               `json:"description"`
		Headers     map[string]header    `json:"headers,omitempty"`
		Content     map[string]mediaType `json:"content,omitempty"`
	}
	header struct {
		Description string             `json:"description"`
		Schema      *jsonschema.Schema `json:"schema"`
	}
	components struct {
		Schemas         map[string]*jsonschema.Schema `json:"schemas"`
		SecuritySchemes map[string]securityScheme     `json:"securitySchemes"`
	}
	securityScheme struct {
		Type        string `json:"type"`
		In          string `json:"in"`
		Name        string `json:"name"`
		Description string `json:"description"`
	}
)

// ComponentRef is the prefix of references to the component schemas of the OpenAPI document.
const ComponentRef = "#/components/schemas/"

// apiTypes are the request and response bodies of the API, reflected into the component schemas.
var apiTypes = []any{
	contracts.CreateOrderRequest{}, contracts.Order{}, contracts.OrderList{}, contracts.EventList{},
	contracts.InventoryList{}, contracts.InventoryItem{}, contracts.PutInventoryRequest{},
	contracts.ChatRequest{}, contracts.ChatResponse{}, contracts.Health{}, contracts.ErrorBody{},
	registry.SchemaList{}, registry.SchemaDescription{},
	contracts.TextList{}, contracts.DeadLetterList{}, contracts.RedriveRequest{}, contracts.RedriveResult{},
	contracts.LiveSnapshot{}, contracts.LiveEvent{}, contracts.ChatTrace{}, contracts.SubscriptionList{},
}

// openAPIDocument is the OpenAPI 3 description of the REST API.
func (g *generator) openAPIDocument() (*openAPI, error) {
	defs := map[string]*jsonschema.Schema{}
	r := g.reflector(false)
	for _, v := range apiTypes {
		for name, d := range r.Reflect(v).Definitions {
			defs[name] = d
		}
	}
	// An event in GET /orders/{orderId}/events carries any of the details.
	var details []*jsonschema.Schema
	seen := map[reflect.Type]bool{}
	for _, e := range Events {
		t := reflect.TypeOf(e.Detail)
		if seen[t] {
			continue
		}
		seen[t] = true
		for name, d := range r.Reflect(e.Detail).Definitions {
			defs[name] = d
		}
		details = append(details, &jsonschema.Schema{Ref: "#/$defs/" + t.Name()})
	}
	ev, ok := defs["Event"]
	if !ok {
		return nil, fmt.Errorf("openapi: contracts.Event is not reachable from the API types")
	}
	ev.Properties.Set("detail", &jsonschema.Schema{AnyOf: details, Description: ev.Properties.Value("detail").Description})
	g.applyRules(defs)
	for _, d := range defs {
		rewrite(d, "#/$defs/", ComponentRef)
	}

	example, err := ExampleOrder()
	if err != nil {
		return nil, err
	}
	view := example.View()
	noAuth := &[]map[string][]string{}
	ref := func(name string) *jsonschema.Schema { return &jsonschema.Schema{Ref: ComponentRef + name} }
	jsonBody := func(name string, example any) *requestBody {
		return &requestBody{Required: true, Content: map[string]mediaType{"application/json": {Schema: ref(name), Example: example}}}
	}
	ok200 := func(desc, name string, example any) map[string]*response {
		return map[string]*response{"200": {Description: desc,
			Content: map[string]mediaType{"application/json": {Schema: ref(name), Example: example}}}}
	}
	str := func() *jsonschema.Schema { return &jsonschema.Schema{Type: "string"} }
	// strMax is a string of at most n characters: the limits of contracts/limits.go, as in the bodies.
	strMax := func(n int) *jsonschema.Schema {
		max := uint64(n)
		return &jsonschema.Schema{Type: "string", MaxLength: &max}
	}
	orderID := parameter{Name: "orderId", In: "path", Required: true, Description: "The order's id.", Schema: strMax(contracts.MaxOrderIDLength)}
	productID := parameter{Name: "productId", In: "path", Required: true, Description: "The product's catalog id, e.g. LAPTOP001.", Schema: strMax(contracts.MaxProductIDLength)}

	paths := map[string]map[string]*operation{
		"/orders": {
			"post": {OperationID: "createOrder", Tags: []string{"orders"}, Summary: "Place an order",
				Description: "Accepts the order (PENDING) and queues it for the pipeline. Retrying with the same Idempotency-Key and body returns the same order; the same key with another body is refused.",
				Parameters:  []parameter{{Name: "Idempotency-Key", In: "header", Description: "Makes retries safe: requests with the same key create one order. Printable ASCII without spaces.", Schema: strMax(contracts.MaxIdempotencyKeyLength)}},
				RequestBody: jsonBody("CreateOrderRequest", createOrderExample(view)),
				Responses: errs(map[string]*response{"201": {Description: "The order was accepted.",
					Headers: map[string]header{"Location": {Description: "The order's URL, /orders/{orderId}.", Schema: str()}},
					Content: map[string]mediaType{"application/json": {Schema: ref("Order"), Example: view}}}},
					400, 413, 415, 422)},
			"get": {OperationID: "listOrders", Tags: []string{"orders"}, Summary: "List a customer's orders, newest first, or find one by its reference",
				Parameters: []parameter{
					{Name: "customerId", In: "query", Required: true, Description: "The customer whose orders to list.", Schema: strMax(contracts.MaxCustomerIDLength)},
					{Name: "limit", In: "query", Description: "The page size.", Schema: &jsonschema.Schema{Type: "integer", Minimum: "1"}},
					{Name: "cursor", In: "query", Description: "The nextCursor of the previous page.", Schema: str()},
					{Name: "reference", In: "query", Description: "Finds the customer's order with this reference, e.g. 7K3M-Q9TX " +
						"(case-insensitive, the dash optional; O reads as 0, I and L as 1): the page then holds that order, or " +
						"none when the customer has no order with it (another customer's order is not shown). Not combined with cursor.",
						Schema: &jsonschema.Schema{Type: "string", Pattern: "^[0-9A-Za-z]{4}-?[0-9A-Za-z]{4}$"}},
				},
				Responses: errs(ok200("A page of orders.", "OrderList", nil), 400)},
		},
		"/orders/{orderId}": {
			"get": {OperationID: "getOrder", Tags: []string{"orders"}, Summary: "Get an order", Parameters: []parameter{orderID},
				Responses: errs(ok200("The order.", "Order", view), 400, 404)},
		},
		"/orders/{orderId}/cancel": {
			"post": {OperationID: "cancelOrder", Tags: []string{"orders"}, Summary: "Cancel an order",
				Description: "Possible until the order reaches FULFILLMENT; 409 CONFLICT afterwards or when it failed.",
				Parameters:  []parameter{orderID},
				Responses:   errs(ok200("The cancelled order.", "Order", nil), 400, 404, 409)},
		},
		"/orders/{orderId}/events": {
			"get": {OperationID: "listOrderEvents", Tags: []string{"orders"}, Summary: "List the events published about an order, oldest first",
				Parameters: []parameter{orderID},
				Responses:  errs(ok200("The order's events, in the EventBridge envelope.", "EventList", nil), 400, 404)},
		},
		"/inventory": {
			"get": {OperationID: "listInventory", Tags: []string{"inventory"}, Summary: "List the catalog with its stock, by product id (admin)",
				Parameters: []parameter{
					{Name: "limit", In: "query", Description: "The page size (default: the whole catalog, as far as one response holds it).",
						Schema: &jsonschema.Schema{Type: "integer", Minimum: "1", Maximum: json.Number(strconv.Itoa(contracts.MaxInventoryPage))}},
					{Name: "cursor", In: "query", Description: "The nextCursor of the previous page.", Schema: str()},
				},
				Responses: errs(ok200("A page of the catalog.", "InventoryList", nil), 400)},
		},
		"/inventory/{productId}": {
			"get": {OperationID: "getInventoryItem", Tags: []string{"inventory"}, Summary: "Get a product with its stock (admin)",
				Parameters: []parameter{productID},
				Responses:  errs(withETag(ok200("The product.", "InventoryItem", nil)), 400, 404)},
			"put": {OperationID: "putInventoryItem", Tags: []string{"inventory"}, Summary: "Create or replace a product and its stock (admin)",
				Description: "With If-Match (the ETag of a GET) the product is replaced only if nothing changed it since, stock reserved by orders included; otherwise 412.",
				Parameters: []parameter{productID, {Name: "If-Match", In: "header",
					Description: "The ETag the product had when it was read: refuses the write if it changed since (* : if it exists).", Schema: str()},
					{Name: "If-None-Match", In: "header", Description: "*: create the product only if there is none with this id; 412 otherwise.",
						Schema: &jsonschema.Schema{Type: "string", Enum: []any{"*"}}}},
				RequestBody: jsonBody("PutInventoryRequest", map[string]any{"name": "Ultrabook 14", "price": 1299.99, "available": 25}),
				Responses:   errs(withETag(ok200("The product as stored.", "InventoryItem", nil)), 400, 412, 413, 415)},
		},
		"/chatbot": {
			"post": {OperationID: "chat", Tags: []string{"chatbot"}, Summary: "Ask the chatbot about orders",
				Description: "The chatbot only ever sees the orders of customerId.",
				RequestBody: jsonBody("ChatRequest", map[string]any{"query": "Where is my laptop?", "customerId": view.CustomerID}),
				Responses:   errs(ok200("The chatbot's answer.", "ChatResponse", nil), 400, 413, 415)},
		},
		"/schemas": {
			"get": {OperationID: "listSchemas", Tags: []string{"schemas"}, Summary: "List the event schemas with their versions",
				Description: "Shaped like ListSchemas of the EventBridge Schemas API.",
				Parameters:  []parameter{{Name: "schemaNamePrefix", In: "query", Description: "Only schemas whose name starts with this.", Schema: str()}},
				Responses:   errs(ok200("The schemas.", "SchemaList", nil))},
		},
		"/schemas/{name}": {
			"get": {OperationID: "describeSchema", Tags: []string{"schemas"}, Summary: "Get an event schema",
				Description: "Shaped like DescribeSchema of the EventBridge Schemas API; the latest version unless version is given.",
				Parameters: []parameter{
					{Name: "name", In: "path", Required: true, Description: "The schema name, <source>@<DetailType>.", Schema: str()},
					{Name: "version", In: "query", Description: "The version, major.minor.", Schema: str()},
				},
				Responses: errs(ok200("The schema.", "SchemaDescription", nil), 404)},
		},
		"/admin/orders": {
			"get": {OperationID: "searchOrders", Tags: []string{"admin"}, Summary: "Find orders of any customer, newest first (admin)",
				Description: "status and customerId combine; reference finds that one order, whoever's it is. A search by status alone scans the orders newest first.",
				Parameters: []parameter{
					{Name: "status", In: "query", Description: "Only orders in this status.", Schema: &jsonschema.Schema{Type: "string", Enum: toAny(enumRules()["Order.status"])}},
					{Name: "customerId", In: "query", Description: "Only this customer's orders.", Schema: strMax(contracts.MaxCustomerIDLength)},
					{Name: "reference", In: "query", Description: "The order with this reference, e.g. 7K3M-Q9TX (any case, the dash optional). Not combined with cursor.",
						Schema: &jsonschema.Schema{Type: "string", Pattern: "^[0-9A-Za-z]{4}-?[0-9A-Za-z]{4}$"}},
					{Name: "limit", In: "query", Description: "The page size, 1 to 100 (default 20).", Schema: &jsonschema.Schema{Type: "integer", Minimum: "1", Maximum: "100"}},
					{Name: "cursor", In: "query", Description: "The nextCursor of the previous page.", Schema: str()},
				},
				Responses: errs(ok200("A page of orders.", "OrderList", nil), 400)},
		},
		"/admin/orders/{orderId}/texts": {
			"get": {OperationID: "listOrderTexts", Tags: []string{"admin"}, Summary: "List the SMS texts sent about an order, oldest first (admin)",
				Parameters: []parameter{orderID},
				Responses:  errs(ok200("The texts.", "TextList", nil), 404)},
		},
		"/admin/dead-letters": {
			"get": {OperationID: "listDeadLetters", Tags: []string{"admin"}, Summary: "List the dead letters, oldest first (admin)",
				Parameters: []parameter{{Name: "limit", In: "query", Description: "At most this many, 1 to 1000 (default 100).",
					Schema: &jsonschema.Schema{Type: "integer", Minimum: "1", Maximum: "1000"}}},
				Responses: errs(ok200("The dead letters and how many there are.", "DeadLetterList", nil), 400)},
		},
		"/admin/dead-letters/redrive": {
			"post": {OperationID: "redriveDeadLetters", Tags: []string{"admin"}, Summary: "Send dead letters back to delivery (admin)",
				Description: "Either ids or all; the messages are delivered again from their first attempt, as orderflow dlq redrive does.",
				RequestBody: jsonBody("RedriveRequest", map[string]any{"ids": []int{3, 4}}),
				Responses:   errs(ok200("How many went back to delivery.", "RedriveResult", nil), 400, 413, 415)},
		},
		"/admin/live": {
			"get": {OperationID: "liveSnapshot", Tags: []string{"admin"}, Summary: "The pipeline right now (admin)",
				Responses: errs(ok200("Orders per status, the last minutes per second, failures and dead letters.", "LiveSnapshot", nil))},
		},
		"/admin/live/stream": {
			"get": {OperationID: "liveStream", Tags: []string{"admin"}, Summary: "The pipeline live, as Server-Sent Events (admin)",
				Description: "event: snapshot carries a LiveSnapshot, at once and then every second; event: event carries a LiveEvent for every event the server publishes (a slow reader may miss some; the snapshots stay complete).",
				Responses: errs(map[string]*response{"200": {Description: "The stream, until the client or the server ends it.",
					Content: map[string]mediaType{"text/event-stream": {Schema: &jsonschema.Schema{Type: "string",
						Description: "Events named snapshot (data: LiveSnapshot) and event (data: LiveEvent)."}}}}})},
		},
		"/admin/chatbot": {
			"post": {OperationID: "traceChat", Tags: []string{"admin"}, Summary: "Ask the chatbot as a customer, with the tool calls it made (admin)",
				RequestBody: jsonBody("ChatRequest", map[string]any{"query": "Where is my order?", "customerId": view.CustomerID}),
				Responses:   errs(ok200("The answer and the tool calls.", "ChatTrace", nil), 400, 413, 415)},
		},
		"/admin/subscriptions": {
			"get": {OperationID: "listSubscriptions", Tags: []string{"admin"}, Summary: "The webhook subscriptions with their recent deliveries (admin)",
				Responses: errs(ok200("The subscriptions.", "SubscriptionList", nil))},
		},
		"/healthz": {
			"get": {OperationID: "health", Tags: []string{"operations"}, Summary: "Liveness check", Security: noAuth,
				Responses: map[string]*response{"200": {Description: "The service is up.",
					Content: map[string]mediaType{"application/json": {Schema: ref("Health")}}}}},
		},
		"/metrics": {
			"get": {OperationID: "metrics", Tags: []string{"operations"}, Summary: "Metrics in the Prometheus text format",
				Responses: errs(map[string]*response{"200": {Description: "The metrics.",
					Content: map[string]mediaType{"text/plain": {Schema: str()}}}})},
		},
	}
	return &openAPI{
		OpenAPI: OpenAPIVersion,
		Info: apiInfo{Title: "orderflow API", Version: contracts.SchemaVersion,
			Description: "The REST API of orderflow: place, follow and cancel orders, administer the catalog, ask the chatbot, read the event schemas, and run the shop from the operations console. Generated from the Go types in contracts; do not edit."},
		Security: []map[string][]string{{"apiKey": {}}},
		Tags: []apiTag{
			{"orders", "Orders and their events."}, {"inventory", "The catalog and its stock; needs an admin key."},
			{"chatbot", "The chatbot that answers questions about orders."}, {"schemas", "The event schema registry."},
			{"admin", "The operations console's endpoints; need an admin key."},
			{"operations", "Health and metrics."},
		},
		Paths: paths,
		Components: components{Schemas: defs, SecuritySchemes: map[string]securityScheme{
			"apiKey": {Type: "apiKey", In: "header", Name: "X-API-Key", Description: "The API key; the inventory endpoints need an admin key."},
		}},
	}, nil
}

// errorDescriptions says which error codes come with each status.
var errorDescriptions = map[int]string{
	400: "VALIDATION_FAILED (details lists the problems field by field) or INVALID_JSON.",
	403: "FORBIDDEN: the X-API-Key header is missing or wrong, or the endpoint needs an admin key.",
	404: "NOT_FOUND.",
	409: "CONFLICT: the order is not in a status that allows this.",
	412: "PRECONDITION_FAILED: the product changed since the ETag in If-Match was read; read it again.",
	413: "PAYLOAD_TOO_LARGE.",
	415: "UNSUPPORTED_MEDIA_TYPE: the body must be application/json.",
	422: "IDEMPOTENCY_KEY_REUSED: the Idempotency-Key was used with another body.",
	429: "RATE_LIMITED: wait for Retry-After seconds.",
	500: "INTERNAL.",
}

// errs adds the error responses for the given statuses, and those every endpoint with a key may give:
// 403, 429, 500 and, for anything else (e.g. 503 UNAVAILABLE), the error body as default.
func errs(ok map[string]*response, statuses ...int) map[string]*response {
	body := map[string]mediaType{"application/json": {Schema: &jsonschema.Schema{Ref: ComponentRef + "ErrorBody"}}}
	for _, s := range append(statuses, http.StatusForbidden, http.StatusTooManyRequests, http.StatusInternalServerError) {
		r := &response{Description: errorDescriptions[s], Content: body}
		if s == http.StatusTooManyRequests {
			r.Headers = map[string]header{"Retry-After": {Description: "Seconds to wait before retrying.", Schema: &jsonschema.Schema{Type: "integer"}}}
		}
		ok[strconv.Itoa(s)] = r
	}
	ok["default"] = &response{Description: "Any other error, e.g. 503 UNAVAILABLE.", Content: body}
	return ok
}

// withETag documents the ETag header of a 200 response.
func withETag(rs map[string]*response) map[string]*response {
	rs["200"].Headers = map[string]header{"ETag": {Description: "The product's current state; send it back in If-Match.", Schema: &jsonschema.Schema{Type: "string"}}}
	return rs
}

// createOrderExample is the request that would create the example order.
func createOrderExample(o contracts.Order) map[string]any {
	var items []map[string]any
	for _, it := range o.Items {
		items = append(items, map[string]any{"productId": it.ProductID, "name": it.Name, "quantity": it.Quantity, "price": it.Price})
	}
	return map[string]any{"customerId": o.CustomerID, "items": items, "totalAmount": o.TotalAmount,
		"currency": o.Currency, "customerEmail": o.CustomerEmail, "customerPhone": o.CustomerPhone,
		"paymentToken": "tok_visa_4242", "shippingAddress": o.ShippingAddress}
}
