package pipeline_test

import (
	"encoding/json"
	"testing"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/pipeline"
)

func TestEventOrderID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		e    contracts.Event
		want string
	}{
		{"first resource", contracts.Event{Resources: []string{"o1", "o2"}, Detail: json.RawMessage(`{"orderId":"o3"}`)}, "o1"},
		{"detail when there is no resource", contracts.Event{Detail: json.RawMessage(`{"orderId":"o3"}`)}, "o3"},
		{"detail when the resource is empty", contracts.Event{Resources: []string{""}, Detail: json.RawMessage(`{"orderId":"o3"}`)}, "o3"},
		{"neither", contracts.Event{Detail: json.RawMessage(`not json`)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := pipeline.EventOrderID(tt.e); got != tt.want {
				t.Errorf("EventOrderID = %q, want %q", got, tt.want)
			}
		})
	}
}
