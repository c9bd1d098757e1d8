package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
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

// tokenPattern finds the words of a question, hyphenated ones whole ("7k3m-q9tx", "gift-card").
var tokenPattern = regexp.MustCompile(`[0-9A-Za-z]+(?:-[0-9A-Za-z]+)*`)

// referenceTokenPattern is the shape of a written order reference: 4 + 4 letters and digits, the dash
// optional (order.ParseReference decides whether they are a reference's).
var referenceTokenPattern = regexp.MustCompile(`^[0-9A-Za-z]{4}-?[0-9A-Za-z]{4}$`)

// extractOrderRefs returns the order references, ids and id prefixes in a question, in order, without
// duplicates; references in their canonical form (7K3M-Q9TX).
//
// A run of hex letters without a digit ("deadbeef") is taken for a word, not an id: id prefixes are
// timestamps and have digits. A word of 8 letters can also be a reference ("delivery" reads as
// DE11-VERY), so a reference is taken for one only when it has a digit or is written in capitals as
// the texts show it; maybeReferences returns the other candidates, which are references only if the
// customer has an order with them.
func extractOrderRefs(query string) []string {
	refs, _ := scanOrderRefs(query)
	return refs
}

// maybeReferences returns the words of a question that read as order references but look like words
// (lower case, no digit), in canonical form.
func maybeReferences(query string) []string {
	_, maybe := scanOrderRefs(query)
	return maybe
}

func scanOrderRefs(query string) (refs, maybe []string) {
	type hit struct {
		at  int
		ref string
	}
	var hits []hit
	lower := strings.ToLower(query) // same byte offsets: the patterns only match ASCII
	var ids [][]int
	for _, m := range orderRefPattern.FindAllStringIndex(lower, -1) {
		if strings.ContainsAny(lower[m[0]:m[1]], "0123456789") {
			hits = append(hits, hit{m[0], lower[m[0]:m[1]]})
			ids = append(ids, m)
		}
	}
	for _, m := range tokenPattern.FindAllStringIndex(query, -1) {
		word := query[m[0]:m[1]]
		if !referenceTokenPattern.MatchString(word) || slices.ContainsFunc(ids, func(id []int) bool { return id[0] < m[1] && m[0] < id[1] }) {
			continue
		}
		ref, err := order.ParseReference(word)
		if err != nil {
			continue
		}
		if strings.ContainsAny(word, "0123456789") || word == strings.ToUpper(word) {
			hits = append(hits, hit{m[0], ref})
		} else if !slices.Contains(maybe, ref) {
			maybe = append(maybe, ref)
		}
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return a.at - b.at })
	for _, h := range hits {
		if slices.Contains(refs, h.ref) {
			continue
		}
		refs = append(refs, h.ref)
		if len(refs) == maxRefs {
			break
		}
	}
	return refs, maybe
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
	// calls records the tool calls, when not nil.
	calls *toolCalls
	ids   orderIDSet
	out   []string
}

// respondOffline answers from the order tools with templated sentences. It recognises the intents of a
// question and the order ids in it; a question without an id is about the order the conversation was
// last about, or else the customer's most relevant recent order. It returns an error only when the
// orders cannot be read. Its tool calls are recorded into calls unless it is nil.
func (c *Chatbot) respondOffline(ctx context.Context, customerID, query string, history []turn, calls *toolCalls) (answer, error) {
	r := &offline{c: c, ctx: ctx, customerID: customerID, calls: calls}
	refs, maybe := scanOrderRefs(query)
	for _, ref := range maybe {
		// A word that reads as a reference counts only if it is one of this customer's: a quiet lookup,
		// not a tool call the answer is about.
		if len(refs) < maxRefs {
			if _, err := c.tools.resolve(ctx, customerID, ref); err == nil {
				refs = append(refs, ref)
			}
		}
	}
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
	"order 7K3M-Q9TX?\" with the order reference from your SMS), where your package is, your recent orders, why an order " +
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
	raw, ids, err := r.c.callTool(r.ctx, r.calls, r.customerID, name, b)
	if err != nil {
		return err
	}
	// The tools return their own types; reading their encoded result keeps the responder honest about
	// using exactly what the model would see.
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
		r.say("I couldn't find an order %s among your orders. Please check the order reference: it's in the SMS we sent when you placed the order (like 7K3M-Q9TX).",
			refName(ref))
		return nil
	case fault.Conflict:
		var amb *ambiguousPrefix
		if errors.As(err, &amb) {
			r.say("Several of your orders start with %s: %s. Which one do you mean? Please send its order reference.",
				normalizeOrderRef(ref), joinAnd(amb.references))
			return nil
		}
	case fault.Invalid:
		r.say("%q doesn't look like an order reference. The reference is in the SMS we sent when you placed the order (like 7K3M-Q9TX).", ref)
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
		d.Reference, itemsText(d.Items), d.StatusDescription, d.Status, money(d.Total, d.Currency), d.PlacedAt.Format("2 January 2006"))
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
			t.Reference, t.Carrier, t.TrackingNumber, t.EstimatedDelivery)
	case t.Status == string(order.Failed):
		r.say("Your order %s failed, so it will not ship.", t.Reference)
		var f failureInfo
		if err := r.call(ToolExplainFailure, orderInput{OrderID: t.OrderID}, &f); err != nil {
			return err
		}
		if f.Failure != nil {
			r.sayFailure("It", f.Failure)
		}
	case t.Status == string(order.Cancelled):
		r.say("Your order %s was cancelled, so it will not ship.", t.Reference)
	default:
		r.say("Your order %s hasn't shipped yet: it %s (status %s). You'll get a tracking number once it's handed to the carrier.",
			t.Reference, t.StatusDescription, t.Status)
	}
	return nil
}

func (r *offline) failure(ref string) error {
	var f failureInfo
	if err := r.call(ToolExplainFailure, orderInput{OrderID: ref}, &f); err != nil {
		return err
	}
	if !f.Failed || f.Failure == nil {
		r.say("Good news: your order %s hasn't failed.", f.Reference)
		return r.status(f.OrderID)
	}
	r.sayFailure("Your order "+f.Reference, f.Failure)
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
		r.say("Your order %s is already cancelled.", d.Reference)
	case d.Cancellable:
		r.say("Your order %s %s (status %s), so it can still be cancelled. %s", d.Reference, d.StatusDescription, d.Status, r.c.cancel)
	case d.Status == string(order.Failed):
		r.say("Your order %s failed, so there is nothing to cancel: it will not ship and the payment is not taken.", d.Reference)
	default:
		r.say("Your order %s %s (status %s), so it can no longer be cancelled: orders can be cancelled only until they are being prepared for shipping.",
			d.Reference, d.StatusDescription, d.Status)
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
			o.Reference, o.PlacedAt.Format("2 January 2006"), o.Summary, money(o.Total, o.Currency), statusDescription(order.Status(o.Status)), o.Status)
	}
	if l.More {
		r.say("\nYou have older orders too; ask me about any of them by its order reference.")
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
		r.say("Your most recent order is %s.", chosen.Reference)
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
			r.ids.add(orderName{ID: o.OrderID, Reference: o.Reference})
			r.say("Your order %s (%s) %s, so it can still be cancelled.", o.Reference, o.Summary, statusDescription(order.Status(o.Status)))
		}
		r.say("%s", r.c.cancel)
		return nil
	}
	r.say("Your most recent order is %s.", l.Orders[0].Reference)
	return r.about(intentStatus, l.Orders[0].OrderID)
}

// refName is how an answer repeats what the customer named an order by: a reference in its canonical
// form, an id prefix as its first 8 characters.
func refName(ref string) string {
	n := normalizeOrderRef(ref)
	if !prefixIDPattern.MatchString(n) {
		if canonical, err := order.ParseReference(n); err == nil {
			return canonical
		}
	}
	return shortID(n)
}

func joinAnd(parts []string) string {
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
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
