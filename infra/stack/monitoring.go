package stack

import (
	"fmt"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/jsii-runtime-go"

	"github.com/orderflow/orderflow/services/lambdas"
)

// EMF metrics the functions print (names identical to the Prometheus metrics of the local runtime).
const (
	ordersCreated   = "orderflow_orders_created_total"
	ordersCompleted = "orderflow_orders_completed_total"
	ordersFailed    = "orderflow_orders_failed_total"
	stageDuration   = "orderflow_stage_duration_seconds"
	orderCompletion = "orderflow_order_completion_seconds"
	httpRequests    = "orderflow_http_requests_total"
	httpDuration    = "orderflow_http_request_duration_seconds"
)

// Alarm thresholds.
const (
	ingestOldestAgeSeconds = 300  // an order waiting this long for the dispatcher is stuck
	api5xxFraction         = 0.01 // of requests, over 5 minutes, three times in a row
	apiP99LatencyMs        = 3000
	orderFailurePercent    = 10 // of the orders created, over 15 minutes
)

var fiveMinutes = awscdk.Duration_Minutes(jsii.Number(5))

// metricsNamespace is the CloudWatch namespace of the stack's EMF metrics (METRICS_NAMESPACE): the stack's
// name, so that two copies of the stack in one account and region (the stackName setting) count, alarm
// on and graph only their own orders. The default stack keeps the namespace "Orderflow".
func (o *Orderflow) metricsNamespace() string { return o.Settings.StackName }

func (o *Orderflow) orderflowMetric(name, statistic, label string) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String(o.metricsNamespace()), MetricName: jsii.String(name),
		Statistic: jsii.String(statistic), Period: fiveMinutes, Label: jsii.String(label),
	})
}

// search graphs every dimension combination of an EMF metric, whatever its labels are.
func (o *Orderflow) search(name, statistic, label string) awscloudwatch.MathExpression {
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String(fmt.Sprintf(`SEARCH('Namespace="%s" MetricName="%s"', '%s', 300)`, o.metricsNamespace(), name, statistic)),
		Label:      jsii.String(label),
		Period:     fiveMinutes,
	})
}

func (o *Orderflow) alarm(id, description string, metric awscloudwatch.IMetric, threshold float64, periods int) {
	// No data is no traffic, not a failure.
	o.alarmMissing(id, description, metric, threshold, periods, awscloudwatch.TreatMissingData_NOT_BREACHING)
}

// alarmMissing is alarm with what a period without data means.
func (o *Orderflow) alarmMissing(id, description string, metric awscloudwatch.IMetric, threshold float64, periods int, missing awscloudwatch.TreatMissingData) {
	a := awscloudwatch.NewAlarm(o.Stack, jsii.String(id+"Alarm"), &awscloudwatch.AlarmProps{
		AlarmDescription:   jsii.String(description),
		Metric:             metric,
		Threshold:          jsii.Number(threshold),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		EvaluationPeriods:  jsii.Number(periods),
		DatapointsToAlarm:  jsii.Number(periods),
		TreatMissingData:   missing,
	})
	action := awscloudwatchactions.NewSnsAction(o.topic)
	a.AddAlarmAction(action)
	a.AddOkAction(action)
}

// addAlarms sends to the operations topic when: a DLQ is not empty, the ingest queue backs up, a
// function errs or is throttled, the API fails or slows down, or too many orders fail.
func (o *Orderflow) addAlarms() {
	if o.Settings.AlarmEmail != "" {
		o.topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(o.Settings.AlarmEmail), &awssnssubscriptions.EmailSubscriptionProps{
			DeadLetterQueue: o.newDLQ("AlarmEmailDLQ", "operations messages SNS could not e-mail"),
		}))
	}
	for i, q := range o.dlqs {
		// SQS stops sending a queue's metrics six hours after the last call on it, messages or not: a
		// DLQ's alarm keeps its state through the silence (IGNORE), so that it stays in ALARM until
		// someone redrives or deletes the dead letters, instead of turning OK while they wait.
		o.alarmMissing(*q.Node().Id(), "dead letters: "+o.deadLetters[i],
			q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: awscdk.Duration_Minutes(jsii.Number(1))}), 0, 1,
			awscloudwatch.TreatMissingData_IGNORE)
	}
	o.alarm("IngestQueueAge", fmt.Sprintf("an accepted order has waited more than %d s for the dispatcher", ingestOldestAgeSeconds),
		o.queue.MetricApproximateAgeOfOldestMessage(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: awscdk.Duration_Minutes(jsii.Number(1))}),
		ingestOldestAgeSeconds, 3)
	for _, name := range sortedKeys(o.functions) {
		if f, _ := lambdas.Lookup(name); asynchronous(f) {
			// Lambda's count of asynchronous invocations it could not send to the on-failure destination.
			o.unsent = append(o.unsent, o.functions[name].Metric(jsii.String("DestinationDeliveryFailures"),
				&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: fiveMinutes}))
		}
	}
	// What could not be put in a DLQ (a queue policy or key that refuses it, say) is lost without a dead
	// letter to alarm on; an alarm watches at most 10 metrics, so they are summed 10 at a time.
	for i := 0; i < len(o.unsent); i += 10 {
		chunk := o.unsent[i:min(i+10, len(o.unsent))]
		using := map[string]awscloudwatch.IMetric{}
		for j, m := range chunk {
			using[fmt.Sprintf("m%d", j)] = m
		}
		o.alarm(fmt.Sprintf("UndeliveredDeadLetters%d", i/10+1), "events or invocations lost: they failed and could not be put in their dead-letter queue",
			awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
				Expression: jsii.String("SUM(METRICS())"), Label: jsii.String("not put in a DLQ"),
				Period: fiveMinutes, UsingMetrics: &using,
			}), 0, 1)
	}
	for _, name := range sortedKeys(o.functions) {
		fn := o.functions[name]
		id := construct(name)
		o.alarm(id+"Errors", name+" failed invocations",
			fn.MetricErrors(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: fiveMinutes}), 0, 1)
		o.alarm(id+"Throttles", name+" throttled invocations",
			fn.MetricThrottles(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: fiveMinutes}), 0, 1)
	}
	stage := o.api.DeploymentStage()
	// The average of 5XXError is the fraction of requests answered with a 5xx.
	o.alarm("Api5xxRate", fmt.Sprintf("more than %.0f%% of API requests answered 5xx", api5xxFraction*100),
		stage.MetricServerError(&awscloudwatch.MetricOptions{Statistic: jsii.String("Average"), Period: fiveMinutes}), api5xxFraction, 3)
	o.alarm("ApiLatencyP99", fmt.Sprintf("API p99 latency above %d ms", apiP99LatencyMs),
		stage.MetricLatency(&awscloudwatch.MetricOptions{Statistic: jsii.String("p99"), Period: fiveMinutes}), apiP99LatencyMs, 3)
	// The aggregate series (the EMF lines' empty dimension set) of orders created and failed.
	o.alarm("OrderFailureRate", fmt.Sprintf("more than %d%% of orders failed over 15 minutes", orderFailurePercent),
		awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String("IF(created > 0, 100 * FILL(failed, 0) / created, 0)"),
			Label:      jsii.String("failed orders, % of created"),
			Period:     awscdk.Duration_Minutes(jsii.Number(15)),
			UsingMetrics: &map[string]awscloudwatch.IMetric{
				"created": o.orderflowMetric(ordersCreated, "Sum", "created"),
				"failed":  o.orderflowMetric(ordersFailed, "Sum", "failed"),
			},
		}), orderFailurePercent, 1)
}

// addDashboard shows the order flow (created, completed, failed, time per stage and end to end), the
// API, the functions and every DLQ.
func (o *Orderflow) addDashboard() {
	stage := o.api.DeploymentStage()
	graph := func(title string, width float64, left []awscloudwatch.IMetric, right []awscloudwatch.IMetric) awscloudwatch.IWidget {
		props := &awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Width: jsii.Number(width), Height: jsii.Number(6), Left: &left}
		if len(right) > 0 {
			props.Right = &right
		}
		return awscloudwatch.NewGraphWidget(props)
	}
	var dlqDepths []awscloudwatch.IMetric
	for _, q := range o.dlqs {
		dlqDepths = append(dlqDepths, q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Statistic: jsii.String("Maximum"), Period: fiveMinutes, Label: q.Node().Id()}))
	}
	var errors, durations []awscloudwatch.IMetric
	names := sortedKeys(o.functions)
	sort.Strings(names)
	for _, name := range names {
		fn := o.functions[name]
		errors = append(errors, fn.MetricErrors(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: fiveMinutes, Label: jsii.String(name)}))
		durations = append(durations, fn.MetricDuration(&awscloudwatch.MetricOptions{Statistic: jsii.String("p99"), Period: fiveMinutes, Label: jsii.String(name)}))
	}
	o.dashboard = awscloudwatch.NewDashboard(o.Stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(3)),
		Widgets: &[]*[]awscloudwatch.IWidget{
			{
				graph("Orders", 12, []awscloudwatch.IMetric{
					o.search(ordersCreated, "Sum", "created"),
					o.search(ordersCompleted, "Sum", "completed"),
					o.search(ordersFailed, "Sum", "failed"),
				}, nil),
				graph("Time per stage and created to completed (s)", 12, []awscloudwatch.IMetric{
					o.search(stageDuration, "p99", "stage p99"),
				}, []awscloudwatch.IMetric{
					o.search(orderCompletion, "p50", "created to completed p50"),
					o.search(orderCompletion, "p99", "created to completed p99"),
				}),
			},
			{
				graph("API latency (ms)", 8, []awscloudwatch.IMetric{
					stage.MetricLatency(&awscloudwatch.MetricOptions{Statistic: jsii.String("p50"), Period: fiveMinutes, Label: jsii.String("p50")}),
					stage.MetricLatency(&awscloudwatch.MetricOptions{Statistic: jsii.String("p99"), Period: fiveMinutes, Label: jsii.String("p99")}),
				}, nil),
				graph("API requests and errors", 8, []awscloudwatch.IMetric{
					stage.MetricCount(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: fiveMinutes, Label: jsii.String("requests")}),
				}, []awscloudwatch.IMetric{
					stage.MetricClientError(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: fiveMinutes, Label: jsii.String("4xx")}),
					stage.MetricServerError(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: fiveMinutes, Label: jsii.String("5xx")}),
				}),
				graph("Requests by route and status; duration by route", 8, []awscloudwatch.IMetric{
					o.search(httpRequests, "Sum", "requests"),
				}, []awscloudwatch.IMetric{
					o.search(httpDuration, "p99", "p99 s"),
				}),
			},
			{
				graph("Dead-letter queue depths", 8, dlqDepths, nil),
				graph("Function errors", 8, errors, nil),
				graph("Function duration p99 (ms)", 8, durations, nil),
			},
		},
	})
}
