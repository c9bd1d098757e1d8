// Package lambdas describes orderflow's AWS Lambda functions as data: their names, the environment each
// reads, the resources each touches and the event source each may publish under. The Lambda entrypoints
// in cmd/lambda read their environment by these names, and the CDK app in infra/ builds each function,
// its environment and its least-privilege permissions from the same table, so the two cannot drift.
package lambdas

import (
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/routing"
)

// Environment variables the functions read. The first five are the names the seed system used.
const (
	EnvOrdersTable      = "ORDERS_TABLE_NAME"
	EnvOrderQueueURL    = "ORDER_QUEUE_URL"
	EnvBedrockModelID   = "BEDROCK_MODEL_ID"
	EnvSNSTopicARN      = "SNS_TOPIC_ARN"
	EnvEventBusName     = "EVENT_BUS_NAME"
	EnvIdempotencyTable = "IDEMPOTENCY_TABLE_NAME"
	EnvInventoryTable   = "INVENTORY_TABLE_NAME"
	EnvPaymentsTable    = "PAYMENTS_TABLE_NAME"
	EnvDedupTable       = "DEDUP_TABLE_NAME"
	EnvSessionsTable    = "SESSIONS_TABLE_NAME"
	// EnvAdminAPIKeyIDs is a comma-separated list of API Gateway API key ids whose callers are admins.
	EnvAdminAPIKeyIDs = "ADMIN_API_KEY_IDS"
	// EnvOperationsPhone is the E.164 number that receives texts of orders without a customer phone
	// (optional; without it such texts go to the SNS topic).
	EnvOperationsPhone = "OPERATIONS_PHONE"
	// EnvMaxEventSize is the largest PutEvents entry in bytes (optional, default 262144).
	EnvMaxEventSize = "MAX_EVENT_SIZE"
	// EnvOrderLimit is the largest order total validation accepts, as a decimal amount such as 50000.00
	// (optional).
	EnvOrderLimit = "ORDER_LIMIT"
	// EnvAPIBasePath is the base path of a custom domain mapping, stripped before routing (optional).
	EnvAPIBasePath = "API_BASE_PATH"
	// EnvLogLevel sets the functions' log level: debug, info (default), warn or error (optional).
	EnvLogLevel = "LOG_LEVEL"
	// EnvCancelFollowUp is the delay of a cancel's follow-up on the ingest queue, as a Go duration (optional,
	// default 30s, at most 15m): it publishes OrderCancelled again should the cancel's own publish not happen.
	EnvCancelFollowUp = "CANCEL_FOLLOW_UP"
	// EnvDedupLease is how long the notifier's and the metrics function's claim on an event holds off
	// other deliveries of it, as a Go duration (optional, default 30s; keep it below Lambda's retry delay).
	EnvDedupLease = "DEDUP_LEASE"
	// EnvDedupRetention is how long the notifier and the metrics function remember an event they handled,
	// as a Go duration (optional, default 360h, 15 days). The CDK app sets it to a day longer than the
	// bus's archive or a dead-letter queue keeps events, whichever is longer, so that a replay from the
	// archive or a redriven dead letter texts and counts nothing twice.
	EnvDedupRetention = "DEDUP_RETENTION"
	// EnvMetricsNamespace is the CloudWatch namespace of the functions' EMF metrics (optional, default
	// "Orderflow"). The CDK app sets it to the stack's name, so that two copies of the stack in one
	// account and region keep their metrics, alarms and dashboards apart.
	EnvMetricsNamespace = "METRICS_NAMESPACE"
	// EnvReconcileGrace is how long an order may stay PENDING before the reconciler re-queues it, as a Go
	// duration such as 2m (optional, default 1m).
	EnvReconcileGrace = "RECONCILE_GRACE"
)

// MaxEventSizeLimit is the largest EnvMaxEventSize a function takes: 1 MiB, EventBridge's limit for one
// PutEvents call since 2026.
const MaxEventSizeLimit = 1 << 20

// Table is one DynamoDB table of the AWS runtime.
type Table struct {
	// Env is the environment variable that carries the table's name.
	Env string
	// ID is the table's logical name in the CDK app.
	ID string
	// SortKey is true when the table has the sort key "sk" (S) besides the partition key "pk" (S).
	SortKey bool
	// TTL names the attribute DynamoDB expires items by ("" for none).
	TTL string
	// Indexes are the global secondary indexes (all with string keys).
	Indexes []Index
}

// Index is a global secondary index.
type Index struct {
	Name, PartitionKey, SortKey string
	// KeysOnly projects only the keys; otherwise every attribute is projected.
	KeysOnly bool
}

// The tables. Every key attribute is a string; see services/adapters/dynamodb for the item layouts.
var (
	OrdersTable = Table{Env: EnvOrdersTable, ID: "Orders", SortKey: true, Indexes: []Index{
		// A customer's orders, newest first.
		{Name: "byCustomer", PartitionKey: "gsi1pk", SortKey: "gsi1sk"},
		// Sparse: only orders still PENDING carry these attributes, oldest first, for the reconciler.
		{Name: "pendingByAge", PartitionKey: "pendingPk", SortKey: "pendingSk", KeysOnly: true},
	}}
	IdempotencyTable = Table{Env: EnvIdempotencyTable, ID: "Idempotency", TTL: "expiresAt"}
	InventoryTable   = Table{Env: EnvInventoryTable, ID: "Inventory", Indexes: []Index{
		// Sparse: only products carry "catalog", so listing the catalog reads no reservation (one per
		// order, kept). Keys only: a change of stock, on every reservation, writes nothing to it.
		{Name: "catalog", PartitionKey: "catalog", SortKey: "productId", KeysOnly: true},
	}}
	PaymentsTable = Table{Env: EnvPaymentsTable, ID: "Payments"}
	DedupTable    = Table{Env: EnvDedupTable, ID: "Dedup", TTL: "expiresAt"}
	SessionsTable = Table{Env: EnvSessionsTable, ID: "Sessions", TTL: "expiresAt"}
	// Tables lists every table.
	Tables = []Table{OrdersTable, IdempotencyTable, InventoryTable, PaymentsTable, DedupTable, SessionsTable}
)

// Access is how a function uses a table.
type Access int

// Table access levels.
const (
	Read Access = iota + 1
	ReadWrite
)

// Trigger is what invokes a function.
type Trigger int

// Triggers.
const (
	// HTTP: API Gateway REST proxy integration.
	HTTP Trigger = iota + 1
	// Queue: the ingest SQS queue, through an event source mapping.
	Queue
	// Bus: the EventBridge rules of routing.Table whose target is the function's name.
	Bus
	// Schedule: an EventBridge Scheduler or rule schedule.
	Schedule
)

// Function is one Lambda function.
type Function struct {
	// Name is the function's name: the folder of its entrypoint (cmd/lambda/<Name>) and of its built
	// bootstrap (dist/lambda/<Name>/bootstrap). For bus consumers it is their routing target.
	Name string
	// Description says what the function does.
	Description string
	// Trigger is what invokes it.
	Trigger Trigger
	// Tables are the tables it uses, by the environment variable of their name, and how.
	Tables map[string]Access
	// SendsToQueue: it sends to the ingest queue (ORDER_QUEUE_URL).
	SendsToQueue bool
	// PublishesAs is the event source it may put events on the bus under ("" for none); it gets
	// EVENT_BUS_NAME and events:PutEvents limited to this source.
	PublishesAs string
	// TextsCustomers: it publishes SMS through SNS (SNS_TOPIC_ARN, OPERATIONS_PHONE).
	TextsCustomers bool
	// InvokesModel: it calls Bedrock Converse (BEDROCK_MODEL_ID).
	InvokesModel bool
	// AdminKeys: it tells admin API keys from client keys (ADMIN_API_KEY_IDS).
	AdminKeys bool
	// Timeout is how long one invocation may run (0: DefaultTimeout). The ingest queue's visibility
	// timeout is derived from the dispatcher's.
	Timeout time.Duration
	// MemoryMB is the function's memory size (0: DefaultMemoryMB); the CDK context "memory" overrides it.
	MemoryMB int
}

// Defaults for Function.Timeout and Function.MemoryMB.
const (
	DefaultTimeout  = 30 * time.Second
	DefaultMemoryMB = 256
)

// Env returns the environment variables the function requires, in a stable order.
func (f Function) Env() []string {
	var out []string
	for _, t := range Tables {
		if _, ok := f.Tables[t.Env]; ok {
			out = append(out, t.Env)
		}
	}
	if f.SendsToQueue {
		out = append(out, EnvOrderQueueURL)
	}
	if f.PublishesAs != "" {
		out = append(out, EnvEventBusName)
	}
	if f.TextsCustomers {
		out = append(out, EnvSNSTopicARN)
	}
	if f.InvokesModel {
		out = append(out, EnvBedrockModelID)
	}
	if f.AdminKeys {
		out = append(out, EnvAdminAPIKeyIDs)
	}
	return out
}

// Function names that are not routing targets.
const (
	API        = "api"
	Chatbot    = "chatbot"
	Reconciler = "reconciler"
)

// Functions is every Lambda function of the AWS runtime.
var Functions = []Function{
	{Name: API, Description: "the REST API (every route but /chatbot) behind API Gateway", Trigger: HTTP,
		Tables:       map[string]Access{EnvOrdersTable: ReadWrite, EnvIdempotencyTable: ReadWrite, EnvInventoryTable: ReadWrite},
		SendsToQueue: true, PublishesAs: contracts.SourceOrders, AdminKeys: true,
		// API Gateway gives up on an integration after 29 s; more memory is more CPU for request latency.
		Timeout: 15 * time.Second, MemoryMB: 512},
	{Name: Chatbot, Description: "POST /chatbot: the order assistant on Bedrock Converse", Trigger: HTTP,
		Tables: map[string]Access{EnvOrdersTable: Read, EnvSessionsTable: ReadWrite}, InvokesModel: true,
		// A conversation turn may take several model round trips; API Gateway waits at most 29 s.
		Timeout: 28 * time.Second},
	{Name: routing.Dispatcher, Description: "takes accepted orders off the ingest queue and emits OrderCreated", Trigger: Queue,
		Tables: map[string]Access{EnvOrdersTable: ReadWrite}, PublishesAs: contracts.SourceOrders},
	{Name: routing.Validation, Description: "validates new orders against the catalog", Trigger: Bus,
		Tables: map[string]Access{EnvOrdersTable: ReadWrite, EnvInventoryTable: Read}, PublishesAs: contracts.SourceValidation},
	{Name: routing.InventoryReserve, Description: "reserves stock for validated orders", Trigger: Bus,
		Tables: map[string]Access{EnvOrdersTable: ReadWrite, EnvInventoryTable: ReadWrite}, PublishesAs: contracts.SourceInventory},
	{Name: routing.InventoryRelease, Description: "releases the stock of failed and cancelled orders", Trigger: Bus,
		Tables: map[string]Access{EnvOrdersTable: ReadWrite, EnvInventoryTable: ReadWrite}, PublishesAs: contracts.SourceInventory},
	{Name: routing.PaymentAuthorize, Description: "authorizes payment once stock is held", Trigger: Bus,
		Tables: map[string]Access{EnvOrdersTable: ReadWrite, EnvPaymentsTable: ReadWrite}, PublishesAs: contracts.SourcePayment},
	{Name: routing.PaymentVoid, Description: "voids the payment of failed and cancelled orders", Trigger: Bus,
		Tables: map[string]Access{EnvOrdersTable: ReadWrite, EnvPaymentsTable: ReadWrite}, PublishesAs: contracts.SourcePayment},
	{Name: routing.Fulfillment, Description: "ships paid orders and captures their payment", Trigger: Bus,
		Tables: map[string]Access{EnvOrdersTable: ReadWrite, EnvPaymentsTable: ReadWrite}, PublishesAs: contracts.SourceFulfillment},
	{Name: routing.Notifier, Description: "texts customers when an order is created, completed or failed", Trigger: Bus,
		Tables: map[string]Access{EnvDedupTable: ReadWrite}, TextsCustomers: true},
	{Name: routing.Metrics, Description: "turns order events into CloudWatch metrics (EMF)", Trigger: Bus,
		Tables: map[string]Access{EnvOrdersTable: Read, EnvDedupTable: ReadWrite}},
	{Name: Reconciler, Description: "re-queues orders left PENDING past the grace period", Trigger: Schedule,
		Tables: map[string]Access{EnvOrdersTable: Read}, SendsToQueue: true, Timeout: 2 * time.Minute},
}

// Lookup returns the function named name.
func Lookup(name string) (Function, bool) {
	for _, f := range Functions {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}
