package awsmeter_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/services/adapters/awsmeter"
	"github.com/orderflow/orderflow/services/adapters/emulators/emulatorstest"
)

func TestMain(m *testing.M) {
	code := emulatorstest.Main(m)
	emulatorstest.StopMoto()
	os.Exit(code)
}

// metered returns cfg with the meter attached, as main does with config.WithAPIOptions.
func metered(cfg aws.Config, m *awsmeter.Meter) aws.Config {
	cfg = cfg.Copy()
	cfg.APIOptions = append(cfg.APIOptions, m.APIOptions()...)
	return cfg
}

func s(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }

func TestCountsAndCapacityOnDynamoDBLocal(t *testing.T) {
	t.Parallel()
	d := emulatorstest.DynamoDB(t)
	ctx := t.Context()
	table := emulatorstest.UniqueName("meter")
	if _, err := d.Client().CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String(table), BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}}}); err != nil {
		t.Fatal(err)
	}
	m := awsmeter.New()
	c := dynamodb.NewFromConfig(metered(d.Config(), m))

	put := &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]ddbtypes.AttributeValue{"pk": s("o1"), "body": s(strings.Repeat("x", 1500))}}
	if _, err := c.PutItem(ctx, put); err != nil { // 1.5 KB: 2 write units
		t.Fatal(err)
	}
	if put.ReturnConsumedCapacity != "" {
		t.Errorf("the meter wrote the caller's input: ReturnConsumedCapacity = %q", put.ReturnConsumedCapacity)
	}
	key := map[string]ddbtypes.AttributeValue{"pk": s("o1")}
	if _, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key}); err != nil { // 0.5 read units
		t.Fatal(err)
	}
	if _, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)}); err != nil { // 1
		t.Fatal(err)
	}
	// Three small items in a transaction cost 2 write units each on DynamoDB; DynamoDB Local 3.3.1 reports 2
	// for all three, so the meter charges its floor of 6.
	var items []ddbtypes.TransactWriteItem
	for _, id := range []string{"o2", "o3", "o4"} {
		items = append(items, ddbtypes.TransactWriteItem{Put: &ddbtypes.Put{TableName: aws.String(table), Item: map[string]ddbtypes.AttributeValue{"pk": s(id)}}})
	}
	if _, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items}); err != nil {
		t.Fatal(err)
	}
	// A failed condition still costs its write unit, and the response reports none.
	_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]ddbtypes.AttributeValue{"pk": s("o1")},
		ConditionExpression: aws.String("attribute_not_exists(pk)")})
	var failed *ddbtypes.ConditionalCheckFailedException
	if !errors.As(err, &failed) {
		t.Fatalf("conditional put: %v, want ConditionalCheckFailedException", err)
	}

	want := awsmeter.Usage{
		Operations: map[awsmeter.Operation]awsmeter.Calls{
			{Service: "DynamoDB", Name: "PutItem"}:            {Calls: 2, Attempts: 2, Errors: 1},
			{Service: "DynamoDB", Name: "GetItem"}:            {Calls: 2, Attempts: 2},
			{Service: "DynamoDB", Name: "TransactWriteItems"}: {Calls: 1, Attempts: 1},
		},
		DynamoDB: awsmeter.DynamoDB{ReadUnits: 1.5, WriteUnits: 2 + 6 + 1, ReportedReadUnits: 1.5, ReportedWriteUnits: 2 + 2, Unreported: 1},
	}
	got := m.Snapshot()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
	if n := got.Requests("DynamoDB"); n != 5 {
		t.Errorf("Requests(DynamoDB) = %d, want 5", n)
	}
	m.Reset()
	if diff := cmp.Diff(awsmeter.Usage{Operations: map[awsmeter.Operation]awsmeter.Calls{}}, m.Snapshot()); diff != "" {
		t.Errorf("after Reset (-want +got):\n%s", diff)
	}
}

func TestCountsEventsMessagesAndTextsOnMoto(t *testing.T) {
	t.Parallel()
	cfg := emulatorstest.MotoConfig(t)
	ctx := t.Context()
	bus := emulatorstest.UniqueName("meter")
	if _, err := eventbridge.NewFromConfig(cfg).CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	queue, err := sqs.NewFromConfig(cfg).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(emulatorstest.UniqueName("meter"))})
	if err != nil {
		t.Fatal(err)
	}
	topic, err := sns.NewFromConfig(cfg).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(emulatorstest.UniqueName("meter"))})
	if err != nil {
		t.Fatal(err)
	}

	m := awsmeter.New()
	cfg = metered(cfg, m)
	entry := func(detail string) ebtypes.PutEventsRequestEntry {
		return ebtypes.PutEventsRequestEntry{EventBusName: aws.String(bus), Source: aws.String("orderflow.orders"), DetailType: aws.String("OrderCreated"), Detail: aws.String(detail)}
	}
	big := `{"pad":"` + strings.Repeat("x", 70*1024) + `"}` // over 64 KB: billed as two events
	if _, err := eventbridge.NewFromConfig(cfg).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{entry(`{"a":1}`), entry(`{"a":2}`), entry(big)}}); err != nil {
		t.Fatal(err)
	}
	q := sqs.NewFromConfig(cfg)
	if _, err := q.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: queue.QueueUrl, Entries: []sqstypes.SendMessageBatchRequestEntry{
		{Id: aws.String("1"), MessageBody: aws.String(`{"orderId":"o1"}`)}, {Id: aws.String("2"), MessageBody: aws.String(`{"orderId":"o2"}`)}}}); err != nil {
		t.Fatal(err)
	}
	got, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queue.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil || len(got.Messages) != 2 {
		t.Fatalf("ReceiveMessage: %d messages, %v; want 2", len(got.Messages), err)
	}
	var del []sqstypes.DeleteMessageBatchRequestEntry
	for i, msg := range got.Messages {
		del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(string(rune('a' + i))), ReceiptHandle: msg.ReceiptHandle})
	}
	if _, err := q.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: queue.QueueUrl, Entries: del}); err != nil {
		t.Fatal(err)
	}
	n := sns.NewFromConfig(cfg)
	if _, err := n.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("order o1 created")}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Publish(ctx, &sns.PublishInput{PhoneNumber: aws.String("+15555550100"), Message: aws.String("Your order o1 is on its way")}); err != nil {
		t.Fatal(err)
	}

	want := awsmeter.Usage{
		Operations: map[awsmeter.Operation]awsmeter.Calls{
			{Service: "EventBridge", Name: "PutEvents"}:  {Calls: 1, Attempts: 1},
			{Service: "SQS", Name: "SendMessageBatch"}:   {Calls: 1, Attempts: 1},
			{Service: "SQS", Name: "ReceiveMessage"}:     {Calls: 1, Attempts: 1},
			{Service: "SQS", Name: "DeleteMessageBatch"}: {Calls: 1, Attempts: 1},
			{Service: "SNS", Name: "Publish"}:            {Calls: 2, Attempts: 2},
		},
		EventBridge: awsmeter.EventBridge{Entries: 3, Chunks: 4},
		SQS:         awsmeter.SQS{Sent: 2, Received: 2, Deleted: 2, Requests: 3},
		SNS:         awsmeter.SNS{Published: 1, Chunks: 1, SMS: 1},
	}
	if diff := cmp.Diff(want, m.Snapshot()); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
}

// fakeAWS answers just enough of the DynamoDB and EventBridge JSON protocols, by X-Amz-Target: the first
// GetItem with a 500 (to be retried), the rest with canned bodies.
func fakeAWS(t *testing.T) *httptest.Server {
	var getItems atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		switch r.Header.Get("X-Amz-Target") {
		case "DynamoDB_20120810.GetItem":
			if getItems.Add(1) == 1 {
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = io.WriteString(w, `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"try again"}`)
				return
			}
			_, _ = io.WriteString(w, `{"Item":{"pk":{"S":"o1"}},"ConsumedCapacity":{"TableName":"orders","CapacityUnits":0.5,"ReadCapacityUnits":0.5}}`)
		case "DynamoDB_20120810.UpdateItem":
			_, _ = io.WriteString(w, `{"ConsumedCapacity":{"TableName":"orders","CapacityUnits":3}}`)
		case "AWSEvents.PutEvents":
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			_, _ = io.WriteString(w, `{"FailedEntryCount":1,"Entries":[{"EventId":"e1"},{"ErrorCode":"InternalFailure","ErrorMessage":"try again"}]}`)
		default:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"__type":"UnknownOperationException"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func fakeConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
		Retryer: func() aws.Retryer {
			return retry.AddWithMaxBackoffDelay(retry.NewStandard(), time.Millisecond)
		},
	}
}

func TestRetriesFailedEntriesAndConcurrentCallsOnAFakeServer(t *testing.T) {
	t.Parallel()
	srv := fakeAWS(t)
	m := awsmeter.New()
	cfg := metered(fakeConfig(srv.URL), m)
	ddb := dynamodb.NewFromConfig(cfg)
	ctx := t.Context()
	key := map[string]ddbtypes.AttributeValue{"pk": s("o1")}
	if _, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"), Key: key}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := ddb.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("orders"), Key: key,
				UpdateExpression: aws.String("SET v = :v"), ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": s("x")}}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	bus := "orderflow"
	if _, err := eventbridge.NewFromConfig(cfg).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		{EventBusName: &bus, Source: aws.String("orderflow.orders"), DetailType: aws.String("OrderCreated"), Detail: aws.String(`{}`)},
		{EventBusName: &bus, Source: aws.String("orderflow.orders"), DetailType: aws.String("OrderCreated"), Detail: aws.String(`{}`)},
	}}); err != nil {
		t.Fatal(err)
	}
	want := awsmeter.Usage{
		Operations: map[awsmeter.Operation]awsmeter.Calls{
			{Service: "DynamoDB", Name: "GetItem"}:      {Calls: 1, Attempts: 2},
			{Service: "DynamoDB", Name: "UpdateItem"}:   {Calls: 8, Attempts: 8},
			{Service: "EventBridge", Name: "PutEvents"}: {Calls: 1, Attempts: 1},
		},
		// UpdateItem's total goes to writes; the split the GetItem response gives is taken as it is.
		DynamoDB:    awsmeter.DynamoDB{ReadUnits: 0.5, WriteUnits: 24, ReportedReadUnits: 0.5, ReportedWriteUnits: 24},
		EventBridge: awsmeter.EventBridge{Entries: 2, Failed: 1, Chunks: 1},
	}
	if diff := cmp.Diff(want, m.Snapshot()); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
}
