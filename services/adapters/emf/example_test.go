package emf_test

import (
	"os"
	"time"

	"github.com/orderflow/orderflow/services/adapters/emf"
	"github.com/orderflow/orderflow/services/metrics"
)

// A Lambda entrypoint builds one Logger on standard output, hands it to the metrics as their sink, and
// flushes it at the end of every invocation.
func ExampleLogger() {
	sink := emf.New(os.Stdout, emf.Options{Now: func() time.Time { return time.UnixMilli(1768485600000) }})
	m := metrics.New(nil, metrics.Options{Sink: sink})

	// One invocation: the handler records, the entrypoint flushes.
	m.ObserveHTTP("POST /orders", 201, 12*time.Millisecond)
	if err := sink.Flush(); err != nil {
		panic(err)
	}
	// Output:
	// {"_aws":{"Timestamp":1768485600000,"CloudWatchMetrics":[{"Namespace":"Orderflow","Dimensions":[["route","status"]],"Metrics":[{"Name":"orderflow_http_requests_total","Unit":"Count"}]}]},"route":"POST /orders","status":"201","orderflow_http_requests_total":1}
	// {"_aws":{"Timestamp":1768485600000,"CloudWatchMetrics":[{"Namespace":"Orderflow","Dimensions":[["route"]],"Metrics":[{"Name":"orderflow_http_request_duration_seconds","Unit":"Seconds"}]}]},"route":"POST /orders","orderflow_http_request_duration_seconds":0.012}
}
