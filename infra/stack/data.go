package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/orderflow/orderflow/services/lambdas"
)

// ingestMaxReceives is how often the dispatcher may fail a message before it goes to the ingest DLQ.
const ingestMaxReceives = 5

// addTables creates every table of lambdas.Tables: on demand, point-in-time recovery, encrypted, kept
// when the stack is deleted (the data outlives the deployment), with the TTL and GSIs the runtime uses.
func (o *Orderflow) addTables() {
	o.tables = map[string]awsdynamodb.Table{}
	str := func(name string) *awsdynamodb.Attribute {
		return &awsdynamodb.Attribute{Name: jsii.String(name), Type: awsdynamodb.AttributeType_STRING}
	}
	for _, t := range lambdas.Tables {
		props := &awsdynamodb.TableProps{
			PartitionKey: str("pk"),
			BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
			PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
				PointInTimeRecoveryEnabled: jsii.Bool(true),
			},
			// The AWS managed key (aws/dynamodb): encrypted at rest and auditable in CloudTrail, without
			// a customer key whose grants would need wildcard KMS actions in every function's policy.
			Encryption:    awsdynamodb.TableEncryption_AWS_MANAGED,
			RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		}
		if t.SortKey {
			props.SortKey = str("sk")
		}
		if t.TTL != "" {
			props.TimeToLiveAttribute = jsii.String(t.TTL)
		}
		table := awsdynamodb.NewTable(o.Stack, jsii.String(t.ID+"Table"), props)
		for _, ix := range t.Indexes {
			gsi := &awsdynamodb.GlobalSecondaryIndexProps{
				IndexName:      jsii.String(ix.Name),
				PartitionKey:   str(ix.PartitionKey),
				ProjectionType: awsdynamodb.ProjectionType_ALL,
			}
			if ix.SortKey != "" {
				gsi.SortKey = str(ix.SortKey)
			}
			if ix.KeysOnly {
				gsi.ProjectionType = awsdynamodb.ProjectionType_KEYS_ONLY
			}
			table.AddGlobalSecondaryIndex(gsi)
		}
		o.tables[t.Env] = table
	}
}

// newQueue returns an encrypted queue that refuses requests without TLS.
func (o *Orderflow) newQueue(id string, props *awssqs.QueueProps) awssqs.Queue {
	if props == nil {
		props = &awssqs.QueueProps{}
	}
	props.Encryption = awssqs.QueueEncryption_SQS_MANAGED
	props.EnforceSSL = jsii.Bool(true)
	return awssqs.NewQueue(o.Stack, jsii.String(id), props)
}

// dlqRetentionDays is how long a dead-letter queue keeps a message: the longest SQS allows.
const dlqRetentionDays = 14

// newDLQ returns a dead-letter queue that keeps messages for the longest time SQS allows, and records
// it so that it gets an alarm and a line on the dashboard. catches says what lands in it.
func (o *Orderflow) newDLQ(id, catches string) awssqs.Queue {
	q := o.newQueue(id, &awssqs.QueueProps{RetentionPeriod: awscdk.Duration_Days(jsii.Number(dlqRetentionDays))})
	o.dlqs = append(o.dlqs, q)
	o.deadLetters = append(o.deadLetters, catches)
	return q
}

// addIngestQueue creates the queue between the API (and the reconciler) and the dispatcher.
func (o *Orderflow) addIngestQueue() {
	dispatcher, _ := lambdas.Lookup("dispatcher")
	o.ingestDLQ = o.newDLQ("IngestDLQ", "orders the dispatcher failed "+itoa(ingestMaxReceives)+" times")
	o.queue = o.newQueue("IngestQueue", &awssqs.QueueProps{
		// AWS's advice for a Lambda event source: six times the function's timeout, so a message is not
		// handed to a second invocation while the first still works on it.
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(6 * timeoutOf(dispatcher).Seconds())),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: o.ingestDLQ, MaxReceiveCount: jsii.Number(ingestMaxReceives)},
	})
}

// addOperationsTopic creates the operations topic: alarms, and the texts of orders placed without a
// phone number. It is encrypted with a customer key because CloudWatch alarms cannot publish to a topic
// encrypted with the AWS managed SNS key.
func (o *Orderflow) addOperationsTopic() {
	o.topicKey = awskms.NewKey(o.Stack, jsii.String("OperationsKey"), &awskms.KeyProps{
		Description:       jsii.String("orderflow operations topic"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_DESTROY,
		PendingWindow:     awscdk.Duration_Days(jsii.Number(7)),
	})
	// In a key policy "*" is this key.
	o.topicKey.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": o.Stack.Account()}},
	}), jsii.Bool(false))
	o.topic = awssns.NewTopic(o.Stack, jsii.String("OperationsTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("orderflow operations"),
		MasterKey:   o.topicKey,
		EnforceSSL:  jsii.Bool(true),
	})
	// The topic policy replaces the default one, so CloudWatch alarms are allowed explicitly.
	o.topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{o.topic.TopicArn()},
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": o.Stack.Account()}},
	}))
}
