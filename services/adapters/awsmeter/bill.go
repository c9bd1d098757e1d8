package awsmeter

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Prices are AWS list prices in US dollars. Each is the price of one unit (one request, one GB-second);
// the table prints them per million where AWS does.
type Prices struct {
	// Region and AsOf say where and when the prices hold; Source says where they were read.
	Region, AsOf, Source string

	// DynamoDB on-demand: a write request unit (1 KB written), a read request unit (4 KB read strongly
	// consistent, 8 KB eventually), a GB-month of table storage (Standard table class).
	DynamoDBWriteRequestUnit, DynamoDBReadRequestUnit, DynamoDBStorageGBMonth float64
	// SQSRequest is a standard-queue request (each 64 KB chunk of a payload is a request).
	SQSRequest float64
	// EventBridgeEvent is a custom event put on a bus (each 64 KB chunk is an event).
	EventBridgeEvent float64
	// SNSPublish is a publish to a topic (each 64 KB chunk is a publish).
	SNSPublish float64
	// SMSMessage is AWS's price of one outbound SMS part to a US number; SMSCarrierFee the carriers'
	// pass-through fee per part, which depends on carrier and origination identity.
	SMSMessage, SMSCarrierFee float64
	// LambdaRequest is one invocation; LambdaGBSecond one GB-second of arm64 duration.
	LambdaRequest, LambdaGBSecond float64
	// APIGatewayRequest is one REST API request (first 333 million a month).
	APIGatewayRequest float64
	// LogsIngestionGB is a GB ingested into CloudWatch Logs (standard class, first 10 TB).
	LogsIngestionGB float64
	// CustomMetricMonth is one custom metric for a month (first 10,000); every distinct metric name and
	// dimension values EMF creates is one. AlarmMonth is one standard-resolution alarm; DashboardMonth one
	// dashboard.
	CustomMetricMonth, AlarmMonth, DashboardMonth float64
}

// USEast1 are the us-east-1 list prices orderflow's estimates use. The on-demand DynamoDB prices are the
// ones after the November 2024 cut; the SMS carrier fee is an assumption (see Assumptions).
var USEast1 = Prices{
	Region: "us-east-1",
	AsOf:   "2025-06-01",
	Source: "AWS public pricing pages as last read, DynamoDB's 2024-11-01 cut included; not re-read live",

	DynamoDBWriteRequestUnit: 0.625 / 1e6,
	DynamoDBReadRequestUnit:  0.125 / 1e6,
	DynamoDBStorageGBMonth:   0.25,
	SQSRequest:               0.40 / 1e6,
	EventBridgeEvent:         1.00 / 1e6,
	SNSPublish:               0.50 / 1e6,
	SMSMessage:               0.00581,
	SMSCarrierFee:            0.00302,
	LambdaRequest:            0.20 / 1e6,
	LambdaGBSecond:           0.0000133334,
	APIGatewayRequest:        3.50 / 1e6,
	LogsIngestionGB:          0.50,
	CustomMetricMonth:        0.30,
	AlarmMonth:               0.10,
	DashboardMonth:           3.00,
}

// Assumptions are what the bill takes for granted, printed under it.
var Assumptions = []string{
	"No free tier is applied; prices are the first tier (all these volumes are in it).",
	"SMS carrier fee $0.00302 a part is an assumption (US carrier fees vary by carrier and origination identity; this is a high 10DLC figure); one part per text.",
	"SQS: an idle event source mapping is taken to make 648,000 ReceiveMessage calls a month (5 pollers, 20 s long polls); Lambda's receives and deletes of delivered messages count when its poller's calls go through the meter, or via PolledMessages.",
	"Lambda: arm64, duration billed per invocation rounded up to the ms from the mean measured handler time; INIT time is billed when given.",
	"Lambda platform log lines (START, END, REPORT) are taken as 300 bytes an invocation; 1 GB = 2^30 bytes.",
	"DynamoDB capacity is the meter's: reported ConsumedCapacity, floored per call at DynamoDB's rules.",
	"Not priced: data transfer, KMS, X-Ray, Bedrock (chatbot tokens), CloudWatch Logs storage, the DLQs' idle state.",
}

// PlatformLogBytes is what Lambda itself writes to a function's log per invocation (START, END and
// REPORT lines), an estimate.
const PlatformLogBytes = 300

// IdlePollsPerQueueMonth is the ReceiveMessage calls a Lambda SQS event source mapping makes in a month
// on an idle queue, an estimate: five pollers, each long-polling for 20 seconds, for 30 days.
const IdlePollsPerQueueMonth = 5 * 3 * 60 * 24 * 30

// Function is one Lambda function's share of a measured run.
type Function struct {
	// Name names the function on the bill.
	Name string
	// MemoryMB is the configured memory.
	MemoryMB int
	// Invocations is how often it was invoked in the run.
	Invocations int64
	// Duration is its total handler time in the run; InitDuration the total time of its cold starts.
	Duration, InitDuration time.Duration
}

// Workload is what a measured run of MeasuredOrders orders used; Bill scales it to Orders a month.
type Workload struct {
	// Orders is the number of orders a month the bill is for.
	Orders int64
	// MeasuredOrders is the number of orders the run processed.
	MeasuredOrders int64
	// Usage is the meter's snapshot after the run.
	Usage Usage
	// Functions are the Lambda functions' invocations and durations in the run.
	Functions []Function
	// APIRequests is the number of API Gateway requests in the run.
	APIRequests int64
	// LogBytes is what the functions wrote to standard output and error in the run, EMF lines included.
	LogBytes int64
	// PolledMessages is the number of messages SQS event source mappings delivered in the run when the
	// poller's calls did not go through the meter; each batch of PollBatch (default 1) costs Lambda a
	// ReceiveMessage and a DeleteMessageBatch, billed to the account.
	PolledMessages int64
	PollBatch      float64
	// PolledQueues is the number of queues an event source mapping polls; each adds
	// IdlePollsPerQueueMonth requests.
	PolledQueues int
	// StoredBytesPerOrder is what an order leaves in DynamoDB; the bill prices one month's orders of it.
	StoredBytesPerOrder int64
	// CustomMetrics, Alarms and Dashboards are the CloudWatch resources billed by the month.
	CustomMetrics, Alarms, Dashboards int
}

// Line is one item of a bill.
type Line struct {
	// Service and Item name the line ("DynamoDB", "write request units").
	Service, Item string
	// Quantity is the monthly quantity, in Unit ("WRU", "GB-s").
	Quantity float64
	Unit     string
	// Rate is the price of Per units.
	Rate, Per float64
	// Cost is Quantity / Per * Rate.
	Cost float64
	// Fixed lines do not grow with orders (idle polling, metrics, alarms, dashboards).
	Fixed bool
}

// Bill is a monthly AWS bill for a number of orders.
type Bill struct {
	// Orders is the number of orders a month the bill is for.
	Orders int64
	// Prices are the prices it was computed at.
	Prices Prices
	// Lines are the bill without SMS; Total is their sum.
	Lines []Line
	Total float64
	// SMS are the text messages, apart because at list price they dwarf everything else and do not depend
	// on the architecture; SMSTotal is their sum.
	SMS      []Line
	SMSTotal float64
}

// Seed is the seed system's own monthly estimate for one million orders, by service, as its README states
// it ("Total: ~$55-105/month"). Its SNS figure is labelled SMS messages.
var Seed = struct {
	Orders              int64
	ByService           map[string]float64
	TotalLow, TotalHigh float64
}{
	Orders:    1_000_000,
	ByService: map[string]float64{"API Gateway": 3.50, "Lambda": 20, "DynamoDB": 25, "SQS": 0.40, "SNS": 0.75, "CloudWatch": 5},
	TotalLow:  55, TotalHigh: 105,
}

// ErrNoOrders is returned by NewBill when the workload measured no orders.
var ErrNoOrders = errors.New("awsmeter: the workload measured no orders")

// NewBill prices w at p: every count of the run is scaled by w.Orders / w.MeasuredOrders. It returns
// ErrNoOrders when w.MeasuredOrders is not positive.
func NewBill(p Prices, w Workload) (Bill, error) {
	if w.MeasuredOrders <= 0 {
		return Bill{}, ErrNoOrders
	}
	scale := float64(w.Orders) / float64(w.MeasuredOrders)
	b := Bill{Orders: w.Orders, Prices: p}
	const million = 1e6
	add := func(service, item string, q float64, unit string, rate, per float64, fixed bool) {
		b.Lines = append(b.Lines, Line{Service: service, Item: item, Quantity: q, Unit: unit, Rate: rate * per, Per: per, Cost: q * rate, Fixed: fixed})
	}
	u := w.Usage

	add("API Gateway", "REST API requests", float64(w.APIRequests)*scale, "requests", p.APIGatewayRequest, million, false)

	var invocations, gbs float64
	for _, f := range w.Functions {
		if f.Invocations == 0 {
			continue
		}
		mean := f.Duration / time.Duration(f.Invocations)
		billedMS := math.Ceil(float64(mean) / float64(time.Millisecond))
		gb := float64(f.MemoryMB) / 1024
		inv := float64(f.Invocations) * scale
		invocations += inv
		gbs += inv*billedMS/1000*gb + f.InitDuration.Seconds()*scale*gb
	}
	add("Lambda", "invocations", invocations, "requests", p.LambdaRequest, million, false)
	add("Lambda", "duration (arm64)", gbs, "GB-s", p.LambdaGBSecond, 1, false)

	add("DynamoDB", "write request units", u.DynamoDB.WriteUnits*scale, "WRU", p.DynamoDBWriteRequestUnit, million, false)
	add("DynamoDB", "read request units", u.DynamoDB.ReadUnits*scale, "RRU", p.DynamoDBReadRequestUnit, million, false)
	if w.StoredBytesPerOrder > 0 {
		add("DynamoDB", "storage of a month's orders", float64(w.StoredBytesPerOrder)*float64(w.Orders)/(1<<30), "GB-month", p.DynamoDBStorageGBMonth, 1, false)
	}

	add("EventBridge", "custom events (64 KB chunks)", float64(u.EventBridge.Chunks)*scale, "events", p.EventBridgeEvent, million, false)

	batch := w.PollBatch
	if batch <= 0 {
		batch = 1
	}
	sqsRequests := float64(u.SQS.Requests)*scale + 2*float64(w.PolledMessages)*scale/batch
	add("SQS", "requests (64 KB chunks)", sqsRequests, "requests", p.SQSRequest, million, false)
	if w.PolledQueues > 0 {
		add("SQS", "idle event-source polling", float64(w.PolledQueues*IdlePollsPerQueueMonth), "requests", p.SQSRequest, million, true)
	}

	if u.SNS.Chunks > 0 {
		add("SNS", "topic publishes (64 KB chunks)", float64(u.SNS.Chunks)*scale, "publishes", p.SNSPublish, million, false)
	}

	var lambdaInvocationsRun int64
	for _, f := range w.Functions {
		lambdaInvocationsRun += f.Invocations
	}
	logGB := (float64(w.LogBytes) + float64(lambdaInvocationsRun*PlatformLogBytes)) * scale / (1 << 30)
	add("CloudWatch", "log ingestion (incl. EMF)", logGB, "GB", p.LogsIngestionGB, 1, false)
	add("CloudWatch", "custom metrics (EMF series)", float64(w.CustomMetrics), "metrics", p.CustomMetricMonth, 1, true)
	if w.Alarms > 0 {
		add("CloudWatch", "alarms", float64(w.Alarms), "alarms", p.AlarmMonth, 1, true)
	}
	if w.Dashboards > 0 {
		add("CloudWatch", "dashboards", float64(w.Dashboards), "dashboards", p.DashboardMonth, 1, true)
	}
	for _, l := range b.Lines {
		b.Total += l.Cost
	}

	texts := float64(u.SNS.SMS) * scale
	b.SMS = []Line{
		{Service: "SMS", Item: "texts to US numbers", Quantity: texts, Unit: "texts", Rate: p.SMSMessage, Per: 1, Cost: texts * p.SMSMessage},
		{Service: "SMS", Item: "carrier fees (assumed)", Quantity: texts, Unit: "texts", Rate: p.SMSCarrierFee, Per: 1, Cost: texts * p.SMSCarrierFee},
	}
	for _, l := range b.SMS {
		b.SMSTotal += l.Cost
	}
	return b, nil
}

// ByService returns the cost of each service, without SMS.
func (b Bill) ByService() map[string]float64 {
	m := map[string]float64{}
	for _, l := range b.Lines {
		m[l.Service] += l.Cost
	}
	return m
}

// WriteTo prints the bill as a table: a line per item with its quantity per order and per month, its
// rate and its cost; the total; the SMS apart; each service beside the seed system's estimate; and the
// assumptions.
func (b Bill) WriteTo(w io.Writer) (int64, error) {
	var sb strings.Builder
	fmt.Fprintf(&sb, "AWS bill for %s orders a month, %s list prices as of %s\n(%s)\n\n", thousands(float64(b.Orders)), b.Prices.Region, b.Prices.AsOf, b.Prices.Source)
	t := table{align: "llrrlrr"}
	t.add("service", "item", "per order", "per month", "unit", "rate", "cost")
	row := func(l Line) {
		t.add(l.Service, l.Item, b.perOrder(l), thousands(l.Quantity), l.Unit, rate(l), money(l.Cost))
	}
	for _, l := range b.Lines {
		row(l)
	}
	t.add("", "total without SMS", "", "", "", "", money(b.Total))
	t.add()
	for _, l := range b.SMS {
		row(l)
	}
	t.add("", "SMS total", "", "", "", "", money(b.SMSTotal))
	t.add("", "total with SMS", "", "", "", "", money(b.Total+b.SMSTotal))
	t.write(&sb)

	scale := float64(b.Orders) / float64(Seed.Orders)
	fmt.Fprintf(&sb, "\nBeside the seed system's estimate for %s orders", thousands(float64(Seed.Orders)))
	if b.Orders != Seed.Orders {
		fmt.Fprintf(&sb, ", scaled to %s", thousands(float64(b.Orders)))
	}
	sb.WriteString(":\n\n")
	t = table{align: "lrr"}
	t.add("service", "this bill", "seed")
	ours := b.ByService()
	for _, s := range []string{"API Gateway", "Lambda", "DynamoDB", "EventBridge", "SQS", "SNS", "CloudWatch"} {
		seed := "-"
		if v, ok := Seed.ByService[s]; ok {
			seed = money(v * scale)
		}
		t.add(s, money(ours[s]), seed)
	}
	t.add("total without SMS", money(b.Total), money(Seed.TotalLow*scale)+"-"+money(Seed.TotalHigh*scale))
	t.add("SMS", money(b.SMSTotal), "(in SNS)")
	t.write(&sb)

	sb.WriteString("\nAssumptions:\n")
	for _, a := range Assumptions {
		sb.WriteString("- " + a + "\n")
	}
	n, err := io.WriteString(w, sb.String())
	return int64(n), err
}

// perOrder prints a line's quantity per order; sizes in GB are printed in KB, which reads better.
func (b Bill) perOrder(l Line) string {
	switch {
	case l.Fixed:
		return "fixed"
	case b.Orders <= 0:
		return ""
	case l.Unit == "GB" || l.Unit == "GB-month":
		return strconv.FormatFloat(l.Quantity/float64(b.Orders)*(1<<30)/1024, 'f', 1, 64) + " KB"
	}
	return decimal(l.Quantity / float64(b.Orders))
}

// table lays out rows in columns, each left ('l') or right ('r') aligned, two spaces apart.
type table struct {
	align string
	rows  [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(sb *strings.Builder) {
	width := make([]int, len(t.align))
	for _, r := range t.rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	for _, r := range t.rows {
		var line strings.Builder
		for i := range t.align {
			c := ""
			if i < len(r) {
				c = r[i]
			}
			if i > 0 {
				line.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[i]-len(c))
			if t.align[i] == 'r' {
				line.WriteString(pad + c)
			} else {
				line.WriteString(c + pad)
			}
		}
		sb.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
}

func rate(l Line) string {
	unit := l.Unit
	if unit != "GB-s" {
		unit = strings.TrimSuffix(unit, "s")
	}
	switch l.Per {
	case 1:
	case 1e6:
		unit = "1M " + l.Unit
	default:
		unit = thousands(l.Per) + " " + l.Unit
	}
	// Ten decimals, then no trailing zeros beyond the cents: 0.625 rather than 0.6249999999999999 (from
	// 0.625/1e6*1e6), 3.50 rather than 3.5.
	r := strings.TrimRight(strconv.FormatFloat(l.Rate, 'f', 10, 64), "0")
	if whole, frac, _ := strings.Cut(r, "."); len(frac) < 2 {
		r = whole + "." + frac + strings.Repeat("0", 2-len(frac))
	}
	return "$" + r + " / " + unit
}

func money(v float64) string {
	return "$" + thousandsFixed(v, 2)
}

// decimal prints a per-order quantity with up to four significant decimals.
func decimal(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 100:
		return thousandsFixed(v, 0)
	case math.Abs(v) >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

func thousands(v float64) string {
	if v != math.Trunc(v) && math.Abs(v) < 1000 {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return thousandsFixed(v, 0)
}

// thousandsFixed formats v with prec decimals and commas between thousands.
func thousandsFixed(v float64, prec int) string {
	s := strconv.FormatFloat(math.Abs(v), 'f', prec, 64)
	whole, frac, _ := strings.Cut(s, ".")
	var out []byte
	for i := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, whole[i])
	}
	r := string(out)
	if frac != "" {
		r += "." + frac
	}
	if v < 0 {
		r = "-" + r
	}
	return r
}
