// Package input holds the rules every piece of input to orderflow follows, whichever door it comes in
// by (the REST API locally and behind API Gateway, the chatbot, the admin inventory API, the webhook
// subscriptions file): one strict JSON decoder, and the alphabets and lengths of identifiers and free
// text. What passes these rules can be stored by every store exactly as it was sent, and reads back
// byte for byte.
package input
