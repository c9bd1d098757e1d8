// Package fault is orderflow's one error taxonomy. Every error that crosses a service boundary carries a
// Kind; the HTTP API, the event delivery loop and (on AWS) the SQS batch response each map Kind in exactly
// one place: to a status code, or to retry versus dead-letter.
package fault

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller should do about it.
type Kind int

// The kinds. Internal is the zero value: an error nobody classified is a bug or an outage, never the
// caller's fault, and is retried.
const (
	Internal     Kind = iota // unexpected; retry, and on the API a 500 without internals
	Invalid                  // the input is wrong; never retried
	NotFound                 // the thing does not exist
	Conflict                 // the thing is in a state that forbids the request
	Unauthorized             // missing or unknown credentials
	RateLimited              // slow down
	Unavailable              // a dependency failed transiently; retry with backoff
)

var kindNames = [...]string{"internal", "invalid", "not found", "conflict", "unauthorized", "rate limited", "unavailable"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is an error with a Kind and, optionally, a machine-readable code (e.g. OUT_OF_STOCK) and the
// fields it is about.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Fields  []FieldIssue
	Err     error
}

// FieldIssue is a problem with one input field.
type FieldIssue struct {
	Field string
	Issue string
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Kind.String()
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error of the given kind and code.
func New(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// Wrap classifies err as kind, keeping it in the chain.
func Wrap(kind Kind, err error, message string) *Error {
	return &Error{Kind: kind, Message: message, Err: err}
}

// Invalidf is a shorthand for an Invalid error with a formatted message.
func Invalidf(format string, args ...any) *Error {
	return &Error{Kind: Invalid, Message: fmt.Sprintf(format, args...)}
}

// NotFoundf is a shorthand for a NotFound error with a formatted message.
func NotFoundf(format string, args ...any) *Error {
	return &Error{Kind: NotFound, Message: fmt.Sprintf(format, args...)}
}

// Conflictf is a shorthand for a Conflict error with a formatted message.
func Conflictf(format string, args ...any) *Error {
	return &Error{Kind: Conflict, Message: fmt.Sprintf(format, args...)}
}

// Unavailablef is a shorthand for an Unavailable error with a formatted message.
func Unavailablef(format string, args ...any) *Error {
	return &Error{Kind: Unavailable, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the Kind of the first *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// CodeOf returns the code of the first *Error in err's chain that has one, or "".
func CodeOf(err error) string {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return ""
		}
		if e.Code != "" {
			return e.Code
		}
		err = e.Err
	}
	return ""
}

// Is reports whether err is classified as kind.
func Is(err error, kind Kind) bool { return err != nil && KindOf(err) == kind }

// Retryable reports whether delivering the same message again may succeed. Invalid input, a missing
// thing and a conflict will not change on retry; everything else might.
func Retryable(err error) bool {
	switch KindOf(err) {
	case Invalid, NotFound, Conflict, Unauthorized:
		return false
	}
	return true
}
