//go:build unix

package emulators_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/orderflow/orderflow/services/adapters/emulators"
)

// BenchmarkMotoPutEvents puts one event at a time on a bus of 16 rules, each targeting a queue through
// the box's input transformer, two of them matching the event: what one orderflow event costs moto.
func BenchmarkMotoPutEvents(b *testing.B) {
	ctx := context.Background()
	m, err := emulators.StartMoto(ctx)
	if err != nil {
		b.Fatalf("StartMoto: %v", err)
	}
	b.Cleanup(func() { _ = m.Stop() })
	eb, q := eventbridge.NewFromConfig(m.AWSConfig()), sqs.NewFromConfig(m.AWSConfig())
	bus := "bench"
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		b.Fatal(err)
	}
	for i := range 16 {
		queue, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("bench-%d", i))})
		if err != nil {
			b.Fatal(err)
		}
		attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: queue.QueueUrl,
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			b.Fatal(err)
		}
		pattern := fmt.Sprintf(`{"source":["orderflow.bench"],"detail-type":["Type%d"]}`, i)
		if i == 15 {
			pattern = `{"source":[{"prefix":"orderflow."}]}` // a subscriber of every event
		}
		rule := fmt.Sprintf("rule-%d", i)
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(rule), EventBusName: aws.String(bus), EventPattern: aws.String(pattern)}); err != nil {
			b.Fatal(err)
		}
		if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(bus),
			Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]),
				InputTransformer: &ebtypes.InputTransformer{InputPathsMap: map[string]string{"id": "$.id"}, InputTemplate: aws.String("<aws.events.event.json>")}}},
		}); err != nil {
			b.Fatal(err)
		}
	}
	detail, _ := json.Marshal(map[string]any{"orderId": "0193a1d2-7a3b-7c4d-8e5f-a1b2c3d4e5f6", "items": []map[string]any{{"productId": "LAPTOP001", "quantity": 1}}})
	entry := ebtypes.PutEventsRequestEntry{EventBusName: aws.String(bus), Source: aws.String("orderflow.bench"), DetailType: aws.String("Type3"), Detail: aws.String(string(detail))}
	b.ResetTimer()
	for b.Loop() {
		out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{entry}})
		if err != nil {
			b.Fatalf("PutEvents: %v", err)
		}
		if out.FailedEntryCount != 0 {
			b.Fatalf("PutEvents: %d entries failed", out.FailedEntryCount)
		}
	}
}
