package dynamodb_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/orderflow/orderflow/services/adapters/dynamodb"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/inventory"
	"github.com/orderflow/orderflow/services/pipeline/pipelinetest"
)

// unreachable returns a client of a DynamoDB endpoint where nothing listens, with the SDK's retries
// off, so that every call fails as one does once the SDK has spent its retries on a dead connection.
func unreachable(t *testing.T) *awsdynamodb.Client {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return awsdynamodb.NewFromConfig(aws.Config{
		Region:           "eu-west-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint:     aws.String(endpoint),
		RetryMaxAttempts: 1,
	})
}

// A DynamoDB that cannot be reached is an outage to retry (a 503 on the API, a redelivery in a stage),
// as it is for the SQS, EventBridge and SNS adapters, not an internal error.
func TestAnUnreachableDynamoDBIsUnavailable(t *testing.T) {
	t.Parallel()
	client := unreachable(t)
	orders := dynamodb.NewOrders(client, "orders", "idempotency", dynamodb.OrdersOptions{})
	inv := dynamodb.NewInventory(client, "inventory")
	dedup := dynamodb.NewDeduper(client, "dedup", dynamodb.DeduperOptions{})
	expired, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-expired.Done()
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"get an order", func(ctx context.Context) error { _, err := orders.Get(ctx, "o1"); return err }},
		{"create an order", func(ctx context.Context) error {
			return orders.Create(ctx, pipelinetest.NewOrder(t, "cust-1", time.Now()), nil)
		}},
		{"list orders", func(ctx context.Context) error { _, _, err := orders.List(ctx, "cust-1", 10, ""); return err }},
		{"reserve stock", func(ctx context.Context) error {
			return inv.Reserve(ctx, "o1", []inventory.Line{{ProductID: "p1", Quantity: 1}})
		}},
		{"claim an event", func(ctx context.Context) error { _, err := dedup.Claim(ctx, "notifier", "e1"); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for ctxName, ctx := range map[string]context.Context{"refused connection": t.Context(), "deadline passed": expired} {
				if err := c.call(ctx); !fault.Is(err, fault.Unavailable) {
					t.Errorf("%s: err = %v (kind %s), want kind unavailable", ctxName, err, fault.KindOf(err))
				}
			}
		})
	}
}
