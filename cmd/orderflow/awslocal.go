package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/orderflow/orderflow/services/adapters/emulators"
	"github.com/orderflow/orderflow/services/app"
	"github.com/orderflow/orderflow/services/app/awsbox"
)

// awsLocal serves the REST API through the AWS code path on this machine, in the spirit of sam local:
// DynamoDB Local and moto stand in for DynamoDB, SQS, EventBridge and SNS, every Lambda function runs
// in-process with the event shapes Lambda delivers, and API Gateway's key check and proxy events stand in
// front. Nothing is kept: the emulators run in memory.
func awsLocal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("orderflow aws-local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", env("ORDERFLOW_AWS_LOCAL_ADDR", "127.0.0.1:8081"), "listen address `host:port` of the local API Gateway (ORDERFLOW_AWS_LOCAL_ADDR)")
	logLevel := fs.String("log-level", env("ORDERFLOW_LOG_LEVEL", "warn"), "debug, info, warn or error: the functions' logs (ORDERFLOW_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("log level %q: %w", *logLevel, err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	fmt.Fprintln(stdout, "starting DynamoDB Local and moto_server …")
	start := time.Now()
	ddb, err := emulators.StartDynamoDB(ctx)
	if err != nil {
		return err
	}
	defer ddb.Stop()
	moto, err := emulators.StartMoto(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = moto.Stop() }()
	box, err := awsbox.Start(ctx, awsbox.Options{
		DynamoDBEndpoint: ddb.Endpoint, MotoEndpoint: moto.Endpoint, Prefix: "orderflow", Logger: log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); _ = box.Run(runCtx) }()
	srv := &http.Server{Handler: box.Gateway, ReadHeaderTimeout: 10 * time.Second}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, `orderflow's AWS runtime is running on emulators (ready in %s)
  API Gateway  %s   (every Lambda function in-process, with the event shapes Lambda delivers)
  DynamoDB     %s   (DynamoDB Local, tables %s-*)
  SQS, EventBridge, SNS  %s   (moto; texts at %s/moto-api/data.json)
  API key      %s   (admin key: %s)

Place the example order:
  curl -s -X POST %s/orders -H 'Content-Type: application/json' -H 'X-API-Key: %s' -d '%s'
`, time.Since(start).Round(time.Millisecond), url, ddb.Endpoint, "orderflow", moto.Endpoint, moto.Endpoint,
		awsbox.ClientKey, awsbox.AdminKey, url, awsbox.ClientKey, app.ExampleOrder)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	shut, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	_ = srv.Shutdown(shut)
	cancel()
	<-done
	return nil
}
