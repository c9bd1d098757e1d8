// Package function is what every Lambda entrypoint of orderflow does at init: read the function's
// environment (stopping with a message that names a missing variable), load the AWS configuration with
// config.LoadDefaultConfig (so AWS_REGION and AWS_ENDPOINT_URL[_<SERVICE>] apply), and build the
// application with AWS adapters through app.NewAWS, the one wiring function the local binary shares.
package function

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/orderflow/orderflow/agent"
	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/apigateway"
	"github.com/orderflow/orderflow/services/adapters/awslambda"
	"github.com/orderflow/orderflow/services/adapters/dynamodb"
	"github.com/orderflow/orderflow/services/app"
	"github.com/orderflow/orderflow/services/lambdas"
)

// Function is a function's application, ready to be started.
type Function struct {
	*app.AWSApp
	// Spec is the function's entry in lambdas.Functions.
	Spec lambdas.Function
	// BasePath is API_BASE_PATH.
	BasePath string
	// Log is the function's logger (JSON lines on stderr, which Lambda sends to CloudWatch Logs).
	Log *slog.Logger
}

// Option changes how a function is built.
type Option func(*options)

type options struct {
	load     []func(*config.LoadOptions) error
	newModel func(aws.Config, string) (agent.Model, error)
	api      func(app.HTTPConfig, app.Adapters, *app.App) (http.Handler, error)
}

// WithAPI gives the function the REST API (app.BuildAPI): the api and chatbot functions' mains pass it,
// so that no other function links the HTTP API, the agent or the schema registry.
func WithAPI(build func(cfg app.HTTPConfig, a app.Adapters, ap *app.App) (http.Handler, error)) Option {
	return func(o *options) { o.api = build }
}

// WithLoadOptions adds options to config.LoadDefaultConfig's (e.g. SDK middleware).
func WithLoadOptions(load ...func(*config.LoadOptions) error) Option {
	return func(o *options) { o.load = append(o.load, load...) }
}

// WithModel gives the chatbot its language model, made from the AWS configuration and BEDROCK_MODEL_ID.
// Only the chatbot's main passes it, so that no other function links the Bedrock client.
func WithModel(newModel func(cfg aws.Config, modelID string) (agent.Model, error)) Option {
	return func(o *options) { o.newModel = newModel }
}

// Must is New for main, from the process's environment: on error it prints the error and exits, which
// fails the function's init with that message in its log.
func Must(name string, opts ...Option) *Function {
	f, err := New(context.Background(), name, os.LookupEnv, os.Stdout, os.Stderr, opts...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "orderflow %s: %v\n", name, err)
		os.Exit(1)
	}
	return f
}

// New builds function name from the environment given by lookup. EMF metric lines go to metricsOut and
// logs to logOut.
func New(ctx context.Context, name string, lookup func(string) (string, bool), metricsOut, logOut io.Writer, opts ...Option) (*Function, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	spec, ok := lambdas.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("no function named %q in lambdas.Functions", name)
	}
	env, err := Env(spec, lookup)
	if err != nil {
		return nil, err
	}
	level := slog.LevelInfo
	if v := env[lambdas.EnvLogLevel]; v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			return nil, fmt.Errorf("%s=%q: %w", lambdas.EnvLogLevel, v, err)
		}
	}
	log := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: level})).With("function", name)
	awsCfg, err := config.LoadDefaultConfig(ctx, o.load...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	cfg := app.Config{OperationsNumber: env[lambdas.EnvOperationsPhone]}
	if v := env[lambdas.EnvOrderLimit]; v != "" {
		if cfg.OrderLimit, err = contracts.ParseAmount(v); err == nil && cfg.OrderLimit <= 0 {
			err = errors.New("not above zero")
		}
		if err != nil {
			return nil, fmt.Errorf("%s=%q: want a positive amount such as 50000.00: %w", lambdas.EnvOrderLimit, v, err)
		}
	}
	if v := env[lambdas.EnvReconcileGrace]; v != "" {
		if cfg.ReconcileGrace, err = time.ParseDuration(v); err != nil || cfg.ReconcileGrace <= 0 {
			return nil, fmt.Errorf("%s=%q: want a positive duration such as 2m", lambdas.EnvReconcileGrace, v)
		}
	}
	if v := env[lambdas.EnvCancelFollowUp]; v != "" {
		if cfg.CancelFollowUp, err = time.ParseDuration(v); err != nil || cfg.CancelFollowUp <= 0 || cfg.CancelFollowUp > 15*time.Minute {
			return nil, fmt.Errorf("%s=%q: want a duration from 1s to 15m", lambdas.EnvCancelFollowUp, v)
		}
	}
	var lease time.Duration
	if v := env[lambdas.EnvDedupLease]; v != "" {
		if lease, err = time.ParseDuration(v); err != nil || lease <= 0 {
			return nil, fmt.Errorf("%s=%q: want a positive duration such as 30s", lambdas.EnvDedupLease, v)
		}
	}
	maxEvent := 0
	if v := env[lambdas.EnvMaxEventSize]; v != "" {
		if maxEvent, err = strconv.Atoi(v); err != nil || maxEvent < 1 || maxEvent > lambdas.MaxEventSizeLimit {
			return nil, fmt.Errorf("%s=%q: want a whole number of bytes from 1 to %d", lambdas.EnvMaxEventSize, v, lambdas.MaxEventSizeLimit)
		}
	}
	var dedupRetention time.Duration
	if v := env[lambdas.EnvDedupRetention]; v != "" {
		if dedupRetention, err = time.ParseDuration(v); err != nil || dedupRetention <= 0 {
			return nil, fmt.Errorf("%s=%q: want a positive duration such as 744h", lambdas.EnvDedupRetention, v)
		}
	}
	namespace := env[lambdas.EnvMetricsNamespace]
	if namespace != "" {
		if err := CheckNamespace(namespace); err != nil {
			return nil, fmt.Errorf("%s=%q: %w", lambdas.EnvMetricsNamespace, namespace, err)
		}
	}
	var admins []string
	for _, id := range strings.Split(env[lambdas.EnvAdminAPIKeyIDs], ",") {
		if id = strings.TrimSpace(id); id != "" {
			admins = append(admins, id)
		}
	}
	a, err := app.NewAWS(cfg, app.AWS{
		Config: awsCfg,
		Tables: dynamodb.TableNames{
			Orders: env[lambdas.EnvOrdersTable], Idempotency: env[lambdas.EnvIdempotencyTable],
			Inventory: env[lambdas.EnvInventoryTable], Payments: env[lambdas.EnvPaymentsTable],
			Dedup: env[lambdas.EnvDedupTable], Sessions: env[lambdas.EnvSessionsTable],
		},
		QueueURL: env[lambdas.EnvOrderQueueURL], EventBus: env[lambdas.EnvEventBusName], MaxEventSize: maxEvent,
		TopicARN: env[lambdas.EnvSNSTopicARN], ModelID: env[lambdas.EnvBedrockModelID], AdminKeyIDs: admins,
		NewModel: o.newModel, API: o.api, DedupLease: lease, DedupRetention: dedupRetention, Metrics: metricsOut, MetricsNamespace: namespace, Logger: log, Now: time.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", name, err)
	}
	return &Function{AWSApp: a, Spec: spec, BasePath: env[lambdas.EnvAPIBasePath], Log: log}, nil
}

// CheckNamespace returns an error when name is not a safe namespace for custom CloudWatch metrics: 1 to
// 255 characters among letters, digits and . - _ / # : and space, not starting with ":" nor with "AWS/"
// (AWS's own). CloudWatch takes somewhat more, but these also fit unquoted in the dashboard's SEARCH
// expressions. CloudWatch drops an EMF line with a namespace it refuses without a word, so a function
// with one refuses to start instead.
func CheckNamespace(name string) error {
	if len(name) == 0 || len(name) > 255 {
		return fmt.Errorf("a CloudWatch namespace has 1 to 255 characters, not %d", len(name))
	}
	if strings.HasPrefix(name, "AWS/") || strings.HasPrefix(name, ":") {
		return errors.New(`a custom CloudWatch namespace may not start with "AWS/" or ":"`)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_/#: ", r)
		if !ok {
			return fmt.Errorf("%q is not allowed in a CloudWatch namespace (letters, digits, . - _ / # : and space)", r)
		}
	}
	return nil
}

// optional are the variables a function may leave unset.
var optional = []string{lambdas.EnvOperationsPhone, lambdas.EnvMaxEventSize, lambdas.EnvOrderLimit, lambdas.EnvReconcileGrace, lambdas.EnvDedupLease, lambdas.EnvDedupRetention, lambdas.EnvCancelFollowUp, lambdas.EnvAPIBasePath, lambdas.EnvLogLevel, lambdas.EnvMetricsNamespace}

// Env reads the variables spec requires, all of them non-empty, and the optional ones. The error names
// every missing variable.
func Env(spec lambdas.Function, lookup func(string) (string, bool)) (map[string]string, error) {
	env := map[string]string{}
	var missing []string
	for _, name := range spec.Env() {
		v, ok := lookup(name)
		if !ok || strings.TrimSpace(v) == "" {
			missing = append(missing, name)
			continue
		}
		env[name] = v
	}
	if len(missing) > 0 {
		return nil, errors.New("missing environment variable " + strings.Join(missing, ", ") +
			" (the CDK app in infra/ sets them; see the README's On AWS section)")
	}
	for _, name := range optional {
		if v, ok := lookup(name); ok {
			env[name] = v
		}
	}
	return env, nil
}

// EventBridge is the handler of a function that is an EventBridge rule's target: the app's handler of
// the routing target named like the function.
func (f *Function) EventBridge() func(context.Context, events.EventBridgeEvent) error {
	return flushedErr(f, awslambda.EventBridge(f.Handlers[f.Spec.Name], awslambda.WithLogger(f.Log)))
}

// SQS is the dispatcher's handler of ingest-queue batches, reporting partial batch failures.
func (f *Function) SQS() func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return flushed(f, awslambda.SQS(f.Dispatch, awslambda.WithLogger(f.Log)))
}

// Proxy is the handler of API Gateway proxy events: the REST API (and the chatbot's route). The function
// must have been built WithAPI.
func (f *Function) Proxy() apigateway.ProxyHandler {
	if f.HTTP == nil {
		panic("function " + f.Spec.Name + ": Proxy without an API (build it with function.WithAPI(app.BuildAPI))")
	}
	return flushed(f, apigateway.Handler(f.HTTP, f.BasePath))
}

// Scheduled is the reconciler's handler of its schedule's events: one pass.
func (f *Function) Scheduled() func(context.Context, json.RawMessage) error {
	return flushedErr(f, awslambda.Scheduled(func(ctx context.Context) error {
		n, err := f.Reconciler.RunOnce(ctx)
		if n > 0 {
			f.Log.InfoContext(ctx, "re-queued orders left pending", "orders", n)
		}
		return err
	}, awslambda.WithLogger(f.Log)))
}

// flushed writes the function's buffered EMF metrics after every invocation of h.
func flushed[In, Out any](f *Function, h func(context.Context, In) (Out, error)) func(context.Context, In) (Out, error) {
	return func(ctx context.Context, in In) (Out, error) {
		out, err := h(ctx, in)
		f.flush(ctx)
		return out, err
	}
}

// flushedErr is flushed for handlers that return only an error.
func flushedErr[In any](f *Function, h func(context.Context, In) error) func(context.Context, In) error {
	return func(ctx context.Context, in In) error {
		err := h(ctx, in)
		f.flush(ctx)
		return err
	}
}

func (f *Function) flush(ctx context.Context) {
	if f.EMF == nil {
		return
	}
	if err := f.EMF.Flush(); err != nil {
		f.Log.WarnContext(ctx, "write EMF metrics", "error", err)
	}
}
