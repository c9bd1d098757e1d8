package stack

import (
	"encoding/json"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/lambdas"
)

// accessLogFormat is one JSON line per request. The API key id (not the key) tells callers apart.
const accessLogFormat = `{"requestId":"$context.requestId","requestTime":"$context.requestTime",` +
	`"ip":"$context.identity.sourceIp","apiKeyId":"$context.identity.apiKeyId",` +
	`"httpMethod":"$context.httpMethod","resourcePath":"$context.resourcePath","path":"$context.path",` +
	`"status":"$context.status","responseLength":"$context.responseLength",` +
	`"responseLatency":"$context.responseLatency","integrationLatency":"$context.integrationLatency",` +
	`"integrationError":"$context.integration.error","xrayTraceId":"$context.xrayTraceId"}`

// addAPIKeys creates the two generated API keys. They are created apart from the API (not with
// RestApi.AddApiKey) because the API function's environment names the admin key: a key bound to the
// stage would make the function depend on its own deployment.
func (o *Orderflow) addAPIKeys() {
	o.clientKey = awsapigateway.NewApiKey(o.Stack, jsii.String("ClientApiKey"), &awsapigateway.ApiKeyProps{
		Description: jsii.String("orderflow client key: orders and the chatbot"),
	})
	o.adminKey = awsapigateway.NewApiKey(o.Stack, jsii.String("AdminApiKey"), &awsapigateway.ApiKeyProps{
		Description: jsii.String("orderflow admin key: inventory and operations routes"),
	})
}

// addAPI creates the REST API: a proxy integration to the API function for every path, /chatbot to
// the chatbot function, an API key on every method but those of /healthz, and the two usage plans.
func (o *Orderflow) addAPI() {
	accessLogs := awslogs.NewLogGroup(o.Stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     retentionDays[o.Settings.LogRetentionDays],
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	o.api = awsapigateway.NewRestApi(o.Stack, jsii.String("Api"), &awsapigateway.RestApiProps{
		// API Gateway's metrics name an API by its name (and stage): named after the stack, two copies in
		// one account keep their metrics, alarms and graphs apart.
		RestApiName:   jsii.String(o.Settings.StackName),
		Description:   jsii.String("orderflow REST API"),
		EndpointTypes: &[]awsapigateway.EndpointType{awsapigateway.EndpointType_REGIONAL},
		// Every request body reaches the function base64-encoded, byte for byte as the client sent it
		// (without this, API Gateway would replace bytes that are not UTF-8 before the function sees them).
		BinaryMediaTypes: &[]*string{jsii.String("*/*")},
		// The account-level role that lets API Gateway write the access and execution logs. Without it
		// the first deployment in a fresh account fails to enable logging.
		CloudWatchRole:       jsii.Bool(true),
		DefaultMethodOptions: &awsapigateway.MethodOptions{ApiKeyRequired: jsii.Bool(true)},
		DeployOptions: &awsapigateway.StageOptions{
			StageName:            jsii.String(o.Settings.Stage),
			ThrottlingRateLimit:  jsii.Number(o.Settings.StageRate),
			ThrottlingBurstLimit: jsii.Number(o.Settings.StageBurst),
			TracingEnabled:       jsii.Bool(true),
			AccessLogDestination: awsapigateway.NewLogGroupLogDestination(accessLogs),
			AccessLogFormat:      awsapigateway.AccessLogFormat_Custom(jsii.String(accessLogFormat)),
			LoggingLevel:         awsapigateway.MethodLoggingLevel_ERROR,
			MetricsEnabled:       jsii.Bool(true),
			// Request and response bodies hold customer data: never in the logs.
			DataTraceEnabled: jsii.Bool(false),
		},
	})

	// The stack has its own ApiUrl output; the RestApi's automatic one would say the same under a hashed name.
	o.api.Node().TryRemoveChild(jsii.String("Endpoint"))

	api := awsapigateway.NewLambdaIntegration(o.functions[lambdas.API], nil)
	proxy := o.api.Root().AddResource(jsii.String("{proxy+}"), nil)
	proxy.AddMethod(jsii.String("ANY"), api, nil)
	o.api.Root().AddMethod(jsii.String("ANY"), api, nil)
	// Load balancers and uptime checks probe the health route without a key. ANY, not GET: the function
	// answers GET and HEAD, and another method 405 with the methods it takes, as the local server does,
	// where API Gateway alone would answer HEAD and the rest 403 about a missing key.
	o.api.Root().AddResource(jsii.String("healthz"), nil).
		AddMethod(jsii.String("ANY"), api, &awsapigateway.MethodOptions{ApiKeyRequired: jsii.Bool(false)})
	// ANY, not POST: the chatbot function answers other methods 405 in orderflow's error body, as the
	// local server does, where API Gateway alone would answer 403.
	o.api.Root().AddResource(jsii.String("chatbot"), nil).
		AddMethod(jsii.String("ANY"), awsapigateway.NewLambdaIntegration(o.functions[lambdas.Chatbot], nil), nil)

	// What API Gateway refuses itself is answered in orderflow's error body too, so clients handle one
	// error format whichever runtime answers.
	// A status of 0 keeps API Gateway's own: DEFAULT_5XX stands for a function that failed (502), one
	// that was throttled (500) and the like, each of which keeps its status.
	for _, gr := range []struct {
		id     string
		typ    awsapigateway.ResponseType
		status int
		code   string
		msg    string
	}{
		{"MissingKey", awsapigateway.ResponseType_MISSING_AUTHENTICATION_TOKEN(), 403, contracts.CodeForbidden, "a valid X-API-Key header is required"},
		{"InvalidKey", awsapigateway.ResponseType_INVALID_API_KEY(), 403, contracts.CodeForbidden, "a valid X-API-Key header is required"},
		{"AccessDenied", awsapigateway.ResponseType_ACCESS_DENIED(), 403, contracts.CodeForbidden, "access denied"},
		{"Throttled", awsapigateway.ResponseType_THROTTLED(), 429, contracts.CodeRateLimited, "too many requests for this API key; retry later"},
		{"QuotaExceeded", awsapigateway.ResponseType_QUOTA_EXCEEDED(), 429, contracts.CodeRateLimited, "this API key's daily quota is used up"},
		{"TooLarge", awsapigateway.ResponseType_REQUEST_TOO_LARGE(), 413, contracts.CodePayloadTooLarge, "request body too large"},
		// The function did not answer within API Gateway's 29 s: the request may still have been carried
		// out, so the client is told to retry it as it is, which the Idempotency-Key makes safe.
		{"Timeout", awsapigateway.ResponseType_INTEGRATION_TIMEOUT(), 504, contracts.CodeUnavailable,
			"the request timed out and may have been carried out: retry it with the same Idempotency-Key"},
		{"Default5xx", awsapigateway.ResponseType_DEFAULT_5XX(), 0, contracts.CodeInternal, "internal server error"},
	} {
		body, _ := json.Marshal(contracts.ErrorBody{Error: contracts.ErrorDetail{Code: gr.code, Message: gr.msg}})
		var headers *map[string]*string
		if gr.id == "Throttled" {
			// As the local server's 429 does: the usage plan's token bucket refills every second. A used-up
			// daily quota has no such bound, so its 429 says nothing it could not keep.
			headers = &map[string]*string{"Retry-After": jsii.String("'1'")}
		}
		var status *string
		if gr.status != 0 {
			status = jsii.String(strconv.Itoa(gr.status))
		}
		o.api.AddGatewayResponse(jsii.String(gr.id), &awsapigateway.GatewayResponseOptions{
			Type: gr.typ, StatusCode: status, ResponseHeaders: headers,
			Templates: &map[string]*string{"application/json": jsii.String(string(body))},
		})
	}

	for _, p := range []struct {
		id, description string
		plan            Plan
		key             awsapigateway.IApiKey
	}{
		{"ClientPlan", "orderflow clients", o.Settings.Client, o.clientKey},
		{"AdminPlan", "orderflow admins", o.Settings.Admin, o.adminKey},
	} {
		plan := o.api.AddUsagePlan(jsii.String(p.id), &awsapigateway.UsagePlanProps{
			Description: jsii.String(p.description),
			Throttle: &awsapigateway.ThrottleSettings{
				RateLimit:  jsii.Number(p.plan.RateLimit),
				BurstLimit: jsii.Number(p.plan.BurstLimit),
			},
			Quota:     &awsapigateway.QuotaSettings{Limit: jsii.Number(p.plan.QuotaPerDay), Period: awsapigateway.Period_DAY},
			ApiStages: &[]*awsapigateway.UsagePlanPerApiStage{{Api: o.api, Stage: o.api.DeploymentStage()}},
		})
		plan.AddApiKey(p.key, nil)
	}
}
