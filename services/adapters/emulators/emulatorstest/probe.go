package emulatorstest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// EventBus creates an EventBridge bus with a name of its own and returns the name.
func EventBus(t testing.TB, c *eventbridge.Client) string {
	t.Helper()
	name := UniqueName("bus")
	if _, err := c.CreateEventBus(t.Context(), &eventbridge.CreateEventBusInput{Name: aws.String(name)}); err != nil {
		t.Fatalf("CreateEventBus: %v", err)
	}
	return name
}

// ProbeQueue creates an SQS queue with a name of its own, to be an EventBridge rule's target, and returns
// its URL and ARN. (moto delivers rule matches to SQS targets only; an SNS or Lambda target makes
// PutEvents fail.)
func ProbeQueue(t testing.TB, c *sqs.Client) (url, arn string) {
	t.Helper()
	out, err := c.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(UniqueName("probe"))})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	attrs, err := c.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	return aws.ToString(out.QueueUrl), attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
}

// RuleToQueue creates the rule name on bus with the event pattern pattern, targeting the queue queueARN,
// which then receives each matching event unchanged, as EventBridge delivers it by default.
//
// The target has an input transformer whose template is the whole event, <aws.events.event.json>, which on
// AWS delivers exactly what no transformer does. On moto it is a workaround: for the default input moto
// 5.2.1 resolves eight JSONPath expressions per delivered event and drops the account from the event;
// with this template it resolves one and keeps the event whole (adding only its own ingestion-time
// member).
func RuleToQueue(t testing.TB, c *eventbridge.Client, bus, name, pattern, queueARN string) {
	t.Helper()
	if _, err := c.PutRule(t.Context(), &eventbridge.PutRuleInput{Name: aws.String(name), EventBusName: aws.String(bus),
		EventPattern: aws.String(pattern)}); err != nil {
		t.Fatalf("PutRule %s: %v", name, err)
	}
	if _, err := c.PutTargets(t.Context(), &eventbridge.PutTargetsInput{Rule: aws.String(name), EventBusName: aws.String(bus),
		Targets: []ebtypes.Target{{Id: aws.String("probe"), Arn: aws.String(queueARN), InputTransformer: &ebtypes.InputTransformer{
			InputPathsMap: map[string]string{"id": "$.id"},
			InputTemplate: aws.String("<aws.events.event.json>"),
		}}}}); err != nil {
		t.Fatalf("PutTargets %s: %v", name, err)
	}
}

// ReceiveAll takes every message off the queue url, deleting each, and returns their bodies: it polls
// until at least want have arrived or wait has passed, then once more, so that messages beyond want are
// caught too. It polls without waiting, so that it returns as soon as the queue is empty.
func ReceiveAll(t testing.TB, c *sqs.Client, url string, want int, wait time.Duration) []json.RawMessage {
	t.Helper()
	var bodies []json.RawMessage
	receive := func() int {
		out, err := c.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		for _, m := range out.Messages {
			bodies = append(bodies, json.RawMessage(aws.ToString(m.Body)))
			if _, err := c.DeleteMessage(t.Context(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("DeleteMessage: %v", err)
			}
		}
		return len(out.Messages)
	}
	for deadline := time.Now().Add(wait); len(bodies) < want && time.Now().Before(deadline); {
		if receive() == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	for receive() > 0 {
	}
	return bodies
}
