// Package sns sends orderflow's text messages through Amazon SNS: straight to the customer's phone
// number, or, for a text without a number, to a topic (the operations topic) whose subscribers get it.
//
// New AWS accounts are in the SMS sandbox, where texts reach only verified numbers; a publish to a phone
// number has no topic ARN, so the IAM permission for it cannot be scoped to a resource.
package sns

import (
	"context"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/orderflow/orderflow/services/adapters/awsfault"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/notifier"
)

// Client is the part of the SNS API that Sender calls; *sns.Client implements it.
type Client interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

var _ Client = (*sns.Client)(nil)

// Message attributes of every publish.
const (
	// AttrSMSType is the attribute that makes SNS deliver a text as transactional (higher delivery
	// priority, allowed outside marketing hours) rather than promotional.
	AttrSMSType = "AWS.SNS.SMS.SMSType"
	// SMSTypeTransactional is its value.
	SMSTypeTransactional = "Transactional"
	// AttrSMSID carries notifier.SMS.ID on topic publishes, so that subscribers can deduplicate.
	AttrSMSID = "orderflow.smsId"
)

// e164 is the form SNS requires of a phone number: +, a country code, at most 15 digits in all.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// Sender is a notifier.Sender that publishes through SNS.
type Sender struct {
	client   Client
	topicARN string
}

var _ notifier.Sender = (*Sender)(nil)

// New returns a Sender publishing with client. topicARN receives the texts that have no recipient
// number; with "" such a text is refused.
func New(client Client, topicARN string) *Sender {
	return &Sender{client: client, topicARN: topicARN}
}

// Send publishes m.Text, unchanged, to the phone number m.To as a transactional SMS, or to the topic when
// m.To is empty. A number that is not E.164, or a text without a number when no topic is configured, is a
// fault.Invalid error; a throttled or failing SNS is fault.Unavailable (see awsfault).
func (s *Sender) Send(ctx context.Context, m notifier.SMS) error {
	in := &sns.PublishInput{
		Message: aws.String(m.Text),
		MessageAttributes: map[string]types.MessageAttributeValue{
			AttrSMSType: {DataType: aws.String("String"), StringValue: aws.String(SMSTypeTransactional)},
		},
	}
	switch {
	case m.To != "":
		if !e164.MatchString(m.To) {
			return fault.Invalidf("sms %s: the recipient is not an E.164 phone number", m.ID)
		}
		in.PhoneNumber = aws.String(m.To)
	case s.topicARN != "":
		in.TopicArn = aws.String(s.topicARN)
		if m.ID != "" {
			in.MessageAttributes[AttrSMSID] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(m.ID)}
		}
	default:
		return fault.Invalidf("sms %s has no recipient and no SNS topic is configured for such texts", m.ID)
	}
	if m.Text == "" {
		return fault.Invalidf("sms %s has no text", m.ID)
	}
	if _, err := s.client.Publish(ctx, in); err != nil {
		if in.PhoneNumber != nil {
			return awsfault.Wrap(err, "publish sms %s to a phone number", m.ID)
		}
		return awsfault.Wrap(err, "publish sms %s to topic %s", m.ID, s.topicARN)
	}
	return nil
}
