package stack

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/lambdas"
)

// Context keys: every setting of the stack is CDK context with a default, given with `cdk -c key=value`
// or, under `go run`, in CDK_CONTEXT_JSON. The README's "Deploy to AWS" table lists them.
const (
	CtxStackName        = "stackName"
	CtxLambdaDist       = "lambdaDist"
	CtxSchemasDir       = "schemasDir"
	CtxStage            = "stage"
	CtxStageRate        = "stageRateLimit"
	CtxStageBurst       = "stageBurstLimit"
	CtxClientRate       = "clientRateLimit"
	CtxClientBurst      = "clientBurstLimit"
	CtxClientQuota      = "clientQuotaPerDay"
	CtxAdminRate        = "adminRateLimit"
	CtxAdminBurst       = "adminBurstLimit"
	CtxAdminQuota       = "adminQuotaPerDay"
	CtxOperationsPhone  = "operationsPhone"
	CtxBedrockModelID   = "bedrockModelId"
	CtxArchiveRetention = "archiveRetentionDays"
	CtxLogRetention     = "logRetentionDays"
	CtxAlarmEmail       = "alarmEmail"
	CtxMemory           = "memory"
	CtxReconcileEvery   = "reconcileEveryMinutes"
	CtxMaxEventSize     = "maxEventSize"
	CtxOrderLimit       = "orderLimit"
	CtxReconcileGrace   = "reconcileGrace"
	CtxSubscribers      = "subscribers"
)

// Plan is the throttle and daily quota of one API Gateway usage plan.
type Plan struct {
	RateLimit   float64 // requests per second, steady state
	BurstLimit  int     // requests in a burst
	QuotaPerDay int     // requests per day
}

// Subscriber is another team's forwarding rule: the events matching Pattern go to the event bus Bus,
// usually in the team's own account.
type Subscriber struct {
	// Name names the rule and its dead-letter queue: letters, digits and dashes.
	Name string `json:"name"`
	// Pattern is an EventBridge event pattern (a JSON object), passed to EventBridge unchanged.
	Pattern map[string]any `json:"eventPattern"`
	// Bus is the ARN of the target event bus.
	Bus string `json:"eventBusArn"`
}

// Settings are the stack's settings, read from CDK context.
type Settings struct {
	StackName            string
	LambdaDist           string // folder holding <function>/bootstrap, relative to the working directory
	SchemasDir           string // folder of the event schemas published in the registry
	Stage                string
	StageRate            float64
	StageBurst           int
	Client, Admin        Plan
	OperationsPhone      string // optional
	BedrockModelID       string
	ArchiveRetentionDays int // 0 keeps archived events forever
	LogRetentionDays     int
	AlarmEmail           string // optional
	Memory               map[string]int
	ReconcileEvery       int    // minutes
	MaxEventSize         string // optional: bytes per PutEvents entry
	OrderLimit           string // optional: the largest order total validation accepts
	ReconcileGrace       string // optional: how long an order may stay PENDING (a Go duration)
	Subscribers          []Subscriber
}

// maxArchiveRetentionDays bounds archiveRetentionDays: ten years, which is also what the dedup of an
// archive kept for ever is set to (DedupRetention), and far from where a day count overflows a duration.
const maxArchiveRetentionDays = 3650

// Defaults are the settings when the context says nothing.
var Defaults = Settings{
	StackName:            "Orderflow",
	LambdaDist:           "../dist/lambda",
	SchemasDir:           "../schemas/events",
	Stage:                "prod",
	StageRate:            100,
	StageBurst:           200,
	Client:               Plan{RateLimit: 50, BurstLimit: 100, QuotaPerDay: 100000},
	Admin:                Plan{RateLimit: 10, BurstLimit: 20, QuotaPerDay: 10000},
	BedrockModelID:       "amazon.nova-lite-v1:0",
	ArchiveRetentionDays: 30,
	LogRetentionDays:     30,
	ReconcileEvery:       5,
}

// retentionDays maps the retention periods CloudWatch Logs accepts to their CDK names.
var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS,
	120: awslogs.RetentionDays_FOUR_MONTHS, 150: awslogs.RetentionDays_FIVE_MONTHS,
	180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS,
	731: awslogs.RetentionDays_TWO_YEARS, 1096: awslogs.RetentionDays_THREE_YEARS,
	1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS,
	3288: awslogs.RetentionDays_NINE_YEARS, 3653: awslogs.RetentionDays_TEN_YEARS,
}

var (
	subscriberName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,39}$`)
	eventBusARN    = regexp.MustCompile(`^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/[A-Za-z0-9._\-/]+$`)
	e164           = regexp.MustCompile(`^\+[1-9]\d{6,14}$`)
	stageName      = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
)

// ReadSettings reads the settings from the context of scope, filling in Defaults. It fails on a value
// that is not of the setting's type or range, naming the context key.
func ReadSettings(scope constructs.Construct) (Settings, error) {
	c := reader{node: scope.Node()}
	s := Defaults
	s.StackName = c.str(CtxStackName, s.StackName)
	s.LambdaDist = c.str(CtxLambdaDist, s.LambdaDist)
	s.SchemasDir = c.str(CtxSchemasDir, s.SchemasDir)
	s.Stage = c.str(CtxStage, s.Stage)
	s.StageRate = c.num(CtxStageRate, s.StageRate)
	s.StageBurst = c.int(CtxStageBurst, s.StageBurst)
	s.Client = Plan{c.num(CtxClientRate, s.Client.RateLimit), c.int(CtxClientBurst, s.Client.BurstLimit), c.int(CtxClientQuota, s.Client.QuotaPerDay)}
	s.Admin = Plan{c.num(CtxAdminRate, s.Admin.RateLimit), c.int(CtxAdminBurst, s.Admin.BurstLimit), c.int(CtxAdminQuota, s.Admin.QuotaPerDay)}
	s.OperationsPhone = c.str(CtxOperationsPhone, "")
	s.BedrockModelID = c.str(CtxBedrockModelID, s.BedrockModelID)
	s.ArchiveRetentionDays = c.int(CtxArchiveRetention, s.ArchiveRetentionDays)
	s.LogRetentionDays = c.int(CtxLogRetention, s.LogRetentionDays)
	s.AlarmEmail = c.str(CtxAlarmEmail, "")
	s.ReconcileEvery = c.int(CtxReconcileEvery, s.ReconcileEvery)
	s.MaxEventSize = c.str(CtxMaxEventSize, "")
	s.OrderLimit = c.str(CtxOrderLimit, "")
	s.ReconcileGrace = c.str(CtxReconcileGrace, "")
	c.object(CtxMemory, &s.Memory)
	c.object(CtxSubscribers, &s.Subscribers)
	if c.err != nil {
		return Settings{}, c.err
	}
	return s, s.validate()
}

func (s Settings) validate() error {
	var errs []string
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Sprintf("context %q: ", key)+fmt.Sprintf(format, args...))
	}
	if !stageName.MatchString(s.Stage) {
		bad(CtxStage, "%q is not a stage name (letters, digits, dashes, underscores)", s.Stage)
	}
	positive := map[string]float64{CtxStageRate: s.StageRate, CtxStageBurst: float64(s.StageBurst),
		CtxClientRate: s.Client.RateLimit, CtxClientBurst: float64(s.Client.BurstLimit), CtxClientQuota: float64(s.Client.QuotaPerDay),
		CtxAdminRate: s.Admin.RateLimit, CtxAdminBurst: float64(s.Admin.BurstLimit), CtxAdminQuota: float64(s.Admin.QuotaPerDay),
		CtxReconcileEvery: float64(s.ReconcileEvery)}
	for _, k := range sortedKeys(positive) {
		if positive[k] <= 0 {
			bad(k, "must be positive, not %v", positive[k])
		}
	}
	if s.OperationsPhone != "" && !e164.MatchString(s.OperationsPhone) {
		bad(CtxOperationsPhone, "%q is not an E.164 number like +15555550100", s.OperationsPhone)
	}
	if strings.TrimSpace(s.BedrockModelID) == "" {
		bad(CtxBedrockModelID, "must name a model or inference profile")
	}
	if s.ArchiveRetentionDays < 0 || s.ArchiveRetentionDays > maxArchiveRetentionDays {
		bad(CtxArchiveRetention, "must be 0 (forever) or a number of days up to %d (for longer, 0)", maxArchiveRetentionDays)
	}
	if _, ok := retentionDays[s.LogRetentionDays]; !ok {
		bad(CtxLogRetention, "%d is not a retention CloudWatch Logs offers (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)", s.LogRetentionDays)
	}
	if s.AlarmEmail != "" && !strings.Contains(s.AlarmEmail, "@") {
		bad(CtxAlarmEmail, "%q is not an e-mail address", s.AlarmEmail)
	}
	for _, name := range sortedKeys(s.Memory) {
		if _, ok := lambdas.Lookup(name); !ok {
			bad(CtxMemory, "%q is not a function (%s)", name, functionNames())
		}
		if mb := s.Memory[name]; mb < 128 || mb > 10240 {
			bad(CtxMemory, "%s: %d MB is outside Lambda's 128-10240 MB", name, mb)
		}
	}
	// Checked as the functions parse them at a cold start, so that what synthesizes also starts.
	if v := s.MaxEventSize; v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > lambdas.MaxEventSizeLimit {
			bad(CtxMaxEventSize, "%q is not a whole number of bytes from 1 to %d (EventBridge's limit)", v, lambdas.MaxEventSizeLimit)
		}
	}
	if v := s.OrderLimit; v != "" {
		if a, err := contracts.ParseAmount(v); err != nil || a <= 0 {
			bad(CtxOrderLimit, "%q is not a positive amount with at most two decimals, such as 50000.00", v)
		}
	}
	if s.ReconcileGrace != "" {
		if d, err := time.ParseDuration(s.ReconcileGrace); err != nil || d <= 0 {
			bad(CtxReconcileGrace, "%q is not a positive Go duration such as 2m", s.ReconcileGrace)
		}
	}
	seen := map[string]bool{}
	for i, sub := range s.Subscribers {
		switch {
		case !subscriberName.MatchString(sub.Name):
			bad(CtxSubscribers, "entry %d: name %q must be 1-40 letters, digits and dashes", i, sub.Name)
		case seen[sub.Name]:
			bad(CtxSubscribers, "entry %d: name %q is used twice", i, sub.Name)
		}
		seen[sub.Name] = true
		if len(sub.Pattern) == 0 {
			bad(CtxSubscribers, "%s: eventPattern must be a non-empty JSON object", sub.Name)
		}
		if !eventBusARN.MatchString(sub.Bus) {
			bad(CtxSubscribers, "%s: eventBusArn %q is not an event bus ARN", sub.Name, sub.Bus)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid settings:\n  %s", strings.Join(errs, "\n  "))
	}
	return nil
}

// MemoryOf returns the memory size of f: the "memory" context if it names f, else f's own default.
func (s Settings) MemoryOf(f lambdas.Function) int {
	if mb, ok := s.Memory[f.Name]; ok {
		return mb
	}
	if f.MemoryMB > 0 {
		return f.MemoryMB
	}
	return lambdas.DefaultMemoryMB
}

// reader reads typed context values. The CDK CLI passes `-c key=value` values as strings, while
// CDK_CONTEXT_JSON and cdk.json carry JSON types, so each reader accepts both.
type reader struct {
	node constructs.Node
	err  error
}

func (r *reader) raw(key string) (any, bool) {
	v := r.node.TryGetContext(&key)
	if v == nil {
		return nil, false
	}
	return v, true
}

func (r *reader) fail(key string, v any, want string) {
	if r.err == nil {
		r.err = fmt.Errorf("context %q: %v is not %s", key, v, want)
	}
}

func (r *reader) str(key, def string) string {
	v, ok := r.raw(key)
	if !ok {
		return def
	}
	switch v := v.(type) {
	case string:
		return strings.TrimSpace(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	r.fail(key, v, "a string")
	return def
}

func (r *reader) num(key string, def float64) float64 {
	v, ok := r.raw(key)
	if !ok {
		return def
	}
	switch v := v.(type) {
	case float64:
		return v
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			return f
		}
	}
	r.fail(key, v, "a number")
	return def
}

func (r *reader) int(key string, def int) int {
	f := r.num(key, float64(def))
	if f != math.Trunc(f) {
		r.fail(key, f, "a whole number")
		return def
	}
	return int(f)
}

// object decodes a JSON value (or a string holding JSON) into out.
func (r *reader) object(key string, out any) {
	v, ok := r.raw(key)
	if !ok {
		return
	}
	var b []byte
	if s, isString := v.(string); isString {
		b = []byte(s)
	} else {
		var err error
		if b, err = json.Marshal(v); err != nil {
			r.fail(key, v, "JSON")
			return
		}
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil && r.err == nil {
		r.err = fmt.Errorf("context %q: %w", key, err)
	}
}

func functionNames() string {
	var names []string
	for _, f := range lambdas.Functions {
		names = append(names, f.Name)
	}
	return strings.Join(names, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
