package stack

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/orderflow/orderflow/services/lambdas"
	"github.com/orderflow/orderflow/services/routing"
)

// Asynchronous invocation (EventBridge rules invoke functions asynchronously): Lambda retries a failed
// invocation itself, then hands the event to the function's on-failure destination.
const (
	asyncRetries     = 2 // the most Lambda allows
	asyncMaxEventAge = 6 * time.Hour
)

func timeoutOf(f lambdas.Function) time.Duration {
	if f.Timeout > 0 {
		return f.Timeout
	}
	return lambdas.DefaultTimeout
}

func itoa(n int) string { return strconv.Itoa(n) }

// asynchronous reports whether f is invoked asynchronously (by an EventBridge rule or schedule).
func asynchronous(f lambdas.Function) bool {
	return f.Trigger == lambdas.Bus || f.Trigger == lambdas.Schedule
}

// addFunctions creates every function of lambdas.Functions with its own role, log group, environment
// and grants. The role starts empty: each function gets only what its entry in lambdas.Functions says.
func (o *Orderflow) addFunctions() error {
	for _, f := range lambdas.Functions {
		code := filepath.Join(o.Settings.LambdaDist, f.Name)
		if _, err := os.Stat(filepath.Join(code, "bootstrap")); err != nil {
			return fmt.Errorf("function %s: no %s: build the functions first (make lambdas), or point the context %q at the folder holding <function>/bootstrap",
				f.Name, filepath.Join(code, "bootstrap"), CtxLambdaDist)
		}
		id := construct(f.Name) + "Function"
		logs := awslogs.NewLogGroup(o.Stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
			Retention:     retentionDays[o.Settings.LogRetentionDays],
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		})
		role := awsiam.NewRole(o.Stack, jsii.String(id+"Role"), &awsiam.RoleProps{
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			Description: jsii.String("orderflow " + f.Name + ": " + f.Description),
		})
		// Instead of the AWSLambdaBasicExecutionRole managed policy (any log group): its own group only.
		logs.GrantWrite(role)

		env, err := o.environment(f)
		if err != nil {
			return err
		}
		props := &awslambda.FunctionProps{
			Description:  jsii.String(f.Description),
			Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
			Architecture: awslambda.Architecture_ARM_64(),
			Handler:      jsii.String("bootstrap"),
			Code:         awslambda.Code_FromAsset(jsii.String(code), nil),
			MemorySize:   jsii.Number(o.Settings.MemoryOf(f)),
			Timeout:      awscdk.Duration_Seconds(jsii.Number(timeoutOf(f).Seconds())),
			Role:         role,
			LogGroup:     logs,
			Tracing:      awslambda.Tracing_ACTIVE,
			Environment:  &env,
		}
		if asynchronous(f) {
			props.RetryAttempts = jsii.Number(asyncRetries)
			props.MaxEventAge = awscdk.Duration_Seconds(jsii.Number(asyncMaxEventAge.Seconds()))
			props.OnFailure = awslambdadestinations.NewSqsDestination(
				o.newDLQ(construct(f.Name)+"FailedDLQ", "invocations of "+f.Name+" that still failed after Lambda's retries"))
		}
		fn := awslambda.NewFunction(o.Stack, jsii.String(id), props)
		o.functions[f.Name] = fn
		o.roles[f.Name] = role
		o.grant(f, fn)

		if f.Trigger == lambdas.Queue {
			// Without ReportBatchItemFailures Lambda ignores the batch response and retries the whole
			// batch when one message fails.
			fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(o.queue, &awslambdaeventsources.SqsEventSourceProps{
				BatchSize:               jsii.Number(10),
				MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(1)),
				ReportBatchItemFailures: jsii.Bool(true),
			}))
		}
	}
	return nil
}

// environment returns the environment variables of f: every one of f.Env(), plus the optional ones a
// setting gives a value.
func (o *Orderflow) environment(f lambdas.Function) (map[string]*string, error) {
	env := map[string]*string{}
	for _, name := range f.Env() {
		if table, ok := o.tables[name]; ok {
			env[name] = table.TableName()
			continue
		}
		switch name {
		case lambdas.EnvOrderQueueURL:
			env[name] = o.queue.QueueUrl()
		case lambdas.EnvEventBusName:
			env[name] = o.bus.EventBusName()
		case lambdas.EnvSNSTopicARN:
			env[name] = o.topic.TopicArn()
		case lambdas.EnvBedrockModelID:
			env[name] = jsii.String(o.Settings.BedrockModelID)
		case lambdas.EnvAdminAPIKeyIDs:
			env[name] = o.adminKey.KeyId()
		default:
			// A new variable in lambdas needs a value here; failing the synth beats a function that fails
			// at its first cold start.
			return nil, fmt.Errorf("function %s needs %s, which the CDK app does not provide", f.Name, name)
		}
	}
	// Every function may write EMF lines (the API its requests, the metrics function the order flow):
	// all of them under the stack's own namespace, which the alarms and the dashboard read.
	env[lambdas.EnvMetricsNamespace] = jsii.String(o.metricsNamespace())
	if f.TextsCustomers && o.Settings.OperationsPhone != "" {
		env[lambdas.EnvOperationsPhone] = jsii.String(o.Settings.OperationsPhone)
	}
	if f.PublishesAs != "" && o.Settings.MaxEventSize != "" {
		env[lambdas.EnvMaxEventSize] = jsii.String(o.Settings.MaxEventSize)
	}
	if f.Name == routing.Validation && o.Settings.OrderLimit != "" {
		env[lambdas.EnvOrderLimit] = jsii.String(o.Settings.OrderLimit)
	}
	if f.Name == lambdas.Reconciler && o.Settings.ReconcileGrace != "" {
		env[lambdas.EnvReconcileGrace] = jsii.String(o.Settings.ReconcileGrace)
	}
	if _, dedups := f.Tables[lambdas.EnvDedupTable]; dedups {
		env[lambdas.EnvDedupRetention] = jsii.String(DedupRetention(o.Settings.ArchiveRetentionDays).String())
	}
	return env, nil
}

// DedupRetention is how long the functions that deduplicate by the dedup table remember an event, for
// an archive that keeps events for archiveDays (0: for ever): a day longer than the archive or a
// dead-letter queue keeps an event, whichever is longer, so that a replay from the archive and a
// dead letter's event put back on the bus (its requestPayload) find every event remembered, and text or
// count nothing twice. An archive kept for ever gets ten years.
func DedupRetention(archiveDays int) time.Duration {
	if archiveDays <= 0 {
		return 10 * 365 * 24 * time.Hour
	}
	return time.Duration(max(archiveDays, dlqRetentionDays)+1) * 24 * time.Hour
}

// grant gives fn exactly the access its entry f in lambdas.Functions describes.
func (o *Orderflow) grant(f lambdas.Function, fn awslambda.Function) {
	for _, t := range lambdas.Tables {
		switch f.Tables[t.Env] {
		case lambdas.Read:
			o.tables[t.Env].GrantReadData(fn)
		case lambdas.ReadWrite:
			o.tables[t.Env].GrantReadWriteData(fn)
		}
	}
	if f.SendsToQueue {
		o.queue.GrantSendMessages(fn)
	}
	if f.PublishesAs != "" {
		// Not GrantPutEventsTo: the events:source condition lets a stage publish only under its own
		// source, so no function can forge another stage's events.
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:    jsii.Strings("events:PutEvents"),
			Resources:  &[]*string{o.bus.EventBusArn()},
			Conditions: &map[string]any{"StringEquals": map[string]any{"events:source": f.PublishesAs}},
		}))
	}
	if f.TextsCustomers {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("sns:Publish"),
			Resources: &[]*string{o.topic.TopicArn()},
		}))
		// Publishing to the encrypted topic; explicit actions rather than Topic.GrantPublish, whose key
		// grant uses the wildcard action kms:GenerateDataKey*.
		o.topicKey.Grant(fn, jsii.String("kms:Decrypt"), jsii.String("kms:GenerateDataKey"))
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:     jsii.String("TextCustomers"),
			Actions: jsii.Strings("sns:Publish"),
			// An SMS is published to a phone number, which has no ARN to name. Everything but an SNS
			// resource is what IAM offers instead: the texts, and no topic or endpoint of any account
			// (the operations topic is granted above, by its ARN).
			NotResources: &[]*string{awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:sns:*:*:*"), nil)},
		}))
	}
	if f.InvokesModel {
		// Converse is authorized as bedrock:InvokeModel on the model (or inference profile) it calls.
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("bedrock:InvokeModel"),
			Resources: o.modelARNs(),
		}))
		if st := o.applicationProfileModels(); st != nil {
			fn.AddToRolePolicy(st)
		}
	}
}

// applicationProfileModels returns, when bedrockModelId is an application inference profile's ARN, the
// statement that lets the chatbot invoke the foundation models behind it: Bedrock authorizes a call
// through any inference profile on the profile and on the model it routes to, and an application
// profile's ARN does not name its model. The statement allows any foundation model, in any region, but
// only through this one profile (the bedrock:InferenceProfileArn condition). It returns nil otherwise.
func (o *Orderflow) applicationProfileModels() awsiam.PolicyStatement {
	id := o.Settings.BedrockModelID
	if !strings.HasPrefix(id, "arn:") || !strings.Contains(id, ":application-inference-profile/") {
		return nil
	}
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("bedrock:InvokeModel"),
		Resources: &[]*string{awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String("arn:"), o.Stack.Partition(), jsii.String(":bedrock:*::foundation-model/*")})},
		Conditions: &map[string]any{"StringEquals": map[string]any{"bedrock:InferenceProfileArn": id}},
	})
}

// inferenceProfilePrefixes are the geographies of cross-region inference profile ids ("us.amazon.…").
var inferenceProfilePrefixes = []string{"us.", "us-gov.", "eu.", "apac.", "jp.", "au.", "ca.", "global."}

// modelARNs returns what the chatbot may invoke: the configured foundation model, or the configured
// inference profile and the foundation model it routes to.
func (o *Orderflow) modelARNs() *[]*string {
	id := o.Settings.BedrockModelID
	foundation := func(region, model string) *string {
		return awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String("arn:"), o.Stack.Partition(), jsii.String(":bedrock:" + region + "::foundation-model/" + model)})
	}
	if strings.HasPrefix(id, "arn:") {
		// An inference profile given by its ARN needs the model it routes to as much as one given by its id.
		const profile = ":inference-profile/"
		if i := strings.Index(id, profile); i >= 0 {
			for _, p := range inferenceProfilePrefixes {
				if model, ok := strings.CutPrefix(id[i+len(profile):], p); ok {
					return &[]*string{jsii.String(id), foundation("*", model)}
				}
			}
		}
		return &[]*string{jsii.String(id)}
	}
	for _, p := range inferenceProfilePrefixes {
		if strings.HasPrefix(id, p) {
			profile := awscdk.Fn_Join(jsii.String(""), &[]*string{
				jsii.String("arn:"), o.Stack.Partition(), jsii.String(":bedrock:"), o.Stack.Region(), jsii.String(":"),
				o.Stack.Account(), jsii.String(":inference-profile/" + id)})
			// A profile sends each request to one of its geography's regions, which the stack cannot
			// know: the model is allowed in every region, and only through this profile's model id.
			return &[]*string{profile, foundation("*", strings.TrimPrefix(id, p))}
		}
	}
	return &[]*string{awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("arn:"), o.Stack.Partition(), jsii.String(":bedrock:"), o.Stack.Region(),
		jsii.String("::foundation-model/" + id)})}
}

// construct turns a function or rule name ("inventory-reserve") into a construct id ("InventoryReserve").
func construct(name string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
