// Package awsbox runs orderflow's AWS runtime on one machine, on emulators: DynamoDB Local for the
// tables and moto for SQS, EventBridge and SNS. Every Lambda function is built from its own environment
// exactly as on AWS (function.New: config.LoadDefaultConfig, app.NewAWS), and invoked with the event
// shapes Lambda delivers, by pumps that do what AWS does around the functions:
//
//   - the SQS event source mapping of the dispatcher: batches of up to 10 records, the records listed in
//     BatchItemFailures left on the queue to reappear after the visibility timeout, the others deleted,
//     and the queue's redrive policy moving a message that keeps failing to its DLQ;
//   - EventBridge: one rule per routing.Table entry on the moto bus, with the same pattern, delivering to
//     a probe queue per function that stands in for the rule's Lambda target;
//   - Lambda's asynchronous invocation of a rule's target: an error is retried (twice by default), and
//     an event that still fails goes to the function's on-failure destination, an SQS queue;
//   - the reconciler's schedule;
//   - API Gateway in front of the api and chatbot functions (apigateway.Local).
//
// It is what `orderflow aws-local` serves and what the AWS end-to-end tests drive.
package awsbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awseventbridge "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/logging"

	"github.com/orderflow/orderflow/services/adapters/apigateway"
	"github.com/orderflow/orderflow/services/adapters/dynamodb"
	"github.com/orderflow/orderflow/services/app"
	"github.com/orderflow/orderflow/services/app/function"
	"github.com/orderflow/orderflow/services/lambdas"
	"github.com/orderflow/orderflow/services/routing"
)

// Credentials and region of the emulators (DynamoDB Local wants an alphanumeric access key).
const (
	Region    = "us-east-1"
	accessKey = "orderflow"
	secretKey = "orderflow"
)

// Options configure a Box. DynamoDBEndpoint and MotoEndpoint are required.
type Options struct {
	// DynamoDBEndpoint is DynamoDB Local's URL, MotoEndpoint moto_server's.
	DynamoDBEndpoint, MotoEndpoint string
	// Prefix starts the name of every resource (default: random), so boxes can share emulators.
	Prefix string
	// Keys are the API keys the gateway accepts (default: one client and one admin key, ClientKey and
	// AdminKey); AdminKeyIDs are the ids of the admin ones.
	Keys        []apigateway.Key
	AdminKeyIDs []string
	// AsyncRetries is how many times Lambda retries a failed asynchronous invocation (default 2, as
	// Lambda's default; -1 for none). RetryDelay is the wait before each retry (default 200ms; Lambda
	// waits about 1 and then 2 minutes).
	AsyncRetries int
	RetryDelay   time.Duration
	// VisibilityTimeout of the ingest queue in seconds (default 2) and MaxReceiveCount of its redrive
	// policy (default 3).
	VisibilityTimeout int32
	MaxReceiveCount   int
	// ReconcileEvery is the reconciler's schedule (default 2s).
	ReconcileEvery time.Duration
	// Env is extra environment for every function (e.g. ORDER_LIMIT, OPERATIONS_PHONE).
	Env map[string]string
	// LoadOptions are added to every function's config.LoadDefaultConfig (e.g. an SDK middleware that
	// counts requests); FunctionLoadOptions, when set, adds a function's own (e.g. injected faults).
	LoadOptions         []func(*config.LoadOptions) error
	FunctionLoadOptions func(function string) []func(*config.LoadOptions) error
	// Tap adds a rule that copies every orderflow event on the bus to a queue of its own, read with
	// Tapped (what another team's subscription would see).
	Tap bool
	// Concurrency is how many invocations of one function run at once (default 8).
	Concurrency int
	// Metrics receives the functions' EMF lines (default: discarded); Logger their logs (default: discarded).
	Metrics io.Writer
	Logger  *slog.Logger
}

// Default keys of a Box.
const (
	ClientKey   = "orderflow-local-client-key"
	AdminKey    = "orderflow-local-admin-key"
	ClientKeyID = "local-client"
	AdminKeyID  = "local-admin"
)

// Box is a running AWS runtime on emulators.
type Box struct {
	// Tables are the DynamoDB tables.
	Tables dynamodb.TableNames
	// QueueURL is the ingest queue, DLQURL its dead-letter queue.
	QueueURL, DLQURL string
	// BusName is the event bus, TopicARN the operations topic.
	BusName, TopicARN string
	// Functions are the Lambda functions, by name.
	Functions map[string]*function.Function
	// Gateway is API Gateway in front of the api and chatbot functions.
	Gateway *apigateway.Local
	// FunctionDLQs are the functions' on-failure destinations, by function name.
	FunctionDLQs map[string]string

	opts   Options
	tap    string
	sqs    *awssqs.Client
	probes map[string]string // probe queue URL by bus target
	log    *slog.Logger

	mu    sync.Mutex
	stats map[string]*Invocations
	trail [trailSize]Step // a ring of the latest invocations, for Trail
	steps int             // invocations noted so far
}

// trailSize is how many of the latest invocations Trail looks through.
const trailSize = 8192

// Step is one invocation of a function about an order.
type Step struct {
	// At is when the invocation ended; Function the function invoked.
	At       time.Time
	Function string
	// DetailType is the event's, or "" for a record of the ingest queue; Attempt counts Lambda's
	// retries of one asynchronous invocation from 1 (a queue record's redeliveries count as new steps).
	DetailType string
	Attempt    int
	// Err is the invocation's error, or, for a queue record, its batch item failure ("" if it succeeded).
	Err string
	// OrderID is the orderId of the event's detail or the record's body.
	OrderID string
}

// String is the step on one line.
func (s Step) String() string {
	what := s.Function
	if s.DetailType != "" {
		what += " ← " + s.DetailType
	}
	if s.Attempt > 1 {
		what += fmt.Sprintf(" (attempt %d)", s.Attempt)
	}
	if s.Err != "" {
		what += ": " + s.Err
	}
	return s.At.Format("15:04:05.000") + " " + what
}

// Invocations counts a function's invocations.
type Invocations struct {
	// Count is the number of invocations, retries included; Failed those that returned an error.
	Count, Failed int
	// Duration is their total handler time.
	Duration time.Duration
	// Records are the records handled (SQS records, events, requests).
	Records int
}

// Start creates the resources on the emulators and builds every function. It sets the process's
// AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL (moto), AWS_REGION and static credentials, which is how
// the functions' config.LoadDefaultConfig finds the emulators, as a deployed function finds AWS: one Box
// per process, or boxes sharing the same emulators.
func Start(ctx context.Context, opts Options) (*Box, error) {
	if opts.DynamoDBEndpoint == "" || opts.MotoEndpoint == "" {
		return nil, errors.New("awsbox: the DynamoDB Local and moto endpoints are required")
	}
	opts = withDefaults(opts)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": opts.DynamoDBEndpoint, "AWS_ENDPOINT_URL": opts.MotoEndpoint,
		"AWS_REGION": Region, "AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secretKey,
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		if err := os.Setenv(k, v); err != nil {
			return nil, fmt.Errorf("set %s: %w", k, err)
		}
	}
	_ = os.Unsetenv("AWS_PROFILE")
	_ = os.Unsetenv("AWS_SESSION_TOKEN")
	b := &Box{
		Tables: dynamodb.TableNamesWithPrefix(opts.Prefix + "-"), Functions: map[string]*function.Function{},
		FunctionDLQs: map[string]string{}, probes: map[string]string{}, opts: opts, log: opts.Logger,
		stats: map[string]*Invocations{},
	}
	moto := staticConfig(opts.MotoEndpoint, opts.Logger)
	b.sqs = awssqs.NewFromConfig(moto)
	ddb := awsdynamodb.NewFromConfig(staticConfig(opts.DynamoDBEndpoint, opts.Logger))
	if err := dynamodb.CreateTables(ctx, ddb, b.Tables); err != nil {
		return nil, fmt.Errorf("create tables: %w", err)
	}
	if err := app.SeedCatalog(ctx, dynamodb.NewInventory(ddb, b.Tables.Inventory)); err != nil {
		return nil, err
	}
	if err := b.createQueues(ctx); err != nil {
		return nil, err
	}
	if err := b.createBus(ctx, awseventbridge.NewFromConfig(moto)); err != nil {
		return nil, err
	}
	topic, err := awssns.NewFromConfig(moto).CreateTopic(ctx, &awssns.CreateTopicInput{Name: aws.String(opts.Prefix + "-operations")})
	if err != nil {
		return nil, fmt.Errorf("create topic: %w", err)
	}
	b.TopicARN = aws.ToString(topic.TopicArn)
	for _, spec := range lambdas.Functions {
		f, err := b.build(ctx, spec)
		if err != nil {
			return nil, err
		}
		b.Functions[spec.Name] = f
	}
	b.Gateway = &apigateway.Local{
		API: b.proxy(lambdas.API), Chatbot: b.proxy(lambdas.Chatbot), Keys: opts.Keys,
	}
	return b, nil
}

func withDefaults(o Options) Options {
	if o.Prefix == "" {
		var r [4]byte
		_, _ = rand.Read(r[:])
		o.Prefix = "of" + hex.EncodeToString(r[:])
	}
	if len(o.Keys) == 0 {
		o.Keys = []apigateway.Key{{ID: ClientKeyID, Value: ClientKey}, {ID: AdminKeyID, Value: AdminKey}}
		o.AdminKeyIDs = []string{AdminKeyID}
	}
	if o.AsyncRetries == 0 {
		o.AsyncRetries = 2
	} else if o.AsyncRetries < 0 {
		o.AsyncRetries = 0
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = 200 * time.Millisecond
	}
	if o.VisibilityTimeout <= 0 {
		o.VisibilityTimeout = 2
	}
	if o.MaxReceiveCount <= 0 {
		o.MaxReceiveCount = 3
	}
	if o.ReconcileEvery <= 0 {
		o.ReconcileEvery = 2 * time.Second
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Metrics == nil {
		o.Metrics = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

func staticConfig(endpoint string, log *slog.Logger) aws.Config {
	return aws.Config{
		Region: Region, BaseEndpoint: aws.String(endpoint), Logger: sdkLogger{log, "box"},
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
	}
}

func (b *Box) createQueues(ctx context.Context) error {
	dlq, err := b.queue(ctx, b.opts.Prefix+"-ingest-dlq", nil)
	if err != nil {
		return err
	}
	b.DLQURL = dlq
	dlqARN, err := b.queueARN(ctx, dlq)
	if err != nil {
		return err
	}
	redrive, _ := json.Marshal(map[string]string{"deadLetterTargetArn": dlqARN, "maxReceiveCount": strconv.Itoa(b.opts.MaxReceiveCount)})
	b.QueueURL, err = b.queue(ctx, b.opts.Prefix+"-ingest", map[string]string{
		"VisibilityTimeout": strconv.Itoa(int(b.opts.VisibilityTimeout)), "RedrivePolicy": string(redrive),
	})
	if err != nil {
		return err
	}
	for _, f := range lambdas.Functions {
		if f.Trigger != lambdas.Bus {
			continue
		}
		if b.probes[f.Name], err = b.queue(ctx, b.opts.Prefix+"-"+f.Name+"-trigger", nil); err != nil {
			return err
		}
		if b.FunctionDLQs[f.Name], err = b.queue(ctx, b.opts.Prefix+"-"+f.Name+"-dlq", nil); err != nil {
			return err
		}
	}
	return nil
}

func (b *Box) queue(ctx context.Context, name string, attrs map[string]string) (string, error) {
	out, err := b.sqs.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		return "", fmt.Errorf("create queue %s: %w", name, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

func (b *Box) queueARN(ctx context.Context, url string) (string, error) {
	out, err := b.sqs.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", fmt.Errorf("queue arn of %s: %w", url, err)
	}
	return out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)], nil
}

// createBus makes the bus and one rule per routing.Table entry, each with exactly the table's pattern,
// targeting the probe queue of its function.
func (b *Box) createBus(ctx context.Context, eb *awseventbridge.Client) error {
	b.BusName = b.opts.Prefix + "-bus"
	if _, err := eb.CreateEventBus(ctx, &awseventbridge.CreateEventBusInput{Name: aws.String(b.BusName)}); err != nil {
		return fmt.Errorf("create bus: %w", err)
	}
	routes := routing.Table
	if b.opts.Tap {
		var err error
		if b.tap, err = b.queue(ctx, b.opts.Prefix+"-tap", nil); err != nil {
			return err
		}
		b.probes["tap"] = b.tap
		routes = append(slices.Clone(routes), routing.Route{Name: "tap-every-orderflow-event", Target: "tap", Pattern: `{"source":[{"prefix":"orderflow."}]}`})
	}
	for _, rt := range routes {
		probe, ok := b.probes[rt.Target]
		if !ok {
			return fmt.Errorf("route %s: no bus function named %s in lambdas.Functions", rt.Name, rt.Target)
		}
		arn, err := b.queueARN(ctx, probe)
		if err != nil {
			return err
		}
		if _, err := eb.PutRule(ctx, &awseventbridge.PutRuleInput{
			Name: aws.String(rt.Name), EventBusName: aws.String(b.BusName), EventPattern: aws.String(rt.Pattern),
		}); err != nil {
			return fmt.Errorf("put rule %s: %w", rt.Name, err)
		}
		if _, err := eb.PutTargets(ctx, &awseventbridge.PutTargetsInput{
			Rule: aws.String(rt.Name), EventBusName: aws.String(b.BusName),
			// The whole event as the target's input: what EventBridge delivers by default, but moto keeps
			// the account this way, and resolves one JSONPath instead of its default input's eight.
			Targets: []ebtypes.Target{{Id: aws.String(rt.Target), Arn: aws.String(arn), InputTransformer: &ebtypes.InputTransformer{
				InputPathsMap: map[string]string{"id": "$.id"}, InputTemplate: aws.String("<aws.events.event.json>"),
			}}},
		}); err != nil {
			return fmt.Errorf("put target of rule %s: %w", rt.Name, err)
		}
	}
	return nil
}

// Env returns the environment of function spec, as the CDK app sets it.
func (b *Box) Env(spec lambdas.Function) map[string]string {
	all := map[string]string{
		lambdas.EnvOrderQueueURL: b.QueueURL, lambdas.EnvEventBusName: b.BusName, lambdas.EnvSNSTopicARN: b.TopicARN,
		lambdas.EnvBedrockModelID: "", lambdas.EnvAdminAPIKeyIDs: strings.Join(b.opts.AdminKeyIDs, ","),
	}
	for _, t := range lambdas.Tables {
		all[t.Env] = b.Tables.Name(t)
	}
	env := map[string]string{}
	for _, name := range spec.Env() {
		env[name] = all[name]
	}
	if spec.InvokesModel {
		// No Bedrock here: a model id that is not configured makes the chatbot answer offline.
		env[lambdas.EnvBedrockModelID] = app.OfflineModel
	}
	// A claim must end before Lambda retries a delivery that crashed holding it; the box retries sooner.
	env[lambdas.EnvDedupLease] = (b.opts.RetryDelay / 2).String()
	env[lambdas.EnvCancelFollowUp] = "2s" // not 30: the tests wait for it
	for k, v := range b.opts.Env {
		env[k] = v
	}
	return env
}

func (b *Box) build(ctx context.Context, spec lambdas.Function) (*function.Function, error) {
	env := b.Env(spec)
	load := append([]func(*config.LoadOptions) error{config.WithLogger(sdkLogger{b.opts.Logger, spec.Name})}, b.opts.LoadOptions...)
	if b.opts.FunctionLoadOptions != nil {
		load = append(load, b.opts.FunctionLoadOptions(spec.Name)...)
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	opts := []function.Option{function.WithLoadOptions(load...)}
	if spec.Trigger == lambdas.HTTP {
		opts = append(opts, function.WithAPI(app.BuildAPI))
	}
	f, err := function.New(ctx, spec.Name, lookup, b.opts.Metrics, logWriter{b.opts.Logger, spec.Name}, opts...)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", spec.Name, err)
	}
	return f, nil
}

// sdkLogger passes the SDK's warnings to the box's logger, less one that only DynamoDB Local causes: it
// sends no X-Amz-Crc32 header with an error response (DynamoDB does), which the client's CRC32 check
// takes for an expected checksum of 0, and warns about on every failed condition.
type sdkLogger struct {
	log  *slog.Logger
	name string
}

func (l sdkLogger) Logf(class logging.Classification, format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.Contains(msg, "response did not match expected checksum, 0, ") {
		return
	}
	level := slog.LevelDebug
	if class == logging.Warn {
		level = slog.LevelWarn
	}
	l.log.Log(context.Background(), level, msg, "function", l.name, "source", "aws-sdk")
}

// logWriter passes a function's JSON log lines to the box's logger.
type logWriter struct {
	log  *slog.Logger
	name string
}

func (w logWriter) Write(p []byte) (int, error) {
	w.log.Debug(strings.TrimSpace(string(p)), "function", w.name)
	return len(p), nil
}

// Stats returns the invocations of every function so far.
func (b *Box) Stats() map[string]Invocations {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]Invocations{}
	for k, v := range b.stats {
		out[k] = *v
	}
	return out
}

// ResetStats forgets the invocations counted so far.
func (b *Box) ResetStats() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stats = map[string]*Invocations{}
}

func (b *Box) record(fn string, d time.Duration, records int, failed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats[fn]
	if s == nil {
		s = &Invocations{}
		b.stats[fn] = s
	}
	s.Count++
	s.Records += records
	s.Duration += d
	if failed {
		s.Failed++
	}
}

// note keeps step in the trail.
func (b *Box) note(s Step) {
	if s.OrderID == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trail[b.steps%trailSize] = s
	b.steps++
}

// Trail returns the functions' invocations about an order, oldest first, among the latest few thousand
// of the box: what to look at when an order does not reach the status a test waits for.
func (b *Box) Trail(orderID string) []Step {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Step
	for i := max(0, b.steps-trailSize); i < b.steps; i++ {
		if s := b.trail[i%trailSize]; s.OrderID == orderID {
			out = append(out, s)
		}
	}
	return out
}

// orderOf is the orderId member of a queue record's body or an event's detail ("" if it has none).
func orderOf(raw []byte) string {
	var v struct {
		OrderID string `json:"orderId"`
	}
	_ = json.Unmarshal(raw, &v)
	return v.OrderID
}

// proxy is the function's proxy handler, counted.
func (b *Box) proxy(name string) apigateway.ProxyHandler {
	h := b.Functions[name].Proxy()
	return func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		start := time.Now()
		res, err := h(ctx, req)
		b.record(name, time.Since(start), 1, err != nil)
		return res, err
	}
}

// Run pumps the queues into the functions until ctx is done.
func (b *Box) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	run := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	// Lambda polls an SQS source with several pollers at once, each invoking the function with a batch.
	for range max(b.opts.Concurrency/2, 1) {
		run(b.pumpIngest)
	}
	for target, url := range b.probes {
		if target == "tap" {
			continue
		}
		run(func(ctx context.Context) { b.pumpBus(ctx, target, url) })
	}
	run(b.schedule)
	wg.Wait()
	return nil
}

// longPoll is how long a pump's receive waits for a message, as Lambda's pollers do (20 s, the most
// SQS allows): moto answers as soon as one is there, and an idle pump costs one request per wait, not
// one every few milliseconds, which under load starved moto of the CPU its PutEvents needed.
const longPoll = 20

// receive reads up to 10 messages from a queue, waiting up to wait seconds; a failure (the emulator
// going away) waits a little.
func (b *Box) receive(ctx context.Context, url string, wait int32) []sqstypes.Message {
	out, err := b.sqs.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
		QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: wait,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
	})
	if err != nil {
		if ctx.Err() == nil {
			b.log.Warn("receive", "queue", url, "error", err)
			sleep(ctx, 200*time.Millisecond)
		}
		return nil
	}
	return out.Messages
}

// pumpIngest is the dispatcher's event source mapping.
func (b *Box) pumpIngest(ctx context.Context) {
	h := b.Functions[routing.Dispatcher].SQS()
	for ctx.Err() == nil {
		msgs := b.receive(ctx, b.QueueURL, longPoll)
		if len(msgs) == 0 {
			continue
		}
		ev := events.SQSEvent{}
		for _, m := range msgs {
			ev.Records = append(ev.Records, events.SQSMessage{
				MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
				Attributes: m.Attributes, EventSource: "aws:sqs", AWSRegion: Region,
				EventSourceARN: "arn:aws:sqs:" + Region + ":000000000000:" + b.opts.Prefix + "-ingest",
			})
		}
		start := time.Now()
		res, err := h(ctx, ev)
		b.record(routing.Dispatcher, time.Since(start), len(ev.Records), err != nil)
		failed := map[string]bool{}
		for _, f := range res.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
		for _, m := range msgs {
			s := Step{At: time.Now(), Function: routing.Dispatcher, Attempt: 1, OrderID: orderOf([]byte(aws.ToString(m.Body)))}
			if err != nil {
				s.Err = err.Error()
			} else if failed[aws.ToString(m.MessageId)] {
				s.Err = "reported as a batch item failure"
			}
			b.note(s)
		}
		if err != nil {
			continue // the whole batch becomes visible again
		}
		var del []sqstypes.DeleteMessageBatchRequestEntry
		for i, m := range msgs {
			if !failed[aws.ToString(m.MessageId)] {
				del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
			}
		}
		if len(del) > 0 {
			if _, err := b.sqs.DeleteMessageBatch(ctx, &awssqs.DeleteMessageBatchInput{QueueUrl: aws.String(b.QueueURL), Entries: del}); err != nil && ctx.Err() == nil {
				b.log.Warn("delete dispatched messages", "error", err)
			}
		}
	}
}

// pumpBus delivers what a rule put on a function's probe queue as asynchronous invocations.
func (b *Box) pumpBus(ctx context.Context, target, url string) {
	h := b.Functions[target].EventBridge()
	sem := make(chan struct{}, b.opts.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for ctx.Err() == nil {
		for _, m := range b.receive(ctx, url, longPoll) {
			// Lambda queues an asynchronous invocation and owns it from then on.
			if _, err := b.sqs.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				continue // it will come back; the function deduplicates
			}
			var ev events.EventBridgeEvent
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
				b.log.Error("rule delivered a body that is not an event", "function", target, "error", err)
				continue
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				b.invokeAsync(ctx, target, h, ev, aws.ToString(m.Body))
			}()
		}
	}
}

// invokeAsync is Lambda's asynchronous invocation: the first attempt, AsyncRetries retries, then the
// on-failure destination.
func (b *Box) invokeAsync(ctx context.Context, fn string, h func(context.Context, events.EventBridgeEvent) error, ev events.EventBridgeEvent, raw string) {
	var err error
	for attempt := 0; attempt <= b.opts.AsyncRetries; attempt++ {
		if attempt > 0 && !sleep(ctx, b.opts.RetryDelay) {
			return
		}
		start := time.Now()
		err = invoke(ctx, h, ev)
		b.record(fn, time.Since(start), 1, err != nil)
		s := Step{At: time.Now(), Function: fn, DetailType: ev.DetailType, Attempt: attempt + 1, OrderID: orderOf(ev.Detail)}
		if err != nil {
			s.Err = err.Error()
		}
		b.note(s)
		if err == nil {
			return
		}
	}
	if ctx.Err() != nil {
		return
	}
	// The on-failure destination's record: the request payload and the error, as Lambda sends it.
	record, _ := json.Marshal(map[string]any{
		"requestContext": map[string]any{"condition": "RetriesExhausted", "approximateInvokeCount": b.opts.AsyncRetries + 1,
			"functionArn": "arn:aws:lambda:" + Region + ":000000000000:function:" + fn},
		"requestPayload":  json.RawMessage(raw),
		"responsePayload": map[string]string{"errorMessage": err.Error(), "errorType": "errorString"},
	})
	if _, serr := b.sqs.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(b.FunctionDLQs[fn]), MessageBody: aws.String(string(record))}); serr != nil {
		b.log.Error("send to on-failure destination", "function", fn, "error", serr)
	}
	b.note(Step{At: time.Now(), Function: fn, DetailType: ev.DetailType, Attempt: b.opts.AsyncRetries + 1,
		Err: "retries exhausted: sent to the on-failure destination", OrderID: orderOf(ev.Detail)})
}

// invoke runs one invocation; a panic fails it, as a crashed function does.
func invoke(ctx context.Context, h func(context.Context, events.EventBridgeEvent) error, ev events.EventBridgeEvent) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("function crashed: %v", p)
		}
	}()
	return h(ctx, ev)
}

// schedule invokes the reconciler on its schedule.
func (b *Box) schedule(ctx context.Context) {
	h := b.Functions[lambdas.Reconciler].Scheduled()
	event := json.RawMessage(`{"version":"0","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`)
	t := time.NewTicker(b.opts.ReconcileEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			start := time.Now()
			err := h(ctx, event)
			b.record(lambdas.Reconciler, time.Since(start), 1, err != nil)
		}
	}
}

// Tapped takes the events the tap rule copied since the last call (see Options.Tap), as delivered.
func (b *Box) Tapped(ctx context.Context) ([]events.EventBridgeEvent, error) {
	if b.tap == "" {
		return nil, errors.New("awsbox: the box has no tap (Options.Tap)")
	}
	var out []events.EventBridgeEvent
	for {
		msgs := b.receive(ctx, b.tap, 0)
		if len(msgs) == 0 {
			return out, ctx.Err()
		}
		for _, m := range msgs {
			var ev events.EventBridgeEvent
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
				return out, fmt.Errorf("tapped message %s is not an event: %w", aws.ToString(m.MessageId), err)
			}
			out = append(out, ev)
			if _, err := b.sqs.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(b.tap), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return out, fmt.Errorf("delete tapped message: %w", err)
			}
		}
	}
}

// DeadLetters returns the bodies of the messages on a queue (a DLQ), leaving them there.
func (b *Box) DeadLetters(ctx context.Context, url string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for range 5 {
		res, err := b.sqs.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 0})
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", url, err)
		}
		if len(res.Messages) == 0 {
			break
		}
		for _, m := range res.Messages {
			if id := aws.ToString(m.MessageId); !seen[id] {
				seen[id] = true
				out = append(out, aws.ToString(m.Body))
			}
		}
	}
	return out, nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
