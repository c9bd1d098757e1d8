package httpapi

import (
	"errors"
	"net/http"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/pipeline"
)

// Errors the API itself raises; everything else comes from the services.
var (
	errNoRoute          = &fault.Error{Kind: fault.NotFound, Code: contracts.CodeNotFound, Message: "no such endpoint"}
	errMethodNotAllowed = &fault.Error{Kind: fault.Invalid, Code: contracts.CodeMethodNotAllowed, Message: "method not allowed on this endpoint"}
	errForbidden        = &fault.Error{Kind: fault.Unauthorized, Code: contracts.CodeForbidden, Message: "a valid X-API-Key header is required"}
	errAdminOnly        = &fault.Error{Kind: fault.Unauthorized, Code: contracts.CodeForbidden, Message: "this endpoint needs an admin API key"}
	errRateLimited      = &fault.Error{Kind: fault.RateLimited, Code: contracts.CodeRateLimited, Message: "too many requests for this API key; retry later"}
	errMediaType        = &fault.Error{Kind: fault.Invalid, Code: contracts.CodeUnsupportedMediaType, Message: "Content-Type must be application/json"}
	errTooLarge         = &fault.Error{Kind: fault.Invalid, Code: contracts.CodePayloadTooLarge, Message: "request body is too large"}
)

// errorResponse is the one place that turns an error into an HTTP status and error body. The kind
// decides the status, refined by a few codes; only 4xx bodies carry the error's own message, since a 5xx
// message could expose internals.
func errorResponse(err error) (int, contracts.ErrorBody) {
	code := fault.CodeOf(err)
	var status int
	switch fault.KindOf(err) {
	case fault.Invalid:
		switch code {
		case contracts.CodeUnsupportedMediaType:
			status = http.StatusUnsupportedMediaType
		case contracts.CodePayloadTooLarge:
			status = http.StatusRequestEntityTooLarge
		case contracts.CodeMethodNotAllowed:
			status = http.StatusMethodNotAllowed
		case contracts.CodeInvalidJSON:
			status = http.StatusBadRequest
		default:
			status, code = http.StatusBadRequest, contracts.CodeValidationFailed
		}
	case fault.NotFound:
		status, code = http.StatusNotFound, contracts.CodeNotFound
	case fault.Conflict:
		switch code {
		case contracts.CodeIdempotencyKeyReused:
			status = http.StatusUnprocessableEntity
		case contracts.CodePreconditionFailed:
			status = http.StatusPreconditionFailed
		default:
			status, code = http.StatusConflict, contracts.CodeConflict
		}
	case fault.Unauthorized:
		status, code = http.StatusForbidden, contracts.CodeForbidden
	case fault.RateLimited:
		status, code = http.StatusTooManyRequests, contracts.CodeRateLimited
	case fault.Unavailable:
		return http.StatusServiceUnavailable, contracts.ErrorBody{Error: contracts.ErrorDetail{
			Code: contracts.CodeUnavailable, Message: "the service is temporarily unavailable; retry later",
		}}
	default:
		return http.StatusInternalServerError, contracts.ErrorBody{Error: contracts.ErrorDetail{
			Code: contracts.CodeInternal, Message: "internal error",
		}}
	}
	body := contracts.ErrorBody{Error: contracts.ErrorDetail{Code: code, Message: message(err, status)}}
	var fe *fault.Error
	for e := err; errors.As(e, &fe); e = fe.Err {
		if len(fe.Fields) > 0 {
			for _, f := range fe.Fields {
				body.Error.Details = append(body.Error.Details, contracts.FieldIssue{Field: f.Field, Issue: f.Issue})
			}
			break
		}
	}
	return status, body
}

// message is the outermost classified error's own message (without the chain it wraps, which may come
// from an adapter), or the status text.
func message(err error, status int) string {
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Message != "" {
		return fe.Message
	}
	return http.StatusText(status)
}

// writeError writes err as an error response, logging server-side failures with their full chain.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := errorResponse(err)
	if status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path,
			"status", status, "correlationId", correlationID(r.Context()), "error", err)
	}
	s.writeJSON(w, r, status, body)
}

// writeJSON writes v as the JSON response body with the given status.
func (s *server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, release, err := pipeline.EncodePooled(v)
	s.writeEncoded(w, r, status, b, release, err)
}

// writeEncoded writes what pipeline.EncodePooled returned, and releases it.
func (s *server) writeEncoded(w http.ResponseWriter, r *http.Request, status int, b []byte, release func(), err error) {
	if err != nil {
		s.log.ErrorContext(r.Context(), "encode response", "path", r.URL.Path, "error", err)
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"INTERNAL","message":"internal error"}}`)
	}
	defer release()
	h := w.Header()
	// Shared values (net/http never changes a header's slice): a Set would allocate one per response.
	h["Content-Type"] = jsonContentType
	h["X-Content-Type-Options"] = nosniff
	w.WriteHeader(status)
	_, _ = w.Write(b)
	_, _ = w.Write(newline)
}

var (
	jsonContentType = []string{"application/json"}
	nosniff         = []string{"nosniff"}
	newline         = []byte("\n")
)
