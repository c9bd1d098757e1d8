package order_test

import (
	"errors"
	"testing"

	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/order"
)

func TestParseReference(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"7K3M-Q9TX", "7K3M-Q9TX"},
		{"7k3m-q9tx", "7K3M-Q9TX"},
		{"7K3MQ9TX", "7K3M-Q9TX"},
		{" 7k3mq9tx\n", "7K3M-Q9TX"},
		{"O0I1-L1ol", "0011-1101"}, // Crockford's look-alikes: O is 0, I and L are 1
	}
	for _, tt := range tests {
		got, err := order.ParseReference(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseReference(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "7K3M", "7K3M-Q9T", "7K3M-Q9TXX", "7K3-MQ9TX", "7K3M--Q9TX", "7K3M Q9TX", "7K3M-Q9TU", "7K3M_Q9TX", "7K3M-Q9T!", "7K3M-Q9TÉ"} {
		if got, err := order.ParseReference(bad); !errors.Is(err, order.ErrInvalidReference) || !fault.Is(err, fault.Invalid) {
			t.Errorf("ParseReference(%q) = %q, %v; want ErrInvalidReference (invalid)", bad, got, err)
		}
	}
}

func TestNewReferenceIsCanonicalAndRandom(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 10000 {
		r := order.NewReference()
		if got, err := order.ParseReference(r); err != nil || got != r {
			t.Fatalf("NewReference() = %q, which parses as %q, %v; want it canonical", r, got, err)
		}
		if seen[r] {
			t.Fatalf("NewReference() repeated %q within 10000 draws", r)
		}
		seen[r] = true
	}
}

func TestNewKeepsTheReferenceCanonical(t *testing.T) {
	t.Parallel()
	d := draft()
	d.Reference = "7k3mq9tx"
	o, err := order.New(d, t0)
	if err != nil || o.Reference() != "7K3M-Q9TX" || o.View().Reference != "7K3M-Q9TX" {
		t.Fatalf("New with reference 7k3mq9tx = %v, %v; want 7K3M-Q9TX", o, err)
	}
	d.Reference = "7K3M-Q9TU"
	var fe *fault.Error
	if _, err := order.New(d, t0); !errors.As(err, &fe) || fe.Fields[0].Field != "reference" {
		t.Errorf("New with reference 7K3M-Q9TU = %v, want a reference field issue", err)
	}
	d.Reference = ""
	if o, err := order.New(d, t0); err != nil || o.Reference() == "" {
		t.Errorf("New without a reference = %v, %v; want a fresh one", o, err)
	}
}
