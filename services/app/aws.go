package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awseventbridge "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/orderflow/orderflow/agent"
	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/apigateway"
	"github.com/orderflow/orderflow/services/adapters/carriersim"
	"github.com/orderflow/orderflow/services/adapters/dynamodb"
	"github.com/orderflow/orderflow/services/adapters/emf"
	"github.com/orderflow/orderflow/services/adapters/eventbridge"
	"github.com/orderflow/orderflow/services/adapters/paysim"
	"github.com/orderflow/orderflow/services/adapters/sns"
	"github.com/orderflow/orderflow/services/adapters/sqs"
	"github.com/orderflow/orderflow/services/notifier"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
	"github.com/orderflow/orderflow/services/routing"
)

// AWS is one deployment of orderflow on AWS, as a function sees it: the AWS configuration its clients
// are built from (loaded by the function's main with config.LoadDefaultConfig, so that AWS_REGION and
// AWS_ENDPOINT_URL[_<SERVICE>] apply) and the names of the resources it uses. A function leaves the
// names of resources it does not use empty; its IAM role could not reach them anyway.
type AWS struct {
	// Config is the AWS configuration of every client.
	Config aws.Config
	// Tables are the DynamoDB table names.
	Tables dynamodb.TableNames
	// QueueURL is the ingest queue (ORDER_QUEUE_URL).
	QueueURL string
	// EventBus is the custom event bus's name (EVENT_BUS_NAME).
	EventBus string
	// MaxEventSize is the largest PutEvents entry in bytes (0: EventBridge's default 256 KiB).
	MaxEventSize int
	// TopicARN is the operations topic that texts without a phone number go to (SNS_TOPIC_ARN).
	TopicARN string
	// ModelID is the Bedrock model of the chatbot ("" or OfflineModel: the offline responder only).
	ModelID string
	// API builds the REST API (app.BuildAPI) for the functions behind API Gateway; nil for the others,
	// which then link none of it.
	API func(cfg HTTPConfig, a Adapters, app *App) (http.Handler, error)
	// NewModel makes the chatbot's model for ModelID (the chatbot passes the Bedrock adapter's
	// constructor; other functions leave it nil and do not link the Bedrock client).
	NewModel func(cfg aws.Config, modelID string) (agent.Model, error)
	// AdminKeyIDs are the API Gateway API key ids of admins (ADMIN_API_KEY_IDS).
	AdminKeyIDs []string
	// DedupLease is how long the notifier's and the metrics function's claim on an event holds off other
	// deliveries of it (0: dynamodb.DefaultClaimLease); it must be shorter than Lambda's retry delay.
	DedupLease time.Duration
	// DedupRetention is how long they remember an event they handled (0: dynamodb.DefaultDedupRetention);
	// at least as long as events can be replayed to them.
	DedupRetention time.Duration
	// Metrics is where CloudWatch EMF lines are written (os.Stdout on Lambda; nil: no EMF).
	Metrics io.Writer
	// MetricsNamespace is the CloudWatch namespace of those metrics (METRICS_NAMESPACE; "":
	// emf.DefaultNamespace).
	MetricsNamespace string
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// DefaultCancelFollowUp is the delay of a cancel's follow-up on AWS: long enough for the cancel's own
// publish to have happened in all but a crash, short enough that stock comes back soon after one.
const DefaultCancelFollowUp = 30 * time.Second

// OfflineModel as the model id makes the chatbot answer with the offline responder, without Bedrock
// (a region or account without Bedrock access, or the emulators).
const OfflineModel = "offline"

// AWSApp is the application wired with AWS adapters.
type AWSApp struct {
	*App
	// EMF is the metrics sink; flush it at the end of every invocation (nil when AWS.Metrics is nil).
	EMF *emf.Logger
	// Orders is the order store as the stages use it: DynamoDB, then EventBridge.
	Orders OrderStore
}

// NewAWS builds the application from AWS adapters: DynamoDB for every store, SQS for the ingest queue,
// EventBridge for the bus, SNS for texts, EMF for metrics, Bedrock for the chatbot. Building makes no
// AWS call. cfg is the behaviour shared with the local runtime; its HTTP keys and rate limit are
// replaced: on AWS, API Gateway checks API keys and throttles per usage plan, and the function names the
// caller by the API key id.
func NewAWS(cfg Config, a AWS) (*AWSApp, error) {
	if a.Logger == nil {
		a.Logger = slog.Default()
	}
	if a.Now == nil {
		a.Now = time.Now
	}
	ddb := awsdynamodb.NewFromConfig(a.Config)
	recorded := dynamodb.NewOrders(ddb, a.Tables.Orders, a.Tables.Idempotency, dynamodb.OrdersOptions{Now: a.Now})
	var busOpts []eventbridge.Option
	if a.MaxEventSize > 0 {
		busOpts = append(busOpts, eventbridge.WithMaxSize(a.MaxEventSize))
	}
	bus := eventbridge.New(awseventbridge.NewFromConfig(a.Config), a.EventBus, busOpts...)
	orders := &busOrders{recordingStore: recorded, bus: bus}
	var sink *emf.Logger
	ad := Adapters{
		Orders: orders, Queue: sqs.NewQueue(awssqs.NewFromConfig(a.Config), a.QueueURL), Publisher: orders,
		Inventory: dynamodb.NewInventory(ddb, a.Tables.Inventory),
		Gateway:   paysim.New(dynamodb.NewLedger(ddb, a.Tables.Payments)),
		Carrier:   carriersim.Carrier{},
		SMS:       sns.New(awssns.NewFromConfig(a.Config), a.TopicARN),
		Deduper:   dynamodb.NewDeduper(ddb, a.Tables.Dedup, dynamodb.DeduperOptions{Now: a.Now, Lease: a.DedupLease, Retention: a.DedupRetention}),
		Sessions:  dynamodb.NewSessions(ddb, a.Tables.Sessions, dynamodb.SessionsOptions{}),
		Now:       a.Now, Logger: a.Logger, API: a.API,
	}
	if a.Metrics != nil {
		// The order failure rate alarm divides the totals of failed by created orders.
		sink = emf.New(a.Metrics, emf.Options{Namespace: a.MetricsNamespace, Now: a.Now, Totals: []string{"orderflow_orders_created_total", "orderflow_orders_failed_total"}})
		ad.MetricsSink = sink
	}
	if a.ModelID != "" && a.ModelID != OfflineModel && a.NewModel != nil {
		m, err := a.NewModel(a.Config, a.ModelID)
		if err != nil {
			return nil, fmt.Errorf("bedrock model %s: %w", a.ModelID, err)
		}
		ad.Model = m
	}
	if cfg.Envelope == (pipeline.Envelope{}) {
		// EventBridge stamps the real account and region on every event; these fill the envelope of the
		// events as recorded with the order.
		cfg.Envelope = pipeline.Envelope{Account: "000000000000", Region: a.Config.Region}
	}
	// The cancel's write and its publish are two steps here: a delayed follow-up covers a crash between.
	if cfg.CancelFollowUp <= 0 {
		cfg.CancelFollowUp = DefaultCancelFollowUp
	}
	// Texts of orders without a phone go to the operations topic when no operations number is set.
	cfg.TextsWithoutNumber = a.TopicARN != ""
	cfg.HTTP.ClientKeys, cfg.HTTP.AdminKeys = nil, nil
	cfg.HTTP.Identify = apigateway.Identify(a.AdminKeyIDs)
	cfg.HTTP.Rate, cfg.HTTP.Burst = 0, 0
	app, err := New(cfg, ad)
	if err != nil {
		return nil, err
	}
	// Locally the metrics subscriber is fed in memory, once per event id; on AWS it is a function that
	// EventBridge may invoke twice for one event, and whose instances share no memory.
	app.Handlers[routing.Metrics] = notifier.Once(ad.Deduper, routing.Metrics, app.Handlers[routing.Metrics])
	return &AWSApp{App: app, EMF: sink, Orders: orders}, nil
}

// recordingStore is the DynamoDB order store: Publish records events with their order.
type recordingStore interface {
	OrderStore
	pipeline.Publisher
}

// busOrders is the order store of the AWS runtime: the events an Update returns are written with the
// order in one transaction and then put on EventBridge. DynamoDB and EventBridge share no transaction,
// so a failure (or a crash) between the two leaves the order moved on and its event unpublished; the
// error makes the delivery fail, Lambda (or SQS) delivers the triggering event again, and the stage,
// finding its transition already done, publishes its result event again (pipeline.Advance, correctness
// rule 3). Consumers deduplicate by detail.eventId.
type busOrders struct {
	recordingStore
	bus pipeline.Publisher
}

// Update stores the change and its events, then publishes the events.
func (s *busOrders) Update(ctx context.Context, id string, fn func(o *order.Order) ([]contracts.Event, error)) (*order.Order, error) {
	var emitted []contracts.Event
	o, err := s.recordingStore.Update(ctx, id, func(o *order.Order) ([]contracts.Event, error) {
		evs, err := fn(o)
		emitted = evs // Update may run fn more than once: keep the events of the attempt that was stored
		return evs, err
	})
	if err != nil {
		return o, err
	}
	if len(emitted) > 0 {
		if err := s.bus.Publish(ctx, emitted...); err != nil {
			return o, fmt.Errorf("order %s: %w: %w", id, pipeline.ErrNotPublished, err)
		}
	}
	return o, nil
}

// Publish records the events with their order and puts them on the bus.
func (s *busOrders) Publish(ctx context.Context, events ...contracts.Event) error {
	if err := s.recordingStore.Publish(ctx, events...); err != nil {
		return err
	}
	return s.bus.Publish(ctx, events...)
}

// Compile-time checks of the adapters the AWS runtime is built from.
var (
	_ OrderStore         = (*busOrders)(nil)
	_ pipeline.Publisher = (*busOrders)(nil)
	_ agent.SessionStore = (*dynamodb.Sessions)(nil)
)
