package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventschemas"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/orderflow/orderflow/services/lambdas"
	"github.com/orderflow/orderflow/services/routing"
)

// Delivery by an EventBridge rule target: EventBridge retries a delivery that fails (throttling, a
// missing permission, a target that does not exist) and then puts the event in the target's DLQ. A
// function that *runs* and fails is retried by Lambda (asyncRetries).
const (
	targetRetries     = 8
	targetMaxEventAge = 4 * time.Hour
)

// addBus creates the custom event bus and its archive, from which events can be replayed.
func (o *Orderflow) addBus() {
	// AWS owned encryption: an archive cannot be attached to a bus encrypted with a customer key.
	o.bus = awsevents.NewEventBus(o.Stack, jsii.String("Bus"), &awsevents.EventBusProps{
		Description: jsii.String("orderflow order events"),
	})
	archive := &awsevents.BaseArchiveProps{
		Description: jsii.String("every event on the orderflow bus, for replay"),
		// Matches every event put on the bus (all are put from this account).
		EventPattern: &awsevents.EventPattern{Account: &[]*string{o.Stack.Account()}},
	}
	if d := o.Settings.ArchiveRetentionDays; d > 0 {
		archive.Retention = awscdk.Duration_Days(jsii.Number(d))
	}
	o.bus.Archive(jsii.String("Archive"), archive)
}

// targetRetryPolicy is the RetryPolicy of every rule target.
func targetRetryPolicy() *awsevents.CfnRule_RetryPolicyProperty {
	return &awsevents.CfnRule_RetryPolicyProperty{
		MaximumRetryAttempts:     jsii.Number(targetRetries),
		MaximumEventAgeInSeconds: jsii.Number(targetMaxEventAge.Seconds()),
	}
}

// allowRuleToDeadLetter lets EventBridge put the events that rule could not deliver into dlq.
func allowRuleToDeadLetter(dlq awssqs.Queue, rule awsevents.CfnRule) {
	dlq.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("DeadLettersOf" + *rule.Node().Id()),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sqs:SendMessage"),
		Resources:  &[]*string{dlq.QueueArn()},
		Conditions: &map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": rule.AttrArn()}},
	}))
}

// addRoutes creates one rule per entry of routing.Table, with exactly the entry's event pattern (an L1
// rule takes the parsed JSON as it is, prefix matchers included), targeting the entry's function.
func (o *Orderflow) addRoutes() error {
	for _, rt := range routing.Table {
		fn, ok := o.functions[rt.Target]
		if !ok {
			return fmt.Errorf("route %s: target %q is not a function in lambdas.Functions", rt.Name, rt.Target)
		}
		if f, _ := lambdas.Lookup(rt.Target); f.Trigger != lambdas.Bus {
			return fmt.Errorf("route %s: function %s is not triggered by the bus", rt.Name, rt.Target)
		}
		var pattern map[string]any
		if err := json.Unmarshal([]byte(rt.Pattern), &pattern); err != nil {
			return fmt.Errorf("route %s: pattern: %w", rt.Name, err)
		}
		id := construct(rt.Name)
		dlq := o.newDLQ(id+"DLQ", "events the bus could not deliver to "+rt.Target+" (rule "+rt.Name+")")
		rule := awsevents.NewCfnRule(o.Stack, jsii.String(id+"Rule"), &awsevents.CfnRuleProps{
			Description:  jsii.String(rt.Description),
			EventBusName: o.bus.EventBusName(),
			EventPattern: pattern,
			State:        jsii.String("ENABLED"),
			Targets: &[]*awsevents.CfnRule_TargetProperty{{
				Id:               jsii.String(rt.Target),
				Arn:              fn.FunctionArn(),
				RetryPolicy:      targetRetryPolicy(),
				DeadLetterConfig: &awsevents.CfnRule_DeadLetterConfigProperty{Arn: dlq.QueueArn()},
			}},
		})
		allowRuleToDeadLetter(dlq, rule)
		o.watchRuleDLQ(rule)
		fn.AddPermission(jsii.String(id+"Invoke"), &awslambda.Permission{
			Principal: awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil),
			SourceArn: rule.AttrArn(),
		})
	}
	return nil
}

// watchRuleDLQ counts the events rule could not put in its target's DLQ. EventBridge names a rule on a
// custom bus by the bus and the rule (dimensions EventBusName, RuleName), the rule's name being the last
// part of its ARN (arn:…:rule/<bus>/<rule>).
func (o *Orderflow) watchRuleDLQ(rule awsevents.CfnRule) {
	name := awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), rule.AttrArn(), nil))
	o.unsent = append(o.unsent, awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String("AWS/Events"), MetricName: jsii.String("InvocationsFailedToBeSentToDlq"),
		DimensionsMap: &map[string]*string{"EventBusName": o.bus.EventBusName(), "RuleName": name},
		Statistic:     jsii.String("Sum"), Period: fiveMinutes,
	}))
}

// addReconcilerSchedule invokes every Schedule function on a fixed rate.
func (o *Orderflow) addReconcilerSchedule() {
	for _, f := range lambdas.Functions {
		if f.Trigger != lambdas.Schedule {
			continue
		}
		id := construct(f.Name)
		rule := awsevents.NewRule(o.Stack, jsii.String(id+"Schedule"), &awsevents.RuleProps{
			Description: jsii.String("runs " + f.Name + ": " + f.Description),
			Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(o.Settings.ReconcileEvery))),
			Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(o.functions[f.Name], &awseventstargets.LambdaFunctionProps{
				DeadLetterQueue: o.newDLQ(id+"ScheduleDLQ", "schedule runs that could not be delivered to "+f.Name),
				RetryAttempts:   jsii.Number(targetRetries),
				// A run that is this late is superseded by the next one.
				MaxEventAge: awscdk.Duration_Minutes(jsii.Number(o.Settings.ReconcileEvery)),
			})},
		})
		// A rule on the default bus is named by RuleName alone.
		o.unsent = append(o.unsent, awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/Events"), MetricName: jsii.String("InvocationsFailedToBeSentToDlq"),
			DimensionsMap: &map[string]*string{"RuleName": rule.RuleName()},
			Statistic:     jsii.String("Sum"), Period: fiveMinutes,
		}))
	}
}

// addSchemas publishes every file of the schemas folder in a registry, read at synth time, so that a
// contract change ships with the next deploy.
func (o *Orderflow) addSchemas() error {
	registry := awseventschemas.NewCfnRegistry(o.Stack, jsii.String("SchemaRegistry"), &awseventschemas.CfnRegistryProps{
		Description: jsii.String("orderflow event contracts (JSON Schema Draft 4), generated from contracts/"),
	})
	o.registry = *registry.AttrRegistryName()
	files, err := filepath.Glob(filepath.Join(o.Settings.SchemasDir, "*.json"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no event schemas in %s (context %q)", o.Settings.SchemasDir, CtxSchemasDir)
	}
	sort.Strings(files)
	for _, file := range files {
		content, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("read schema: %w", err)
		}
		if !json.Valid(content) {
			return fmt.Errorf("schema %s is not JSON", file)
		}
		// Named like the schemas EventBridge discovers: <source>@<DetailType>.
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		awseventschemas.NewCfnSchema(o.Stack, jsii.String("Schema"+construct(strings.ReplaceAll(name, "@", "-"))), &awseventschemas.CfnSchemaProps{
			RegistryName: registry.AttrRegistryName(),
			SchemaName:   jsii.String(name),
			Type:         jsii.String("JSONSchemaDraft4"),
			Content:      jsii.String(string(content)),
			Description:  jsii.String("detail of " + strings.Replace(name, "@", " events of type ", 1)),
		})
	}
	return nil
}

// addSubscribers creates a forwarding rule for each entry of the subscribers context: the matching events
// go to the team's event bus through one forwarding role, with a DLQ for what cannot be delivered (for
// example while the team's bus policy does not yet allow us).
func (o *Orderflow) addSubscribers() error {
	if len(o.Settings.Subscribers) == 0 {
		return nil
	}
	var buses []*string
	for _, s := range o.Settings.Subscribers {
		buses = append(buses, jsii.String(s.Bus))
	}
	// Only this account's rules on this stack's bus may assume the role (confused deputy prevention):
	// EventBridge sets aws:SourceAccount and aws:SourceArn (the rule's ARN) when it assumes a target's
	// role. The rules are matched by the bus's name rather than named one by one, since each rule names
	// the role and the role cannot name them back without a dependency cycle.
	role := awsiam.NewRole(o.Stack, jsii.String("ForwardingRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewPrincipalWithConditions(awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil), &map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": o.Stack.Account()},
			"ArnLike": map[string]any{"aws:SourceArn": awscdk.Fn_Join(jsii.String(""), &[]*string{
				jsii.String("arn:"), o.Stack.Partition(), jsii.String(":events:"), o.Stack.Region(), jsii.String(":"),
				o.Stack.Account(), jsii.String(":rule/"), o.bus.EventBusName(), jsii.String("/*"),
			})},
		}),
		Description: jsii.String("puts orderflow events on the event buses of subscribing teams"),
	})
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("events:PutEvents"),
		Resources: &buses,
	}))
	for _, s := range o.Settings.Subscribers {
		id := "Subscriber" + construct(s.Name)
		dlq := o.newDLQ(id+"DLQ", "events that could not be forwarded to subscriber "+s.Name)
		rule := awsevents.NewCfnRule(o.Stack, jsii.String(id+"Rule"), &awsevents.CfnRuleProps{
			Description:  jsii.String("forwards events to subscriber " + s.Name),
			EventBusName: o.bus.EventBusName(),
			EventPattern: s.Pattern,
			State:        jsii.String("ENABLED"),
			Targets: &[]*awsevents.CfnRule_TargetProperty{{
				Id:               jsii.String(s.Name),
				Arn:              jsii.String(s.Bus),
				RoleArn:          role.RoleArn(),
				RetryPolicy:      targetRetryPolicy(),
				DeadLetterConfig: &awsevents.CfnRule_DeadLetterConfigProperty{Arn: dlq.QueueArn()},
			}},
		})
		allowRuleToDeadLetter(dlq, rule)
		o.watchRuleDLQ(rule)
	}
	awscdk.NewCfnOutput(o.Stack, jsii.String("ForwardingRoleArn"), &awscdk.CfnOutputProps{
		Description: jsii.String("role that forwards events to subscribers: allow it events:PutEvents in your bus policy"),
		Value:       role.RoleArn(),
	})
	return nil
}
