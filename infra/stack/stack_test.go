package stack_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/infra/stack"
	"github.com/orderflow/orderflow/services/lambdas"
	"github.com/orderflow/orderflow/services/routing"
)

const schemasDir = "../../schemas/events"

// subscriber is the forwarding rule the tests synthesize with.
var subscriber = map[string]any{
	"name":         "analytics",
	"eventPattern": map[string]any{"source": []any{"orderflow.fulfillment"}, "detail-type": []any{"OrderCompleted"}},
	"eventBusArn":  "arn:aws:events:eu-west-1:111122223333:event-bus/analytics",
}

// synthesized is the stack synthesized once for every test: jsii starts node, and synthesis with the
// cdk-nag packs takes a while.
var synthesized struct {
	once     sync.Once
	err      error
	stack    awscdk.Stack
	file     string         // the template file in the cloud assembly
	template map[string]any // its JSON

	// cfn-lint runs in the background from the moment the template exists.
	lintDone chan struct{}
	lintOut  []byte
	lintErr  error
}

var dist string // placeholder bootstraps

func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "orderflow-infra-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dist = filepath.Join(tmp, "lambda")
	for _, f := range lambdas.Functions {
		dir := filepath.Join(dist, f.Name)
		if err := os.MkdirAll(dir, 0o755); err == nil {
			err = os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("placeholder "+f.Name), 0o755)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	// The template must not depend on the caller's environment.
	os.Unsetenv("CDK_CONTEXT_JSON")
	os.Setenv("CDK_OUTDIR", filepath.Join(tmp, "cdk.out"))
	code := m.Run()
	jsii.Close()
	os.RemoveAll(tmp)
	os.Exit(code)
}

func synth(t *testing.T) (awscdk.Stack, map[string]any) {
	t.Helper()
	s := &synthesized
	s.once.Do(func() {
		app := stack.NewApp(nil, map[string]any{
			stack.CtxLambdaDist:      dist,
			stack.CtxSchemasDir:      schemasDir,
			stack.CtxAlarmEmail:      "operations@example.com",
			stack.CtxOperationsPhone: "+15555550100",
			stack.CtxSubscribers:     []any{subscriber},
		})
		o, err := stack.New(app)
		if err != nil {
			s.err = err
			return
		}
		asm := app.Synth(nil)
		s.stack = o.Stack
		s.file = filepath.Join(*asm.Directory(), *o.Stack.TemplateFile())
		b, err := os.ReadFile(s.file)
		if err == nil {
			err = json.Unmarshal(b, &s.template)
		}
		s.err = err
		s.lintDone = make(chan struct{})
		go func() {
			defer close(s.lintDone)
			lint, err := exec.LookPath("cfn-lint")
			if err != nil {
				s.lintErr = errors.New("cfn-lint is not installed: install it with `pip install cfn-lint` (CI uses 1.51)")
				return
			}
			s.lintOut, s.lintErr = exec.Command(lint, "--config-file", "../.cfnlintrc", "--", s.file).CombinedOutput()
		}()
	})
	if s.err != nil {
		t.Fatalf("synthesize: %v", s.err)
	}
	return s.stack, s.template
}

// resources returns the template's resources of type typ by logical id.
func resources(tpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tpl["Resources"].(map[string]any) {
		r := r.(map[string]any)
		if r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

func getAtt(id, attr string) map[string]any { return map[string]any{"Fn::GetAtt": []any{id, attr}} }

func ref(id string) map[string]any { return map[string]any{"Ref": id} }

// functionID returns the logical id of the function f (functions are told apart by description).
func functionID(t *testing.T, tpl map[string]any, f lambdas.Function) string {
	t.Helper()
	var ids []string
	for id, r := range resources(tpl, "AWS::Lambda::Function") {
		if props(r)["Description"] == f.Description {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("function %s: %d functions with its description, want 1", f.Name, len(ids))
	}
	return ids[0]
}

// refersTo reports whether the value v (a Ref or GetAtt) names the logical id.
func refersTo(v any, id string) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	if m["Ref"] == id {
		return true
	}
	att, ok := m["Fn::GetAtt"].([]any)
	return ok && len(att) == 2 && att[0] == id
}

func TestRoutesBecomeRulesWithTheTablesPatterns(t *testing.T) {
	st, tpl := synth(t)
	template := assertions.Template_FromJSON(&tpl, nil)
	for _, rt := range routing.Table {
		t.Run(rt.Name, func(t *testing.T) {
			f, ok := lambdas.Lookup(rt.Target)
			if !ok {
				t.Fatalf("target %s is not a function", rt.Target)
			}
			fn := functionID(t, tpl, f)
			var pattern map[string]any
			if err := json.Unmarshal([]byte(rt.Pattern), &pattern); err != nil {
				t.Fatal(err)
			}
			rules := template.FindResources(jsii.String("AWS::Events::Rule"), map[string]any{
				"Properties": map[string]any{
					// Exactly the table's pattern: no matcher added, dropped or rewritten.
					"EventPattern": assertions.Match_ObjectEquals(&pattern),
					"Targets": []any{assertions.Match_ObjectLike(&map[string]any{
						"Arn": getAtt(fn, "Arn"),
						"RetryPolicy": map[string]any{
							"MaximumRetryAttempts":     assertions.Match_AnyValue(),
							"MaximumEventAgeInSeconds": assertions.Match_AnyValue(),
						},
						"DeadLetterConfig": map[string]any{"Arn": map[string]any{"Fn::GetAtt": []any{assertions.Match_AnyValue(), "Arn"}}},
					})},
				},
			})
			if len(*rules) != 1 {
				t.Fatalf("%d rules with the pattern %s targeting %s with retries and a DLQ, want 1", len(*rules), rt.Pattern, rt.Target)
			}
			// The function's own asynchronous retries and on-failure DLQ.
			configs := template.FindResources(jsii.String("AWS::Lambda::EventInvokeConfig"), map[string]any{
				"Properties": map[string]any{
					"FunctionName":             ref(fn),
					"MaximumRetryAttempts":     assertions.Match_AnyValue(),
					"MaximumEventAgeInSeconds": assertions.Match_AnyValue(),
					"DestinationConfig": map[string]any{"OnFailure": map[string]any{
						"Destination": map[string]any{"Fn::GetAtt": []any{assertions.Match_AnyValue(), "Arn"}}}},
				},
			})
			if len(*configs) != 1 {
				t.Errorf("function %s: %d asynchronous invoke configs with retries and an on-failure DLQ, want 1", rt.Target, len(*configs))
			}
		})
	}
	_ = st
	// No rule beyond the table's, the schedule and the subscribers'.
	if got, want := len(resources(tpl, "AWS::Events::Rule")), len(routing.Table)+1+1; got != want {
		t.Errorf("%d rules, want %d (routes, the reconciler schedule, one subscriber)", got, want)
	}
}

func TestEveryMethodButHealthzRequiresAnAPIKey(t *testing.T) {
	_, tpl := synth(t)
	paths := map[string]string{} // resource logical id -> path
	apiResources := resources(tpl, "AWS::ApiGateway::Resource")
	var pathOf func(id string) string
	pathOf = func(id string) string {
		if p, ok := paths[id]; ok {
			return p
		}
		r, ok := apiResources[id]
		if !ok {
			return "" // the root
		}
		parent := props(r)["ParentId"].(map[string]any)
		parentPath := ""
		if att, ok := parent["Fn::GetAtt"].([]any); !ok || att[1] != "RootResourceId" {
			parentPath = pathOf(parent["Ref"].(string))
		}
		paths[id] = parentPath + "/" + props(r)["PathPart"].(string)
		return paths[id]
	}
	api, _ := lambdas.Lookup(lambdas.API)
	chatbot, _ := lambdas.Lookup(lambdas.Chatbot)
	apiFn, chatbotFn := functionID(t, tpl, api), functionID(t, tpl, chatbot)
	got := map[string]bool{}
	for _, m := range resources(tpl, "AWS::ApiGateway::Method") {
		p := props(m)
		path := "/"
		if rid, ok := p["ResourceId"].(map[string]any)["Ref"].(string); ok {
			path = pathOf(rid)
		}
		route := p["HttpMethod"].(string) + " " + path
		keyRequired, _ := p["ApiKeyRequired"].(bool)
		got[route] = keyRequired
		uri, _ := json.Marshal(p["Integration"].(map[string]any)["Uri"])
		want := apiFn
		if route == "ANY /chatbot" {
			want = chatbotFn
		}
		if !strings.Contains(string(uri), `"`+want+`"`) {
			t.Errorf("%s integrates with %s, want function %s", route, uri, want)
		}
		if p["Integration"].(map[string]any)["Type"] != "AWS_PROXY" {
			t.Errorf("%s: integration is not a Lambda proxy integration", route)
		}
	}
	want := map[string]bool{"ANY /": true, "ANY /{proxy+}": true, "ANY /chatbot": true, "ANY /healthz": false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("methods and whether they require an API key (-want +got):\n%s", diff)
	}
}

func TestTables(t *testing.T) {
	_, tpl := synth(t)
	tables := resources(tpl, "AWS::DynamoDB::Table")
	if len(tables) != len(lambdas.Tables) {
		t.Fatalf("%d tables, want %d", len(tables), len(lambdas.Tables))
	}
	byID := map[string]map[string]any{}
	for id, r := range tables {
		byID[id] = r
	}
	for _, lt := range lambdas.Tables {
		t.Run(lt.ID, func(t *testing.T) {
			var r map[string]any
			for id, tr := range byID {
				if strings.HasPrefix(id, lt.ID+"Table") {
					r = tr
				}
			}
			if r == nil {
				t.Fatalf("no table %s", lt.ID)
			}
			p := props(r)
			if pitr, _ := p["PointInTimeRecoverySpecification"].(map[string]any); pitr["PointInTimeRecoveryEnabled"] != true {
				t.Error("no point-in-time recovery")
			}
			if p["BillingMode"] != "PAY_PER_REQUEST" {
				t.Errorf("billing mode %v, want on demand", p["BillingMode"])
			}
			if sse, _ := p["SSESpecification"].(map[string]any); sse["SSEEnabled"] != true {
				t.Errorf("encryption %v, want the AWS managed key", p["SSESpecification"])
			}
			if r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
				t.Error("not kept when the stack is deleted or the table replaced")
			}
			wantKeys := []any{map[string]any{"AttributeName": "pk", "KeyType": "HASH"}}
			if lt.SortKey {
				wantKeys = append(wantKeys, map[string]any{"AttributeName": "sk", "KeyType": "RANGE"})
			}
			if diff := cmp.Diff(wantKeys, p["KeySchema"]); diff != "" {
				t.Errorf("key schema (-want +got):\n%s", diff)
			}
			ttl, _ := p["TimeToLiveSpecification"].(map[string]any)
			if lt.TTL != "" && (ttl["AttributeName"] != lt.TTL || ttl["Enabled"] != true) {
				t.Errorf("TTL %v, want on %s", ttl, lt.TTL)
			}
			if lt.TTL == "" && ttl != nil {
				t.Errorf("TTL %v, want none", ttl)
			}
			var gotIndexes, wantIndexes []string
			gsis, _ := p["GlobalSecondaryIndexes"].([]any)
			for _, g := range gsis {
				g := g.(map[string]any)
				gotIndexes = append(gotIndexes, fmt.Sprintf("%s %v %v", g["IndexName"], g["KeySchema"], g["Projection"].(map[string]any)["ProjectionType"]))
			}
			for _, ix := range lt.Indexes {
				keys := []any{map[string]any{"AttributeName": ix.PartitionKey, "KeyType": "HASH"}}
				if ix.SortKey != "" {
					keys = append(keys, map[string]any{"AttributeName": ix.SortKey, "KeyType": "RANGE"})
				}
				projection := "ALL"
				if ix.KeysOnly {
					projection = "KEYS_ONLY"
				}
				wantIndexes = append(wantIndexes, fmt.Sprintf("%s %v %v", ix.Name, keys, projection))
			}
			if diff := cmp.Diff(wantIndexes, gotIndexes); diff != "" {
				t.Errorf("indexes (-want +got):\n%s", diff)
			}
		})
	}
}

// deadLetterQueues returns the logical ids of the queues something dead-letters into, with what.
func deadLetterQueues(tpl map[string]any) map[string]string {
	dlqs := map[string]string{}
	mark := func(v any, by string) {
		if m, ok := v.(map[string]any); ok {
			if att, ok := m["Fn::GetAtt"].([]any); ok {
				dlqs[att[0].(string)] = by
			}
		}
	}
	for id, q := range resources(tpl, "AWS::SQS::Queue") {
		if rp, ok := props(q)["RedrivePolicy"].(map[string]any); ok {
			mark(rp["deadLetterTargetArn"], "redrive policy of "+id)
		}
	}
	for id, r := range resources(tpl, "AWS::Events::Rule") {
		for _, target := range props(r)["Targets"].([]any) {
			if dl, ok := target.(map[string]any)["DeadLetterConfig"].(map[string]any); ok {
				mark(dl["Arn"], "rule "+id)
			}
		}
	}
	for id, c := range resources(tpl, "AWS::Lambda::EventInvokeConfig") {
		if dc, ok := props(c)["DestinationConfig"].(map[string]any); ok {
			mark(dc["OnFailure"].(map[string]any)["Destination"], "on-failure destination "+id)
		}
	}
	for id, s := range resources(tpl, "AWS::SNS::Subscription") {
		if rp, ok := props(s)["RedrivePolicy"].(map[string]any); ok {
			mark(rp["deadLetterTargetArn"], "subscription "+id)
		}
	}
	return dlqs
}

func TestEveryQueueHasADLQOrIsOneAndIsEncryptedAndTLSOnly(t *testing.T) {
	_, tpl := synth(t)
	dlqs := deadLetterQueues(tpl)
	tlsOnly := map[string]bool{}
	for _, p := range resources(tpl, "AWS::SQS::QueuePolicy") {
		for _, s := range props(p)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			s := s.(map[string]any)
			cond, _ := json.Marshal(s["Condition"])
			if s["Effect"] == "Deny" && string(cond) == `{"Bool":{"aws:SecureTransport":"false"}}` {
				for _, q := range props(p)["Queues"].([]any) {
					tlsOnly[q.(map[string]any)["Ref"].(string)] = true
				}
			}
		}
	}
	for id, q := range resources(tpl, "AWS::SQS::Queue") {
		p := props(q)
		_, hasDLQ := p["RedrivePolicy"]
		if _, isDLQ := dlqs[id]; !hasDLQ && !isDLQ {
			t.Errorf("queue %s has no DLQ and is none", id)
		}
		if p["SqsManagedSseEnabled"] != true && p["KmsMasterKeyId"] == nil {
			t.Errorf("queue %s is not encrypted", id)
		}
		if !tlsOnly[id] {
			t.Errorf("queue %s accepts requests without TLS", id)
		}
	}
	ingest := 0
	for _, q := range resources(tpl, "AWS::SQS::Queue") {
		if rp, ok := props(q)["RedrivePolicy"].(map[string]any); ok && rp["maxReceiveCount"] != nil {
			ingest++
		}
	}
	if ingest != 1 {
		t.Errorf("%d queues with a redrive policy, want the ingest queue", ingest)
	}
}

// What could not be put in a DLQ is lost with no dead letter to alarm on: every rule's target (the
// routes, the subscribers' forwarding rules, the reconciler's schedule) and every function invoked
// asynchronously (its on-failure destination) is watched by an alarm on the operations topic.
func TestWhatCouldNotReachItsDLQIsAlarmed(t *testing.T) {
	_, tpl := synth(t)
	var rules []string // each rule's logical id
	for id := range resources(tpl, "AWS::Events::Rule") {
		rules = append(rules, id)
	}
	asyncFns := 0
	for _, f := range lambdas.Functions {
		if f.Trigger == lambdas.Bus || f.Trigger == lambdas.Schedule {
			asyncFns++
		}
	}
	watchedRules := map[string]bool{}
	destinationFailures := 0
	for _, a := range resources(tpl, "AWS::CloudWatch::Alarm") {
		p := props(a)
		metrics, _ := p["Metrics"].([]any)
		if len(p["AlarmActions"].([]any)) == 0 || p["Threshold"] != 0.0 {
			continue
		}
		for _, m := range metrics {
			stat, _ := m.(map[string]any)["MetricStat"].(map[string]any)
			if stat == nil {
				continue
			}
			metric := stat["Metric"].(map[string]any)
			raw, _ := json.Marshal(metric["Dimensions"])
			switch metric["MetricName"] {
			case "InvocationsFailedToBeSentToDlq":
				for _, id := range rules {
					if strings.Contains(string(raw), `"`+id+`"`) {
						watchedRules[id] = true
					}
				}
			case "DestinationDeliveryFailures":
				destinationFailures++
			}
		}
	}
	for _, id := range rules {
		if !watchedRules[id] {
			t.Errorf("rule %s: no alarm on the events it could not put in its DLQ", id)
		}
	}
	if destinationFailures != asyncFns {
		t.Errorf("%d functions watched for on-failure destination failures, want the %d invoked asynchronously", destinationFailures, asyncFns)
	}
}

func TestEveryDLQHasAnAlarm(t *testing.T) {
	_, tpl := synth(t)
	alarmed := map[string]bool{}
	for _, a := range resources(tpl, "AWS::CloudWatch::Alarm") {
		p := props(a)
		if p["MetricName"] != "ApproximateNumberOfMessagesVisible" || len(p["AlarmActions"].([]any)) == 0 {
			continue
		}
		for _, d := range p["Dimensions"].([]any) {
			d := d.(map[string]any)
			if att, ok := d["Value"].(map[string]any)["Fn::GetAtt"].([]any); ok && d["Name"] == "QueueName" {
				// A DLQ's metrics stop six hours after the last call on it: the alarm must stay in ALARM
				// through that silence while dead letters wait.
				if p["Threshold"] == 0.0 && p["ComparisonOperator"] == "GreaterThanThreshold" && p["TreatMissingData"] == "ignore" {
					alarmed[att[0].(string)] = true
				}
			}
		}
	}
	dlqs := deadLetterQueues(tpl)
	if len(dlqs) < len(routing.Table)+len(routing.Table)+1 {
		t.Errorf("only %d DLQs, want one per route, one per bus function and the ingest DLQ at least", len(dlqs))
	}
	for id, by := range dlqs {
		if !alarmed[id] {
			t.Errorf("DLQ %s (of %s) has no alarm on its first message that lasts while its metrics are missing", id, by)
		}
	}
}

// statements returns every statement of every policy document in the template, with where it is.
func statements(tpl map[string]any) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	add := func(where string, doc any) {
		d, ok := doc.(map[string]any)
		if !ok {
			return
		}
		for _, s := range d["Statement"].([]any) {
			out[where] = append(out[where], s.(map[string]any))
		}
	}
	for id, r := range tpl["Resources"].(map[string]any) {
		r := r.(map[string]any)
		p := props(r)
		switch r["Type"] {
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy":
			add(id, p["PolicyDocument"])
		case "AWS::IAM::Role":
			add(id+" trust", p["AssumeRolePolicyDocument"])
			if ps, ok := p["Policies"].([]any); ok {
				for _, inline := range ps {
					add(id, inline.(map[string]any)["PolicyDocument"])
				}
			}
		case "AWS::KMS::Key":
			add(id, p["KeyPolicy"])
		}
	}
	return out
}

func list(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			} else {
				b, _ := json.Marshal(x)
				out = append(out, string(b))
			}
		}
		return out
	case nil:
		return nil
	}
	b, _ := json.Marshal(v)
	return []string{string(b)}
}

func TestNoWildcardActionsAndStarResourcesOnlyWhereAWSOffersNothingNarrower(t *testing.T) {
	_, tpl := synth(t)
	// "*" resources AWS gives no narrower form of, by action.
	starOK := map[string]string{
		"xray:PutTraceSegments":    "X-Ray has no resource-level permissions",
		"xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
	}
	for where, stmts := range statements(tpl) {
		for _, s := range stmts {
			if s["Effect"] != "Allow" {
				continue // a Deny with a wildcard only narrows
			}
			actions := list(s["Action"])
			keyAdmin := strings.HasPrefix(where, "OperationsKey") && reflect.DeepEqual(actions, []string{"kms:*"}) &&
				strings.Contains(fmt.Sprint(s["Principal"]), ":root")
			for _, a := range actions {
				// The one exception: a KMS key policy must let the account administer the key, or the key
				// becomes unmanageable. It is a key policy, not a permission of any function.
				if strings.Contains(a, "*") && !keyAdmin {
					t.Errorf("%s: wildcard action %s", where, a)
				}
			}
			if !strings.HasSuffix(where, "trust") && contains(list(s["Resource"]), "*") && !strings.HasPrefix(where, "OperationsKey") {
				for _, a := range actions {
					if _, ok := starOK[a]; !ok {
						t.Errorf("%s: %s on resource *", where, a)
					}
				}
			}
			if s["NotResource"] != nil && !(strings.HasPrefix(where, "NotifierFunctionRole") && reflect.DeepEqual(actions, []string{"sns:Publish"})) {
				t.Errorf("%s: %v on everything but %v", where, actions, s["NotResource"])
			}
		}
	}
}

// TestTextsCanBePublishedToPhoneNumbersButNoTopic checks the notifier's permission for SMS: a phone number
// has no ARN, so the permission is on everything but SNS's own resources, and no other function has it.
func TestTextsCanBePublishedToPhoneNumbersButNoTopic(t *testing.T) {
	_, tpl := synth(t)
	texts := 0
	for where, stmts := range statements(tpl) {
		for _, s := range stmts {
			if s["Effect"] != "Allow" || !contains(list(s["Action"]), "sns:Publish") || s["Resource"] != nil {
				continue
			}
			texts++
			if !strings.HasPrefix(where, "NotifierFunctionRole") {
				t.Errorf("%s may text phone numbers; only the notifier may", where)
			}
			want := []any{map[string]any{"Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"}}
			if got, ok := s["NotResource"].([]any); !ok || !reflect.DeepEqual(got, want) {
				if !reflect.DeepEqual(s["NotResource"], want[0]) {
					t.Errorf("%s: sns:Publish on everything but %v, want everything but SNS's resources %v", where, s["NotResource"], want)
				}
			}
		}
	}
	if texts != 1 {
		t.Errorf("%d statements let a function text phone numbers, want the notifier's one", texts)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func TestFunctionsPublishOnlyUnderTheirOwnSource(t *testing.T) {
	_, tpl := synth(t)
	all := statements(tpl)
	for _, f := range lambdas.Functions {
		var sources []string
		for where, stmts := range all {
			if !strings.HasPrefix(where, construct(f.Name)+"FunctionRole") {
				continue
			}
			for _, s := range stmts {
				if !contains(list(s["Action"]), "events:PutEvents") {
					continue
				}
				cond, _ := s["Condition"].(map[string]any)
				eq, _ := cond["StringEquals"].(map[string]any)
				src, _ := eq["events:source"].(string)
				if src == "" {
					t.Errorf("%s may put events under any source", f.Name)
				}
				sources = append(sources, src)
			}
		}
		var want []string
		if f.PublishesAs != "" {
			want = []string{f.PublishesAs}
		}
		if diff := cmp.Diff(want, sources); diff != "" {
			t.Errorf("%s: event sources it may publish under (-want +got):\n%s", f.Name, diff)
		}
	}
}

// construct mirrors the stack's construct ids ("inventory-reserve" -> "InventoryReserve").
func construct(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "-") {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func TestFunctions(t *testing.T) {
	_, tpl := synth(t)
	if got := len(resources(tpl, "AWS::Lambda::Function")); got != len(lambdas.Functions) {
		t.Errorf("%d functions, want %d", got, len(lambdas.Functions))
	}
	logGroups := resources(tpl, "AWS::Logs::LogGroup")
	for _, f := range lambdas.Functions {
		t.Run(f.Name, func(t *testing.T) {
			id := functionID(t, tpl, f)
			p := props(resources(tpl, "AWS::Lambda::Function")[id])
			got := map[string]any{"Runtime": p["Runtime"], "Architectures": p["Architectures"], "Handler": p["Handler"],
				"TracingConfig": p["TracingConfig"]}
			want := map[string]any{"Runtime": "provided.al2023", "Architectures": []any{"arm64"}, "Handler": "bootstrap",
				"TracingConfig": map[string]any{"Mode": "Active"}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			timeout := f.Timeout
			if timeout == 0 {
				timeout = lambdas.DefaultTimeout
			}
			if p["Timeout"] != timeout.Seconds() {
				t.Errorf("timeout %v, want %v", p["Timeout"], timeout.Seconds())
			}
			memory := f.MemoryMB
			if memory == 0 {
				memory = lambdas.DefaultMemoryMB
			}
			if p["MemorySize"] != float64(memory) {
				t.Errorf("memory %v, want %d", p["MemorySize"], memory)
			}
			env := p["Environment"].(map[string]any)["Variables"].(map[string]any)
			for _, name := range f.Env() {
				if env[name] == nil {
					t.Errorf("no %s in the environment", name)
				}
			}
			// A replay from the archive must find every event still remembered by those that deduplicate.
			if _, dedups := f.Tables[lambdas.EnvDedupTable]; dedups {
				archive := resources(tpl, "AWS::Events::Archive")
				days := 0.0
				for _, a := range archive {
					days = props(a)["RetentionDays"].(float64)
				}
				want := time.Duration(max(days, 14)+1) * 24 * time.Hour
				if len(archive) != 1 || env[lambdas.EnvDedupRetention] != want.String() {
					t.Errorf("%s = %v with an archive of %v days, want %s", lambdas.EnvDedupRetention, env[lambdas.EnvDedupRetention], days, want)
				}
			} else if env[lambdas.EnvDedupRetention] != nil {
				t.Errorf("%s set for a function that does not deduplicate", lambdas.EnvDedupRetention)
			}
			if f.TextsCustomers && env[lambdas.EnvOperationsPhone] != "+15555550100" {
				t.Errorf("%s = %v, want the operationsPhone setting", lambdas.EnvOperationsPhone, env[lambdas.EnvOperationsPhone])
			}
			if f.AdminKeys {
				keys := resources(tpl, "AWS::ApiGateway::ApiKey")
				admin := ""
				for kid, k := range keys {
					if strings.Contains(props(k)["Description"].(string), "admin") {
						admin = kid
					}
				}
				if !refersTo(env[lambdas.EnvAdminAPIKeyIDs], admin) {
					t.Errorf("%s = %v, want the admin key's id", lambdas.EnvAdminAPIKeyIDs, env[lambdas.EnvAdminAPIKeyIDs])
				}
			}
			lg := p["LoggingConfig"].(map[string]any)["LogGroup"].(map[string]any)["Ref"].(string)
			if logGroups[lg] == nil || props(logGroups[lg])["RetentionInDays"] != 30.0 {
				t.Errorf("log group %s has no 30-day retention", lg)
			}
		})
	}
	dispatcher, _ := lambdas.Lookup(routing.Dispatcher)
	mappings := resources(tpl, "AWS::Lambda::EventSourceMapping")
	if len(mappings) != 1 {
		t.Fatalf("%d event source mappings, want the dispatcher's", len(mappings))
	}
	for _, m := range mappings {
		p := props(m)
		if !refersTo(p["FunctionName"], functionID(t, tpl, dispatcher)) {
			t.Errorf("the event source mapping invokes %v, want the dispatcher", p["FunctionName"])
		}
		if diff := cmp.Diff([]any{"ReportBatchItemFailures"}, p["FunctionResponseTypes"]); diff != "" {
			t.Errorf("the dispatcher's batch responses would be ignored (-want +got):\n%s", diff)
		}
	}
}

func TestSchemasArePublishedFromTheFiles(t *testing.T) {
	_, tpl := synth(t)
	files, err := filepath.Glob(filepath.Join(schemasDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no schema files: %v", err)
	}
	want := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want[strings.TrimSuffix(filepath.Base(f), ".json")] = string(b)
	}
	got := map[string]string{}
	for _, s := range resources(tpl, "AWS::EventSchemas::Schema") {
		p := props(s)
		if p["Type"] != "JSONSchemaDraft4" {
			t.Errorf("schema %v has type %v", p["SchemaName"], p["Type"])
		}
		got[p["SchemaName"].(string)] = p["Content"].(string)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("schemas (-want +got):\n%s", diff)
	}
	if n := len(resources(tpl, "AWS::EventSchemas::Registry")); n != 1 {
		t.Errorf("%d registries, want 1", n)
	}
}

func TestSubscribersGetAForwardingRuleWithADLQ(t *testing.T) {
	_, tpl := synth(t)
	template := assertions.Template_FromJSON(&tpl, nil)
	pattern := subscriber["eventPattern"].(map[string]any)
	rules := template.FindResources(jsii.String("AWS::Events::Rule"), map[string]any{
		"Properties": map[string]any{
			"EventPattern": assertions.Match_ObjectEquals(&pattern),
			"Targets": []any{assertions.Match_ObjectLike(&map[string]any{
				"Arn":              subscriber["eventBusArn"],
				"RoleArn":          assertions.Match_AnyValue(),
				"RetryPolicy":      assertions.Match_AnyValue(),
				"DeadLetterConfig": assertions.Match_AnyValue(),
			})},
		},
	})
	if len(*rules) != 1 {
		t.Fatalf("%d forwarding rules for the subscriber, want 1", len(*rules))
	}
	// The role may be assumed by EventBridge only for this account's rules on this stack's bus: without
	// the conditions, a rule of any account could forward through it (a confused deputy).
	var role string
	for _, r := range *rules {
		role = props(*r)["Targets"].([]any)[0].(map[string]any)["RoleArn"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
	}
	var bus string
	for id := range resources(tpl, "AWS::Events::EventBus") {
		bus = id
	}
	trust := props(resources(tpl, "AWS::IAM::Role")[role])["AssumeRolePolicyDocument"].(map[string]any)["Statement"].([]any)
	if len(trust) != 1 {
		t.Fatalf("forwarding role trust policy has %d statements, want 1: %v", len(trust), trust)
	}
	cond, _ := trust[0].(map[string]any)["Condition"].(map[string]any)
	account, _ := cond["StringEquals"].(map[string]any)
	if !reflect.DeepEqual(account["aws:SourceAccount"], ref("AWS::AccountId")) {
		t.Errorf("forwarding role trust: aws:SourceAccount = %v, want this account", account["aws:SourceAccount"])
	}
	arnLike, _ := cond["ArnLike"].(map[string]any)
	src, _ := json.Marshal(arnLike["aws:SourceArn"])
	if !strings.Contains(string(src), `":rule/"`) || !strings.Contains(string(src), `{"Ref":"`+bus+`"}`) || !strings.HasSuffix(string(src), `"/*"]]}`) {
		t.Errorf("forwarding role trust: aws:SourceArn = %s, want the rules of bus %s", src, bus)
	}
}

func TestOutputs(t *testing.T) {
	_, tpl := synth(t)
	var got []string
	for k := range tpl["Outputs"].(map[string]any) {
		got = append(got, k)
	}
	sort.Strings(got)
	want := []string{"AdminApiKeyId", "ApiUrl", "ClientApiKeyId", "DashboardUrl", "EventBusArn", "EventBusName",
		"ForwardingRoleArn", "GetAdminKeyCommand", "GetClientKeyCommand", "OperationsTopicArn", "SchemaRegistryName"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
}

func TestCdkNagHasNoUnsuppressedFindings(t *testing.T) {
	st, tpl := synth(t)
	annotations := assertions.Annotations_FromStack(st)
	for _, level := range []struct {
		name  string
		found *[]*cxapi.SynthesisMessage
	}{
		{"error", annotations.FindError(jsii.String("*"), assertions.Match_AnyValue())},
		{"warning", annotations.FindWarning(jsii.String("*"), assertions.Match_AnyValue())},
	} {
		for _, m := range *level.found {
			t.Errorf("%s at %s: %v", level.name, *m.Id, m.Entry.Data)
		}
	}
	// Every suppression names its rule and gives a reason.
	n := 0
	for id, r := range tpl["Resources"].(map[string]any) {
		md, _ := r.(map[string]any)["Metadata"].(map[string]any)
		nag, _ := md["cdk_nag"].(map[string]any)
		rules, _ := nag["rules_to_suppress"].([]any)
		for _, s := range rules {
			s := s.(map[string]any)
			n++
			if s["id"] == "" || len(fmt.Sprint(s["reason"])) < 20 {
				t.Errorf("%s: suppression %v without a rule or a reason", id, s)
			}
		}
	}
	if n == 0 {
		t.Error("no suppressions in the template metadata; expected the documented ones")
	}
}

func TestCfnLintPassesWithoutErrorsOrWarnings(t *testing.T) {
	synth(t)
	<-synthesized.lintDone
	if synthesized.lintErr != nil {
		t.Fatalf("cfn-lint on %s: %v\n%s", filepath.Base(synthesized.file), synthesized.lintErr, synthesized.lintOut)
	}
}

func TestSettingsAreCheckedAndParsed(t *testing.T) {
	synth(t) // one jsii runtime; the apps below are cheap once it runs
	for _, tc := range []struct {
		name    string
		context map[string]any
		wantErr string
	}{
		{"strings from the CLI are parsed", map[string]any{stack.CtxClientRate: "25", stack.CtxMemory: `{"api":1024}`}, ""},
		{"retention CloudWatch does not offer", map[string]any{stack.CtxLogRetention: 31}, stack.CtxLogRetention},
		{"memory for no function", map[string]any{stack.CtxMemory: map[string]any{"apii": 512}}, `"apii" is not a function`},
		{"not a number", map[string]any{stack.CtxAdminBurst: "many"}, stack.CtxAdminBurst},
		{"phone not E.164", map[string]any{stack.CtxOperationsPhone: "0612345678"}, stack.CtxOperationsPhone},
		{"subscriber without a bus", map[string]any{stack.CtxSubscribers: []any{map[string]any{"name": "x", "eventPattern": map[string]any{"source": []any{"a"}}}}}, "eventBusArn"},
		{"grace that is not a duration", map[string]any{stack.CtxReconcileGrace: "soon"}, stack.CtxReconcileGrace},
		// What the functions would refuse at their first cold start is refused at synth.
		{"event size in exponent form", map[string]any{stack.CtxMaxEventSize: "1e6"}, stack.CtxMaxEventSize},
		{"event size with a fraction", map[string]any{stack.CtxMaxEventSize: "1048576.0"}, stack.CtxMaxEventSize},
		{"event size above EventBridge's limit", map[string]any{stack.CtxMaxEventSize: "2000000"}, stack.CtxMaxEventSize},
		{"order limit in exponent form", map[string]any{stack.CtxOrderLimit: "1e5"}, stack.CtxOrderLimit},
		{"order limit with three decimals", map[string]any{stack.CtxOrderLimit: "50000.001"}, stack.CtxOrderLimit},
		{"order limit of zero", map[string]any{stack.CtxOrderLimit: "0"}, stack.CtxOrderLimit},
		{"archive past ten years", map[string]any{stack.CtxArchiveRetention: 106752}, stack.CtxArchiveRetention},
		{"unknown subscriber field", map[string]any{stack.CtxSubscribers: `[{"name":"x","pattern":{}}]`}, "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := stack.ReadSettings(stack.NewApp(nil, tc.context))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if s.Client.RateLimit != 25 || s.Memory["api"] != 1024 {
					t.Errorf("settings %+v", s)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want one about %s", err, tc.wantErr)
			}
		})
	}
}

// What API Gateway refuses before the function runs (a missing or unknown key, throttling, a quota) is
// answered in orderflow's error body, and request bodies reach the function byte for byte.
func TestGatewayRefusalsUseOrderflowsErrorBody(t *testing.T) {
	_, tpl := synth(t)
	got := map[string]string{}
	for _, r := range resources(tpl, "AWS::ApiGateway::GatewayResponse") {
		p := props(r)
		body, _ := p["ResponseTemplates"].(map[string]any)["application/json"].(string)
		var e contracts.ErrorBody
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Errorf("%v: template %q is not orderflow's error body (%v)", p["ResponseType"], body, err)
		}
		status, ok := p["StatusCode"].(string)
		if !ok {
			status = "kept"
		}
		got[p["ResponseType"].(string)] = status + " " + e.Error.Code
	}
	// DEFAULT_5XX keeps API Gateway's status: a 504 timeout and a 502 failed function must not look alike.
	want := map[string]string{
		"MISSING_AUTHENTICATION_TOKEN": "403 FORBIDDEN", "INVALID_API_KEY": "403 FORBIDDEN", "ACCESS_DENIED": "403 FORBIDDEN",
		"THROTTLED": "429 RATE_LIMITED", "QUOTA_EXCEEDED": "429 RATE_LIMITED", "REQUEST_TOO_LARGE": "413 PAYLOAD_TOO_LARGE",
		"INTEGRATION_TIMEOUT": "504 UNAVAILABLE", "DEFAULT_5XX": "kept INTERNAL",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("gateway responses (-want +got):\n%s", d)
	}
	// A 429 RATE_LIMITED says when to retry, as the local server's does: API Gateway's throttle is a token
	// bucket refilled every second.
	for _, r := range resources(tpl, "AWS::ApiGateway::GatewayResponse") {
		p := props(r)
		if p["ResponseType"] != "THROTTLED" {
			continue
		}
		headers, _ := p["ResponseParameters"].(map[string]any)
		if v := headers["gatewayresponse.header.Retry-After"]; v != "'1'" {
			t.Errorf("THROTTLED gateway response: Retry-After = %v, want '1' (ResponseParameters %v)", v, headers)
		}
	}
	for _, r := range resources(tpl, "AWS::ApiGateway::RestApi") {
		if types, _ := props(r)["BinaryMediaTypes"].([]any); len(types) != 1 || types[0] != "*/*" {
			t.Errorf("BinaryMediaTypes = %v, want [*/*] so bodies reach the function unaltered", types)
		}
	}
}

// API Gateway's metrics name an API by its name and stage, not its id: two copies of the stack in one
// account (the stackName setting) must not share their API's metrics, alarms and dashboard graphs.
func TestTheAPIIsNamedAfterTheStackAndItsAlarmsWatchIt(t *testing.T) {
	_, tpl := synth(t)
	apis := resources(tpl, "AWS::ApiGateway::RestApi")
	if len(apis) != 1 {
		t.Fatalf("%d REST APIs, want 1", len(apis))
	}
	for _, api := range apis {
		if name := props(api)["Name"]; name != stack.Defaults.StackName {
			t.Errorf("the REST API is named %v, want the stack's name %q", name, stack.Defaults.StackName)
		}
	}
	watched := 0
	for id, a := range resources(tpl, "AWS::CloudWatch::Alarm") {
		dims, _ := props(a)["Dimensions"].([]any)
		for _, d := range dims {
			if d := d.(map[string]any); d["Name"] == "ApiName" {
				watched++
				if d["Value"] != stack.Defaults.StackName {
					t.Errorf("alarm %s watches the API named %v, want %q", id, d["Value"], stack.Defaults.StackName)
				}
			}
		}
	}
	if watched == 0 {
		t.Error("no alarm watches the API")
	}
}

// synthWith synthesizes another copy of the stack, with context on top of the tests' own, and returns its
// template.
func synthWith(t *testing.T, context map[string]any) map[string]any {
	t.Helper()
	synth(t) // one jsii runtime
	ctx := map[string]any{stack.CtxLambdaDist: dist, stack.CtxSchemasDir: schemasDir}
	for k, v := range context {
		ctx[k] = v
	}
	app := stack.NewApp(nil, ctx)
	o, err := stack.New(app)
	if err != nil {
		t.Fatalf("synthesize: %v", err)
	}
	asm := app.Synth(nil)
	b, err := os.ReadFile(filepath.Join(*asm.Directory(), *o.Stack.TemplateFile()))
	if err != nil {
		t.Fatal(err)
	}
	var tpl map[string]any
	if err := json.Unmarshal(b, &tpl); err != nil {
		t.Fatal(err)
	}
	return tpl
}

// Two copies of the stack in one account and region (the stackName setting) must not count, alarm on
// and graph each other's orders: every function writes its EMF metrics under the stack's own namespace,
// and the alarms and the dashboard read that one.
func TestEachStackHasItsOwnMetricsNamespace(t *testing.T) {
	_, defaults := synth(t)
	for name, tpl := range map[string]map[string]any{stack.Defaults.StackName: defaults, "OrderflowStaging": synthWith(t, map[string]any{stack.CtxStackName: "OrderflowStaging"})} {
		for id, fn := range resources(tpl, "AWS::Lambda::Function") {
			env := props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
			if got := env[lambdas.EnvMetricsNamespace]; got != name {
				t.Errorf("stack %s: function %s writes its metrics to namespace %v, want %q", name, id, got, name)
			}
		}
		custom := 0
		for id, a := range resources(tpl, "AWS::CloudWatch::Alarm") {
			p := props(a)
			namespaces := []any{p["Namespace"]}
			metrics, _ := p["Metrics"].([]any)
			for _, m := range metrics {
				if stat, ok := m.(map[string]any)["MetricStat"].(map[string]any); ok {
					namespaces = append(namespaces, stat["Metric"].(map[string]any)["Namespace"])
				}
			}
			for _, ns := range namespaces {
				if s, ok := ns.(string); ok && !strings.HasPrefix(s, "AWS/") {
					custom++
					if s != name {
						t.Errorf("stack %s: alarm %s reads namespace %q, want %q", name, id, s, name)
					}
				}
			}
		}
		if custom == 0 {
			t.Errorf("stack %s: no alarm reads the order metrics", name)
		}
		for id, d := range resources(tpl, "AWS::CloudWatch::Dashboard") {
			body, _ := json.Marshal(props(d)["DashboardBody"])
			want := `Namespace=\\\"` + name + `\\\"`
			if got := strings.Count(string(body), `Namespace=\\\"`); got == 0 || got != strings.Count(string(body), want) {
				t.Errorf("stack %s: dashboard %s searches %d namespaces, %d of them %q", name, id, got, strings.Count(string(body), want), name)
			}
		}
	}
}

// A handled event is remembered longer than it can come back: from the archive (its retention) or from
// a dead-letter queue, which keeps a message 14 days and whose event is redriven by putting it back on
// the bus. Forgotten sooner, a redriven event would text the customer and count the order again.
func TestDedupOutlastsTheArchiveAndTheDeadLetterQueues(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		archiveDays int
		want        time.Duration
	}{{1, 15 * day}, {7, 15 * day}, {14, 15 * day}, {30, 31 * day}, {3650, 3651 * day}, {0, 3650 * day}} {
		if got := stack.DedupRetention(tc.archiveDays); got != tc.want {
			t.Errorf("archive of %d days: dedup retention %v, want %v", tc.archiveDays, got, tc.want)
		}
	}
	_, tpl := synth(t)
	for id, q := range resources(tpl, "AWS::SQS::Queue") {
		if p := props(q)["MessageRetentionPeriod"]; p != nil && p.(float64) > float64(14*day/time.Second) {
			t.Errorf("queue %s keeps messages %v s, longer than the dedup retention assumes", id, p)
		}
	}
}

// TestAnApplicationInferenceProfileSynthesizes checks that a stack configured with an application
// inference profile's ARN synthesizes without unsuppressed cdk-nag findings and lets the chatbot reach
// the model behind the profile, through that profile only.
func TestAnApplicationInferenceProfileSynthesizes(t *testing.T) {
	const profile = "arn:aws:bedrock:eu-west-1:111122223333:application-inference-profile/a1b2c3d4e5f6"
	app := stack.NewApp(nil, map[string]any{
		stack.CtxLambdaDist: dist, stack.CtxSchemasDir: schemasDir, stack.CtxBedrockModelID: profile,
	})
	o, err := stack.New(app)
	if err != nil {
		t.Fatal(err)
	}
	tpl := assertions.Template_FromStack(o.Stack, nil)
	for _, m := range *assertions.Annotations_FromStack(o.Stack).FindError(jsii.String("*"), assertions.Match_AnyValue()) {
		t.Errorf("error at %s: %v", *m.Id, m.Entry.Data)
	}
	b, err := json.Marshal(tpl.ToJSON())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"bedrock:InferenceProfileArn":"`+profile+`"`) {
		t.Error("no statement lets the chatbot invoke the model behind its application inference profile")
	}
}
