// Package stack is orderflow's AWS deployment as a CDK stack: the REST API, the Lambda functions of
// services/lambdas, the DynamoDB tables, the ingest queue, the event bus with one rule per entry of
// services/routing, the schema registry, the forwarding rules of other teams, alarms and a dashboard.
// Everything that has a twin in the runtime (functions, tables, environment, routes, schemas) is built
// in a loop over the runtime's own data, so the deployment cannot drift from the code it runs.
package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Orderflow is the deployed system; its fields are the resources that other parts of the stack refer to.
type Orderflow struct {
	Stack    awscdk.Stack
	Settings Settings

	tables    map[string]awsdynamodb.Table // by the environment variable of the table's name
	queue     awssqs.Queue                 // the ingest queue
	ingestDLQ awssqs.Queue
	bus       awsevents.EventBus
	topic     awssns.Topic // operations: alarms, and texts about orders without a phone
	topicKey  awskms.Key
	functions map[string]awslambda.Function // by lambdas.Function.Name
	roles     map[string]awsiam.Role        // the functions' roles, by lambdas.Function.Name
	api       awsapigateway.RestApi
	adminKey  awsapigateway.IApiKey
	clientKey awsapigateway.IApiKey
	registry  string // the schema registry's name (a token)
	dashboard awscloudwatch.Dashboard

	// dlqs are every dead-letter queue, each with an alarm; deadLetters names what each one catches.
	dlqs        []awssqs.Queue
	deadLetters []string
	// unsent are, for every rule target and every function's on-failure destination, the count of what
	// could not be put in its DLQ: lost, with no dead letter to alarm on.
	unsent []awscloudwatch.IMetric
}

// New adds the orderflow stack, configured by the context of app, and the cdk-nag checks.
func New(app constructs.Construct) (*Orderflow, error) {
	settings, err := ReadSettings(app)
	if err != nil {
		return nil, err
	}
	st := awscdk.NewStack(app, jsii.String(settings.StackName), &awscdk.StackProps{
		Description: jsii.String("orderflow: event-driven order pipeline (API Gateway, Lambda, DynamoDB, SQS, EventBridge)"),
		// Environment-agnostic on purpose: synthesis needs no credentials and looks nothing up.
	})
	o := &Orderflow{Stack: st, Settings: settings, functions: map[string]awslambda.Function{}, roles: map[string]awsiam.Role{}}

	o.addTables()
	o.addOperationsTopic()
	o.addIngestQueue()
	o.addBus()
	o.addAPIKeys()
	if err := o.addFunctions(); err != nil {
		return nil, err
	}
	if err := o.addRoutes(); err != nil {
		return nil, err
	}
	o.addReconcilerSchedule()
	o.addAPI()
	if err := o.addSchemas(); err != nil {
		return nil, err
	}
	if err := o.addSubscribers(); err != nil {
		return nil, err
	}
	o.addAlarms()
	o.addDashboard()
	o.addOutputs()
	o.addNagChecks()
	return o, nil
}

func (o *Orderflow) addOutputs() {
	out := func(id, description string, value *string) {
		awscdk.NewCfnOutput(o.Stack, jsii.String(id), &awscdk.CfnOutputProps{Description: jsii.String(description), Value: value})
	}
	out("ApiUrl", "base URL of the REST API (stage included)", o.api.Url())
	out("ClientApiKeyId", "id of the client API key (client usage plan)", o.clientKey.KeyId())
	out("AdminApiKeyId", "id of the admin API key (admin usage plan)", o.adminKey.KeyId())
	for _, k := range []struct {
		id  string
		key awsapigateway.IApiKey
	}{{"GetClientKeyCommand", o.clientKey}, {"GetAdminKeyCommand", o.adminKey}} {
		out(k.id, "prints the key to send as x-api-key", awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String("aws apigateway get-api-key --api-key "), k.key.KeyId(),
			jsii.String(" --include-value --query value --output text"),
		}))
	}
	out("EventBusName", "the event bus orderflow publishes on (EVENT_BUS_NAME)", o.bus.EventBusName())
	out("EventBusArn", "ARN of the event bus, for other teams' rules and policies", o.bus.EventBusArn())
	out("SchemaRegistryName", "EventBridge schema registry with the event contracts", jsii.String(o.registry))
	out("OperationsTopicArn", "SNS topic of alarms and operator texts", o.topic.TopicArn())
	out("DashboardUrl", "CloudWatch dashboard", awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("https://console.aws.amazon.com/cloudwatch/home?region="), o.Stack.Region(),
		jsii.String("#dashboards:name="), o.dashboard.DashboardName(),
	}))
}
