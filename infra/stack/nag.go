package stack

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/orderflow/orderflow/services/lambdas"
)

// addNagChecks runs the cdk-nag AwsSolutions and Serverless packs over the stack at synthesis. A finding
// is an error annotation on its resource, which fails `make synth`, `cdk synth` and the tests. Each
// suppression below is on the one resource it concerns, names its rule (and, for IAM5, the exact
// wildcard resource it accepts) and says why; they are written into the template's cdk_nag metadata.
func (o *Orderflow) addNagChecks() {
	awscdk.Aspects_Of(o.Stack).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	awscdk.Aspects_Of(o.Stack).Add(cdknag.NewServerlessChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)

	for i, q := range o.dlqs {
		why := "this queue is itself a dead-letter queue (" + o.deadLetters[i] + "); a DLQ of a DLQ would only move the messages, and an alarm fires on the first one"
		rules := []string{"Serverless-SQSRedrivePolicy"}
		if q != o.ingestDLQ { // the ingest DLQ is named in the ingest queue's redrive policy, which SQS3 recognizes
			rules = append(rules, "AwsSolutions-SQS3")
		}
		for _, rule := range rules {
			suppress(q, false, rule, why)
		}
	}

	for _, f := range lambdas.Functions {
		fn := o.functions[f.Name]
		why := "X-Ray's PutTraceSegments and PutTelemetryRecords (added for active tracing) support no resource-level permissions"
		policy := o.roles[f.Name].Node().FindChild(jsii.String("DefaultPolicy"))
		suppress(policy, false, "AwsSolutions-IAM5", why, "Resource::*")
		for _, t := range lambdas.Tables {
			if _, uses := f.Tables[t.Env]; uses && len(t.Indexes) > 0 {
				suppress(policy, false, "AwsSolutions-IAM5",
					"index/* of the "+t.ID+" table: the grant covers the global secondary indexes of this one table, which Query needs by index ARN",
					&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::<` + t.ID + `Table[0-9A-F]{8}\.Arn>\/index\/\*$/`)})
			}
		}
		if f.InvokesModel && o.applicationProfileModels() != nil {
			suppress(policy, false, "AwsSolutions-IAM5",
				"foundation-model/* only through the configured application inference profile (condition bedrock:InferenceProfileArn): Bedrock also authorizes the model a profile routes to, which the profile's ARN does not name",
				&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::arn:<AWS::Partition>:bedrock:\*::foundation-model\/\*$/`)})
		}
		switch f.Trigger {
		case lambdas.HTTP:
			suppress(fn, false, "Serverless-LambdaDLQ", "invoked synchronously by API Gateway: the caller receives the error, there is no asynchronous event to dead-letter")
		case lambdas.Queue:
			suppress(fn, false, "Serverless-LambdaDLQ", "polled from the ingest queue by an event source mapping: the queue's redrive policy moves a message that keeps failing to the ingest DLQ")
			suppress(eventSourceMapping(fn), false, "Serverless-LambdaEventSourceMappingDestination", "SQS event source mappings do not support on-failure destinations; the ingest queue's redrive policy (maxReceiveCount "+itoa(ingestMaxReceives)+") dead-letters failing messages instead")
		default:
			suppress(fn, false, "Serverless-LambdaDLQ", "asynchronous failures go to the function's on-failure destination (an SQS DLQ, in its EventInvokeConfig), which records the error with the event; a DeadLetterConfig as well would catch the same events twice")
		}
	}

	suppress(o.api, false, "AwsSolutions-APIG2", "proxy integrations: the functions validate every request against the API contract and answer a machine-readable 4xx; API Gateway validation would answer the same mistakes in another format")
	suppress(o.api.DeploymentStage(), false, "AwsSolutions-APIG3", "no WAF web ACL in this stack: callers carry API keys and are throttled per key (usage plans) and per stage; associate a web ACL with the stage where the API faces untrusted traffic")
	noAuthorizer := "orderflow has no end-user identity provider: its callers are services identified by an API key, required on every method but GET /healthz (a liveness probe without data), and the API function tells admin keys apart by key id. API keys identify and throttle, they are not authentication: add a Cognito or Lambda authorizer before exposing the API to untrusted callers"
	for _, m := range *o.api.Methods() {
		suppress(m, false, "AwsSolutions-APIG4", noAuthorizer)
		suppress(m, false, "AwsSolutions-COG4", noAuthorizer)
	}
	suppress(o.api.Node().FindChild(jsii.String("CloudWatchRole")), false, "AwsSolutions-IAM4", "AmazonAPIGatewayPushToCloudWatchLogs is the policy API Gateway documents for its account-level logging role; it writes to log groups API Gateway creates and names itself")
}

// eventSourceMapping returns the construct of fn's SQS event source mapping.
func eventSourceMapping(fn constructs.IConstruct) constructs.IConstruct {
	for _, c := range *fn.Node().Children() {
		if strings.HasPrefix(*c.Node().Id(), "SqsEventSource") {
			return c
		}
	}
	panic("no SQS event source mapping on " + *fn.Node().Path())
}

// suppress records that rule does not apply to c, with its reason. appliesTo narrows it to findings
// about exactly these wildcard resources (strings or *cdknag.RegexAppliesTo).
func suppress(c constructs.IConstruct, children bool, rule, reason string, appliesTo ...any) {
	s := &cdknag.NagPackSuppression{Id: jsii.String(rule), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		s.AppliesTo = &appliesTo
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{s}, jsii.Bool(children))
}
