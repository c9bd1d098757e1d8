package sns_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/services/adapters/emulators"
	"github.com/orderflow/orderflow/services/adapters/emulators/emulatorstest"
	snsadapter "github.com/orderflow/orderflow/services/adapters/sns"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/notifier"
)

func TestMain(m *testing.M) { os.Exit(emulatorstest.Main(m)) }

// recordingClient passes publishes to moto and keeps their inputs: moto does not keep the message
// attributes of texts sent to phone numbers.
type recordingClient struct {
	snsadapter.Client
	mu  sync.Mutex
	ins []*sns.PublishInput
	err error // returned instead of publishing, when set
}

func (c *recordingClient) Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error) {
	c.mu.Lock()
	c.ins = append(c.ins, in)
	c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	return c.Client.Publish(ctx, in, opts...)
}

func (c *recordingClient) published() []*sns.PublishInput {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*sns.PublishInput(nil), c.ins...)
}

func createTopic(t *testing.T, c *sns.Client) string {
	t.Helper()
	out, err := c.CreateTopic(t.Context(), &sns.CreateTopicInput{Name: aws.String(emulatorstest.UniqueName("operations"))})
	if err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	return aws.ToString(out.TopicArn)
}

// smsTo returns the texts moto recorded as sent to phone.
func smsTo(t *testing.T, m *emulators.Moto, phone string) []string {
	t.Helper()
	all, err := m.SentSMS(t.Context())
	if err != nil {
		t.Fatalf("SentSMS: %v", err)
	}
	var out []string
	for _, s := range all {
		if s.PhoneNumber == phone {
			out = append(out, s.Message)
		}
	}
	return out
}

const text = "Order 0193a0b4 confirmed.\nItems: 2\nTotal: USD 1299.99"

func TestSendTextsThePhoneNumberAsTransactionalSMS(t *testing.T) {
	t.Parallel()
	moto := emulatorstest.Moto(t)
	c := &recordingClient{Client: sns.NewFromConfig(moto.AWSConfig())}
	const phone = "+15555550101"
	if err := snsadapter.New(c, "").Send(t.Context(), notifier.SMS{ID: "evt-1", To: phone, Text: text}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if diff := cmp.Diff([]string{text}, smsTo(t, moto, phone)); diff != "" {
		t.Errorf("texts moto sent to %s (-want +got):\n%s", phone, diff)
	}
	in := c.published()
	if len(in) != 1 {
		t.Fatalf("%d publishes, want 1", len(in))
	}
	attr := in[0].MessageAttributes[snsadapter.AttrSMSType]
	if aws.ToString(attr.DataType) != "String" || aws.ToString(attr.StringValue) != "Transactional" || in[0].TopicArn != nil {
		t.Errorf("publish input: SMSType %s=%s, topic %v; want String=Transactional and no topic",
			aws.ToString(attr.DataType), aws.ToString(attr.StringValue), in[0].TopicArn)
	}
}

func TestSendWithoutANumberPublishesToTheTopic(t *testing.T) {
	t.Parallel()
	moto := emulatorstest.Moto(t)
	c := sns.NewFromConfig(moto.AWSConfig())
	topic := createTopic(t, c)
	if err := snsadapter.New(c, topic).Send(t.Context(), notifier.SMS{ID: "evt-2", Text: text}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs, err := moto.TopicMessages(t.Context(), topic)
	if err != nil {
		t.Fatalf("TopicMessages: %v", err)
	}
	if len(msgs) != 1 {
		t.Fatalf("topic got %d messages, want 1", len(msgs))
	}
	want := map[string]string{snsadapter.AttrSMSType: "Transactional", snsadapter.AttrSMSID: "evt-2"}
	if diff := cmp.Diff(want, msgs[0].Attributes); diff != "" || msgs[0].Message != text {
		t.Errorf("topic message %q, attributes (-want +got):\n%s", msgs[0].Message, diff)
	}
}

func TestSendRefusesWhatCannotBeDelivered(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		topic string
		sms   notifier.SMS
		want  string
	}{
		{"a number that is not E.164", "", notifier.SMS{ID: "e", To: "555-0100", Text: "hi"}, "not an E.164"},
		{"a number without its country code", "", notifier.SMS{ID: "e", To: "+0123", Text: "hi"}, "not an E.164"},
		{"no number and no topic", "", notifier.SMS{ID: "e", Text: "hi"}, "no recipient"},
		{"an empty text", "", notifier.SMS{ID: "e", To: "+15555550100"}, "no text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &recordingClient{err: errors.New("must not be called")}
			err := snsadapter.New(c, tt.topic).Send(context.Background(), tt.sms)
			if !fault.Is(err, fault.Invalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Send = %v, want a fault.Invalid saying %q", err, tt.want)
			}
			if n := len(c.published()); n != 0 {
				t.Errorf("%d publishes, want none", n)
			}
		})
	}
}

func TestSendClassifiesSNSErrors(t *testing.T) {
	t.Parallel()
	moto := emulatorstest.Moto(t)
	real := sns.NewFromConfig(moto.AWSConfig())
	tests := []struct {
		name   string
		client snsadapter.Client
		topic  string
		want   fault.Kind
	}{
		{"throttling is unavailable", &recordingClient{err: &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}}, "arn:t", fault.Unavailable},
		{"an internal error of SNS is unavailable", &recordingClient{err: &smithy.GenericAPIError{Code: "InternalError", Fault: smithy.FaultServer}}, "arn:t", fault.Unavailable},
		{"a topic that does not exist is internal", real, "arn:aws:sns:us-east-1:123456789012:no-such-topic", fault.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := snsadapter.New(tt.client, tt.topic).Send(t.Context(), notifier.SMS{ID: "evt-3", Text: "hi"})
			if err == nil || fault.KindOf(err) != tt.want || !strings.Contains(err.Error(), "publish sms evt-3 to topic") {
				t.Errorf("Send = %v (kind %s), want kind %s", err, fault.KindOf(err), tt.want)
			}
		})
	}
}
