package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/order"
)

// intent is what a question asks for, as the offline responder understands it.
type intent int

const (
	intentHelp intent = iota
	intentThanks
	intentStatus
	intentTrack
	intentFailure
	intentList
	intentCancel
)

// Keywords of the intents. A keyword without a space matches the start of a word ("ship" matches
// "shipped"; a keyword of three letters or fewer only a word at most three letters longer, so "hi" does not
// match "history"); one with a space matches the start of a phrase.
var (
	cancelWords  = []string{"cancel", "stop my order", "stop the order", "don't want", "do not want"}
	failureWords = []string{"fail", "declin", "went wrong", "go wrong", "gone wrong", "problem", "reject", "error",
		"didn't go through", "did not go through", "not go through", "unsuccessful", "issue"}
	trackWords = []string{"where", "track", "ship", "deliver", "arriv", "package", "parcel", "carrier", "eta",
		"dispatch", "when will", "when does", "when do", "when can", "on its way", "on the way", "in transit", "receive", "get it", "delay"}
	listWords   = []string{"orders", "recent", "history", "list", "all my", "how many"}
	statusWords = []string{"status", "detail", "total", "cost", "how much", "item", "contain", "bought", "progress",
		"update", "happening", "check", "order", "paid", "pay", "charge", "refund", "what did i", "what's in", "placed"}
	helpWords   = []string{"help", "hello", "hi", "hey", "what can you", "who are you"}
	thanksWords = []string{"thank", "thx", "cheers"}
)

// orderRefPattern finds order ids and id prefixes (at least 8 hex characters) in a question.
var orderRefPattern = regexp.MustCompile(`\b[0-9a-f]{8}(?:-[0-9a-f]{1,12}){0,4}\b`)

// maxRefs bounds how many orders one question is answered about.
const maxRefs = 5

// scanRecent is how many recent orders the offline responder looks through to pick the order a question
// without an id is about.
const scanRecent = 20

// extractOrderRefs returns the order ids and id prefixes in a question, in order, without duplicates.
// A run of hex letters without a digit ("deadbeef") is taken for a word, not an id: id prefixes are
// timestamps and have digits.
func extractOrderRefs(query string) []string {
	var refs []string
	seen := map[string]bool{}
	for _, m := range orderRefPattern.FindAllString(strings.ToLower(query), -1) {
		if !strings.ContainsAny(m, "0123456789") || seen[m] {
			continue
		}
		seen[m] = true
		refs = append(refs, m)
		if len(refs) == maxRefs {
			break
		}
	}
	return refs
}

var wordPattern = regexp.MustCompile(`[a-z0-9']+`)

// classify finds the intent of a question.
func classify(query string, hasRef bool) intent {
	q := strings.ToLower(strings.NewReplacer("’", "'", "‘", "'").Replace(query))
	words := wordPattern.FindAllString(q, -1)
	phrase := " " + strings.Join(words, " ") + " "
	has := func(keywords []string) bool {
		for _, k := range keywords {
			if strings.Contains(k, " ") {
				if strings.Contains(phrase, " "+k) {
					return true
				}
				continue
			}
			for _, w := range words {
				if strings.HasPrefix(w, k) && (len(k) > 3 || w == k || len(w) <= len(k)+3) {
					return true
				}
			}
		}
		return false
	}
	switch {
	case has(cancelWords):
		return intentCancel
	case has(failureWords):
		return intentFailure
	case has(trackWords):
		return intentTrack
	case !hasRef && has(listWords):
		return intentList
	case hasRef || has(statusWords):
		return intentStatus
	case has(thanksWords):
		return intentThanks
	}
	return intentHelp
}

// offline answers one question without a model.
type offline struct {
	c          *Chatbot
	ctx        context.Context
	customerID string
	ids        orderIDSet
	out        []string
}

// respondOffline answers from the order tools with templated sentences. It recognises the intents of a
// question and the order ids in it; a question without an id is about the order the conversation was
// last about, or else the customer's most relevant recent order. It returns an error only when the
// orders cannot be read.
func (c *Chatbot) respondOffline(ctx context.Context, customerID, query string, history []turn) (answer, error) {
	r := &offline{c: c, ctx: ctx, customerID: customerID}
	refs := extractOrderRefs(query)
	in := classify(query, len(refs) > 0)
	if len(refs) == 0 && in != intentHelp && in != intentThanks && in != intentList {
		var last []string
		for i := len(history) - 1; i >= 0 && last == nil; i-- {
			last = history[i].OrderIDs
		}
		if len(last) == 1 {
			refs = last
		}
	}
	var err error
	switch {
	case in == intentHelp:
		r.say(helpText)
	case in == intentThanks:
		r.say("You're welcome! Anything else about your orders I can help with?")
	case in == intentList:
		err = r.list()
	case len(refs) > 0:
		for _, ref := range refs {
			if err = r.about(in, ref); err != nil {
				break
			}
		}
	default:
		err = r.pick(in)
	}
	if err != nil {
		return answer{}, err
	}
	return answer{text: r.text(), orderIDs: r.ids.ids, source: contracts.ChatSourceFallback}, nil
}

const helpText = "I can help with your orders: ask me for an order's status (for example \"What's the status of " +
	"order 0193a1b2?\" with the id from your SMS), where your package is, your recent orders, why an order " +
	"failed, or how to cancel an order."

func (r *offline) say(format string, args ...any) {
	r.out = append(r.out, fmt.Sprintf(format, args...))
}

// text joins the sentences; a sentence starting with a newline (a list line) is not preceded by a space.
func (r *offline) text() string {
	var b strings.Builder
	for i, s := range r.out {
		if i > 0 && !strings.HasPrefix(s, "\n") {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	return b.String()
}

// call runs a tool through the same path the model's tool uses take.
func (r *offline) call(name string, input any, out any) error {
	b, err := json.Marshal(input)
	if err != nil {
		return fmt.Errorf("encode %s input: %w", name, err)
	}
	res, ids, err := r.c.callTool(r.ctx, r.customerID, name, b)
	if err != nil {
		return err
	}
	// The tools return their own types; copying through JSON keeps the responder honest about using
	// exactly what the model would see.
	raw, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encode %s result: %w", name, err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode %s result: %w", name, err)
	}
	r.ids.add(ids...)
	return nil
}

// lookupFailed turns a lookup the customer can fix into a sentence; other errors are returned.
func (r *offline) lookupFailed(ref string, err error) error {
	switch fault.KindOf(err) {
	case fault.NotFound:
		r.say("I couldn't find an order %s among your orders. Please check the id: it's in the SMS we sent when you placed the order.",
			shortID(normalizeOrderRef(ref)))
		return nil
	case fault.Conflict:
		var fe *fault.Error
		if errors.As(err, &fe) && fe.Code == "AMBIGUOUS_ORDER_ID" {
			r.say("Several of your orders start with %s. Which one do you mean? Please send more of the id.", normalizeOrderRef(ref))
			return nil
		}
	case fault.Invalid:
		r.say("%q doesn't look like an order id. The id is in the SMS we sent when you placed the order.", ref)
		return nil
	}
	return fmt.Errorf("look up order %s: %w", ref, err)
}

// about answers the intent for one order.
func (r *offline) about(in intent, ref string) error {
	var err error
	switch in {
	case intentTrack:
		err = r.track(ref)
	case intentFailure:
		err = r.failure(ref)
	case intentCancel:
		err = r.cancel(ref)
	default:
		err = r.status(ref)
	}
	if err != nil {
		return r.lookupFailed(ref, err)
	}
	return nil
}

func (r *offline) details(ref string) (orderDetails, error) {
	var d orderDetails
	err := r.call(ToolGetOrderStatus, orderInput{OrderID: ref}, &d)
	return d, err
}

func (r *offline) status(ref string) error {
	d, err := r.details(ref)
	if err != nil {
		return err
	}
	r.say("Your order %s (%s) %s (status %s). The total is %s, placed on %s.",
		d.ShortID, itemsText(d.Items), d.StatusDescription, d.Status, money(d.Total, d.Currency), d.PlacedAt.Format("2 January 2006"))
	switch {
	case d.Shipment != nil:
		r.say("It shipped with %s, tracking number %s, and is expected to arrive on %s.",
			d.Shipment.Carrier, d.Shipment.TrackingNumber, d.Shipment.EstimatedDelivery)
	case d.Failure != nil:
		r.sayFailure("It", d.Failure)
	case d.Cancellable:
		r.say("It can still be cancelled if you need to.")
	}
	return nil
}

func (r *offline) track(ref string) error {
	var t trackingInfo
	if err := r.call(ToolTrackShipment, orderInput{OrderID: ref}, &t); err != nil {
		return err
	}
	switch {
	case t.Shipped:
		r.say("Your order %s is on its way with %s. The tracking number is %s and the estimated delivery date is %s.",
			t.ShortID, t.Carrier, t.TrackingNumber, t.EstimatedDelivery)
	case t.Status == string(order.Failed):
		r.say("Your order %s failed, so it will not ship.", t.ShortID)
		var f failureInfo
		if err := r.call(ToolExplainFailure, orderInput{OrderID: t.OrderID}, &f); err != nil {
			return err
		}
		if f.Failure != nil {
			r.sayFailure("It", f.Failure)
		}
	case t.Status == string(order.Cancelled):
		r.say("Your order %s was cancelled, so it will not ship.", t.ShortID)
	default:
		r.say("Your order %s hasn't shipped yet: it %s (status %s). You'll get a tracking number once it's handed to the carrier.",
			t.ShortID, t.StatusDescription, t.Status)
	}
	return nil
}

func (r *offline) failure(ref string) error {
	var f failureInfo
	if err := r.call(ToolExplainFailure, orderInput{OrderID: ref}, &f); err != nil {
		return err
	}
	if !f.Failed || f.Failure == nil {
		r.say("Good news: your order %s hasn't failed.", f.ShortID)
		return r.status(f.OrderID)
	}
	r.sayFailure("Your order "+f.ShortID, f.Failure)
	return nil
}

// sayFailure explains a failure; subject is what failed ("It", "Your order 0193a1b2").
func (r *offline) sayFailure(subject string, f *failureFacts) {
	stage := strings.ToLower(strings.ReplaceAll(f.Stage, "_", " "))
	r.say("%s failed during %s because %s (%s: %s). %s.", subject, stage, f.Explanation, f.Code, strings.TrimSuffix(f.Reason, "."), capitalize(f.NextStep))
}

func (r *offline) cancel(ref string) error {
	d, err := r.details(ref)
	if err != nil {
		return err
	}
	switch {
	case d.Status == string(order.Cancelled):
		r.say("Your order %s is already cancelled.", d.ShortID)
	case d.Cancellable:
		r.say("Your order %s %s (status %s), so it can still be cancelled. %s", d.ShortID, d.StatusDescription, d.Status, r.c.cancel)
	case d.Status == string(order.Failed):
		r.say("Your order %s failed, so there is nothing to cancel: it will not ship and the payment is not taken.", d.ShortID)
	default:
		r.say("Your order %s %s (status %s), so it can no longer be cancelled: orders can be cancelled only until they are being prepared for shipping.",
			d.ShortID, d.StatusDescription, d.Status)
	}
	return nil
}

func (r *offline) recent(n int) (orderList, error) {
	var l orderList
	err := r.call(ToolListRecentOrders, listInput{Limit: n}, &l)
	return l, err
}

func (r *offline) list() error {
	l, err := r.recent(defaultListLimit)
	if err != nil {
		return fmt.Errorf("list recent orders: %w", err)
	}
	if len(l.Orders) == 0 {
		r.say("You don't have any orders yet.")
		return nil
	}
	if len(l.Orders) == 1 {
		r.say("Here is your only order:")
	} else {
		r.say("Here are your %d most recent orders:", len(l.Orders))
	}
	for _, o := range l.Orders {
		r.say("\n- %s (placed on %s): %s for %s; it %s (status %s).",
			o.ShortID, o.PlacedAt.Format("2 January 2006"), o.Summary, money(o.Total, o.Currency), statusDescription(order.Status(o.Status)), o.Status)
	}
	if l.More {
		r.say("\nYou have older orders too; ask me about any of them by id.")
	}
	return nil
}

// pick answers a question without an order id: it chooses the order from the customer's recent orders.
func (r *offline) pick(in intent) error {
	l, err := r.recent(scanRecent)
	if err != nil {
		return fmt.Errorf("list recent orders: %w", err)
	}
	if len(l.Orders) == 0 {
		r.say("I couldn't find any orders for you yet.")
		return nil
	}
	// The list's ids are not what the answer is about; only the chosen orders are.
	r.ids = orderIDSet{}
	switch in {
	case intentFailure:
		var failed []orderSummary
		for _, o := range l.Orders {
			if o.Status == string(order.Failed) {
				failed = append(failed, o)
			}
		}
		if len(failed) == 0 {
			r.say("None of your recent orders has failed.")
			return r.about(intentStatus, l.Orders[0].OrderID)
		}
		if len(failed) > 1 {
			r.say("%d of your recent orders failed.", len(failed))
		}
		for _, o := range failed[:min(len(failed), 3)] {
			if err := r.about(intentFailure, o.OrderID); err != nil {
				return err
			}
		}
		return nil
	case intentTrack:
		chosen := l.Orders[0]
		for _, o := range l.Orders {
			if o.Status != string(order.Failed) && o.Status != string(order.Cancelled) {
				chosen = o
				break
			}
		}
		r.say("Your most recent order is %s.", chosen.ShortID)
		return r.about(intentTrack, chosen.OrderID)
	case intentCancel:
		var open []orderSummary
		for _, o := range l.Orders {
			if order.Status(o.Status) != order.Cancelled && order.CanTransition(order.Status(o.Status), order.Cancelled) {
				open = append(open, o)
			}
		}
		r.say("You can cancel an order until it is being prepared for shipping.")
		if len(open) == 0 {
			r.say("None of your recent orders can still be cancelled.")
			return nil
		}
		for _, o := range open[:min(len(open), 3)] {
			r.ids.add(o.OrderID)
			r.say("Your order %s (%s) %s, so it can still be cancelled.", o.ShortID, o.Summary, statusDescription(order.Status(o.Status)))
		}
		r.say("%s", r.c.cancel)
		return nil
	}
	r.say("Your most recent order is %s.", l.Orders[0].ShortID)
	return r.about(intentStatus, l.Orders[0].OrderID)
}

func itemsText(items []itemFacts) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = fmt.Sprintf("%d × %s", it.Quantity, it.Name)
	}
	switch len(parts) {
	case 0:
		return "no items"
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

func money(amount, currency string) string {
	if currency == "" {
		return amount
	}
	return amount + " " + currency
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
