package awsmeter_test

import (
	"bytes"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/services/adapters/awsmeter"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// run is a fixed measured run of 1,000 orders: what the end-to-end run reports, with round numbers.
func run() awsmeter.Workload {
	fn := func(name string, mb int, n int64, mean time.Duration) awsmeter.Function {
		return awsmeter.Function{Name: name, MemoryMB: mb, Invocations: n, Duration: time.Duration(n) * mean}
	}
	return awsmeter.Workload{
		Orders:         1_000_000,
		MeasuredOrders: 1_000,
		Usage: awsmeter.Usage{
			DynamoDB:    awsmeter.DynamoDB{ReadUnits: 12_000, WriteUnits: 30_000},
			EventBridge: awsmeter.EventBridge{Entries: 7_000, Chunks: 7_000},
			SQS:         awsmeter.SQS{Sent: 1_000, Received: 1_000, Deleted: 1_000, Requests: 3_000},
			SNS:         awsmeter.SNS{SMS: 2_000},
		},
		Functions: []awsmeter.Function{
			fn("api", 256, 1_200, 9500*time.Microsecond),
			fn("dispatcher", 128, 1_000, 8*time.Millisecond),
			fn("validation", 128, 1_000, 12*time.Millisecond),
			fn("inventory", 128, 1_000, 15*time.Millisecond),
			fn("payment", 128, 1_000, 14*time.Millisecond),
			fn("fulfillment", 128, 1_000, 16*time.Millisecond),
			fn("notifier", 128, 2_000, 30*time.Millisecond),
			fn("metrics", 128, 7_000, 3*time.Millisecond),
		},
		APIRequests:         1_200,
		LogBytes:            8 << 20,
		PolledQueues:        1,
		StoredBytesPerOrder: 6_000,
		CustomMetrics:       120,
		Alarms:              12,
		Dashboards:          1,
	}
}

func TestBillOfAFixedRunIsTheGoldenTable(t *testing.T) {
	t.Parallel()
	b, err := awsmeter.NewBill(awsmeter.USEast1, run())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "bill.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("bill (-want +got):\n%s", diff)
	}
}

func TestUsagePerOrderIsTheGoldenTable(t *testing.T) {
	t.Parallel()
	u := run().Usage
	u.Operations = map[awsmeter.Operation]awsmeter.Calls{
		{Service: "SQS", Name: "SendMessage"}:             {Calls: 1_000, Attempts: 1_000},
		{Service: "DynamoDB", Name: "TransactWriteItems"}: {Calls: 2_000, Attempts: 2_010, Errors: 3},
		{Service: "DynamoDB", Name: "GetItem"}:            {Calls: 9_000, Attempts: 9_000},
		{Service: "EventBridge", Name: "PutEvents"}:       {Calls: 6_000, Attempts: 6_000},
		{Service: "SNS", Name: "Publish"}:                 {Calls: 2_000, Attempts: 2_000},
		{Service: "DynamoDB", Name: "UpdateItem"}:         {Calls: 12_000, Attempts: 12_000, Errors: 40},
	}
	var buf bytes.Buffer
	if err := u.WritePerOrder(&buf, 1_000); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "usage.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
	if err := u.WritePerOrder(&buf, 0); !errors.Is(err, awsmeter.ErrNoOrders) {
		t.Errorf("WritePerOrder of 0 orders = %v, want ErrNoOrders", err)
	}
}

func TestBillLineItems(t *testing.T) {
	t.Parallel()
	b, err := awsmeter.NewBill(awsmeter.USEast1, run())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, l := range append(b.Lines, b.SMS...) {
		got[l.Service+" "+l.Item] = math.Round(l.Cost*100) / 100
	}
	// Worked by hand from the run: x1000 to a million orders.
	want := map[string]float64{
		"API Gateway REST API requests":            4.20,  // 1.2M x $3.50/M
		"Lambda invocations":                       3.04,  // 15.2M x $0.20/M
		"Lambda duration (arm64)":                  0.28,  // 21,250 GB-s (api 1.2M x 10 ms x 0.25 GB = 3,000; the rest at 0.125 GB)
		"DynamoDB write request units":             18.75, // 30M x $0.625/M
		"DynamoDB read request units":              1.50,  // 12M x $0.125/M
		"DynamoDB storage of a month's orders":     1.40,  // 6 KB x 1M = 5.59 GB x $0.25
		"EventBridge custom events (64 KB chunks)": 7.00,  // 7M x $1/M
		"SQS requests (64 KB chunks)":              1.20,  // 3M x $0.40/M
		"SQS idle event-source polling":            0.26,  // 648,000 x $0.40/M
		"CloudWatch log ingestion (incl. EMF)":     6.03,  // (8 MiB + 15,200 x 300 B) x 1000 = 12.06 GB x $0.50
		"CloudWatch custom metrics (EMF series)":   36.00, // 120 x $0.30
		"CloudWatch alarms":                        1.20,
		"CloudWatch dashboards":                    3.00,
		"SMS texts to US numbers":                  11620, // 2M x $0.00581
		"SMS carrier fees (assumed)":               6040,  // 2M x $0.00302
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("line costs (-want +got):\n%s", diff)
	}
}

func TestBillOfNoMeasuredOrdersIsAnError(t *testing.T) {
	t.Parallel()
	if _, err := awsmeter.NewBill(awsmeter.USEast1, awsmeter.Workload{Orders: 1_000_000}); !errors.Is(err, awsmeter.ErrNoOrders) {
		t.Errorf("NewBill without measured orders = %v, want ErrNoOrders", err)
	}
}
