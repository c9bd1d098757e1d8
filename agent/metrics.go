package agent

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	svcmetrics "github.com/orderflow/orderflow/services/metrics"
)

// metrics are the chatbot's Prometheus metrics. When the registry carries a sink (svcmetrics.SinkOf; the
// registry of the application's metrics.Metrics does), every increment and observation also goes to it,
// so on AWS the chatbot's metrics reach CloudWatch under the same names and labels.
type metrics struct {
	requests   *svcmetrics.CounterVec
	modelCalls *svcmetrics.CounterVec
	toolCalls  *svcmetrics.CounterVec
	fallbacks  *svcmetrics.CounterVec
	latency    *svcmetrics.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	sink := svcmetrics.SinkOf(reg)
	m := &metrics{
		requests: svcmetrics.NewCounterVec(prometheus.CounterOpts{
			Name: "orderflow_chatbot_requests_total",
			Help: "Chatbot questions answered, by source of the answer (model or fallback) and outcome.",
		}, []string{"source", "outcome"}, sink),
		modelCalls: svcmetrics.NewCounterVec(prometheus.CounterOpts{
			Name: "orderflow_chatbot_model_calls_total",
			Help: "Calls of the chat model, by stop reason, or \"error\" when the call failed.",
		}, []string{"stop_reason"}, sink),
		toolCalls: svcmetrics.NewCounterVec(prometheus.CounterOpts{
			Name: "orderflow_chatbot_tool_calls_total",
			Help: "Tool runs, by tool and outcome (ok or the error kind).",
		}, []string{"tool", "outcome"}, sink),
		fallbacks: svcmetrics.NewCounterVec(prometheus.CounterOpts{
			Name: "orderflow_chatbot_fallbacks_total",
			Help: "Questions answered by the offline responder, by reason.",
		}, []string{"reason"}, sink),
		latency: svcmetrics.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "orderflow_chatbot_request_duration_seconds",
			Help:    "Time to answer a chatbot question, by source of the answer.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30},
		}, []string{"source"}, svcmetrics.UnitSeconds, sink),
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
