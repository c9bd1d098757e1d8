// Command awscost measures what an order costs on AWS: it runs orderflow's AWS runtime on the emulators
// (awsbox: DynamoDB Local, moto, every Lambda function in-process), places orders through its API
// Gateway, counts every AWS request the functions make with an SDK middleware (awsmeter), and prints
// the requests per order and the monthly bill for a million orders at list prices, beside the seed
// system's claim.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/awsmeter"
	"github.com/orderflow/orderflow/services/adapters/emulators"
	"github.com/orderflow/orderflow/services/app/awsbox"
	"github.com/orderflow/orderflow/services/lambdas"
)

func main() {
	orders := flag.Int("orders", 100, "orders to place (each texted twice and completed)")
	monthly := flag.Int64("monthly", 1_000_000, "orders a month to price")
	alarms := flag.Int("alarms", 0, "CloudWatch alarms of the stack, priced by the month")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *orders, *monthly, *alarms); err != nil {
		fmt.Fprintln(os.Stderr, "awscost:", err)
		os.Exit(1)
	}
}

// countingWriter counts what the functions write: their logs and EMF lines, billed as log ingestion.
type countingWriter struct{ n atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n.Add(int64(len(p))); return len(p), nil }

func run(ctx context.Context, out io.Writer, n int, monthly int64, alarms int) error {
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
	meter := awsmeter.New()
	emf := &countingWriter{}
	box, err := awsbox.Start(ctx, awsbox.Options{
		DynamoDBEndpoint: ddb.Endpoint, MotoEndpoint: moto.Endpoint, Metrics: emf,
		// As on AWS (well above the dispatcher's run time), so that a slow batch on this shared machine
		// is not delivered twice and counted twice.
		VisibilityTimeout: 30,
		LoadOptions:       []func(*config.LoadOptions) error{config.WithAPIOptions(meter.APIOptions())},
	})
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = box.Run(runCtx) }()
	srv := httptest.NewServer(box.Gateway)
	defer srv.Close()

	// One warm-up order, so that cold paths (and the emulators' own warm-up) are not measured.
	if err := placeAndAwait(srv.URL, 1, "warmup"); err != nil {
		return err
	}
	if err := awaitTexts(ctx, moto, 2); err != nil {
		return err
	}
	time.Sleep(time.Second)
	meter.Reset()
	box.ResetStats()
	emf.n.Store(0)
	start := time.Now()
	if err := placeAndAwait(srv.URL, n, "cost"); err != nil {
		return err
	}
	if err := awaitTexts(ctx, moto, 2+2*n); err != nil {
		return err
	}
	// The metrics function gets every event, 5 per completed order: wait for the last of them.
	for deadline := time.Now().Add(time.Minute); box.Stats()["metrics"].Count < 5*n && time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
	}
	elapsed := time.Since(start)
	usage := meter.Snapshot()
	stats := box.Stats()

	w := awsmeter.Workload{Orders: monthly, MeasuredOrders: int64(n), Usage: usage, LogBytes: emf.n.Load(), Alarms: alarms, Dashboards: 1}
	var series int
	for _, spec := range lambdas.Functions {
		s := stats[spec.Name]
		mem := spec.MemoryMB
		if mem == 0 {
			mem = lambdas.DefaultMemoryMB
		}
		w.Functions = append(w.Functions, awsmeter.Function{Name: spec.Name, MemoryMB: mem, Invocations: int64(s.Count), Duration: s.Duration})
		if f := box.Functions[spec.Name]; f.EMF != nil {
			series += f.EMF.Series()
		}
		if spec.Name == lambdas.API || spec.Name == lambdas.Chatbot {
			w.APIRequests += int64(s.Count)
		}
	}
	w.CustomMetrics = series
	// The dispatcher's event source mapping polls the ingest queue (outside the functions' clients).
	d := stats["dispatcher"]
	w.PolledMessages, w.PolledQueues = int64(d.Records), 1
	if d.Count > 0 {
		w.PollBatch = float64(d.Records) / float64(d.Count)
	}
	fmt.Fprintf(out, "AWS in a box: %d orders placed and completed in %s on DynamoDB Local and moto\n\n", n, elapsed.Round(time.Millisecond))
	fmt.Fprintln(out, "Lambda invocations per order (handler time measured here, emulator latency included):")
	for _, f := range w.Functions {
		if f.Invocations == 0 {
			continue
		}
		fmt.Fprintf(out, "  %-18s %5.2f invocations  %6.1f ms each  (%d MB)\n", f.Name, float64(f.Invocations)/float64(n),
			float64(f.Duration.Microseconds())/1000/float64(f.Invocations), f.MemoryMB)
	}
	fmt.Fprintln(out)
	if err := usage.WritePerOrder(out, int64(n)); err != nil {
		return err
	}
	fmt.Fprintln(out)
	bill, err := awsmeter.NewBill(awsmeter.USEast1, w)
	if err != nil {
		return err
	}
	_, err = bill.WriteTo(out)
	return err
}

// placeAndAwait places n orders, 8 at a time.
func placeAndAwait(url string, n int, customer string) error {
	body, _ := json.Marshal(map[string]any{
		"customerId": customer, "customerEmail": "c@example.com", "customerPhone": "+15555550123",
		"items":           []any{map[string]any{"productId": "MOUSE001", "name": "Wireless Mouse", "quantity": 1, "price": 49.99}},
		"totalAmount":     49.99,
		"shippingAddress": map[string]any{"street": "1 Main St", "city": "Springfield", "state": "IL", "zipCode": "62701", "country": "US"},
	})
	sem := make(chan struct{}, 8)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs <- placeOne(url, body)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// placeOne places an order; its completion is seen in its texts, not by reading it, so that the API
// requests measured are the order's own.
func placeOne(url string, body []byte) error {
	req, _ := http.NewRequest("POST", url+"/orders", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", awsbox.ClientKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	var o contracts.Order
	err = json.NewDecoder(res.Body).Decode(&o)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusCreated {
		return fmt.Errorf("create order: status %d: %v", res.StatusCode, err)
	}
	return nil
}

// awaitTexts waits until moto's SNS has sent n texts.
func awaitTexts(ctx context.Context, moto *emulators.Moto, n int) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		sent, err := moto.SentSMS(ctx)
		if err != nil {
			return err
		}
		if len(sent) >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d texts sent after 5 minutes, want %d (an order created and completed sends 2)", len(sent), n)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
