package agent

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the chatbot's Prometheus metrics.
type metrics struct {
	requests   *prometheus.CounterVec
	modelCalls *prometheus.CounterVec
	toolCalls  *prometheus.CounterVec
	fallbacks  *prometheus.CounterVec
	latency    *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderflow_chatbot_requests_total",
			Help: "Chatbot questions answered, by source of the answer (model or fallback) and outcome.",
		}, []string{"source", "outcome"}),
		modelCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderflow_chatbot_model_calls_total",
			Help: "Calls of the chat model, by stop reason, or \"error\" when the call failed.",
		}, []string{"stop_reason"}),
		toolCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderflow_chatbot_tool_calls_total",
			Help: "Tool runs, by tool and outcome (ok or the error kind).",
		}, []string{"tool", "outcome"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderflow_chatbot_fallbacks_total",
			Help: "Questions answered by the offline responder, by reason.",
		}, []string{"reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "orderflow_chatbot_request_duration_seconds",
			Help:    "Time to answer a chatbot question, by source of the answer.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30},
		}, []string{"source"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.modelCalls, m.toolCalls, m.fallbacks, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register chatbot metrics: %w", err)
		}
	}
	return m, nil
}
