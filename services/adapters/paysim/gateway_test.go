package paysim_test

import (
	"context"
	"testing"

	"github.com/orderflow/orderflow/services/adapters/paysim"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/payment"
)

func authorize(g *paysim.Gateway, id, token string) (payment.Authorization, error) {
	return g.Authorize(context.Background(), payment.AuthorizeRequest{OrderID: id, Amount: 129999, Currency: "EUR", Token: token})
}

func TestTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		token    string
		wantCode string
	}{
		{paysim.TokenVisa, ""},
		{paysim.TokenDecline, payment.CodeDeclined},
		{paysim.TokenInsufficientFunds, payment.CodeInsufficientFunds},
		{"tok_mastercard", ""},
	}
	for _, tt := range tests {
		t.Run(tt.token, func(t *testing.T) {
			t.Parallel()
			g := paysim.New(paysim.NewMemoryLedger())
			auth, err := authorize(g, "o1", tt.token)
			if got := fault.CodeOf(err); got != tt.wantCode {
				t.Fatalf("code = %q, want %q (err %v)", got, tt.wantCode, err)
			}
			if tt.wantCode == "" && auth.ID == "" {
				t.Fatal("approved without an authorization id")
			}
			if tt.wantCode != "" && fault.Retryable(err) {
				t.Error("a decline must not be retried")
			}
		})
	}
}

func TestFlakyFailsTwiceThenApproves(t *testing.T) {
	t.Parallel()
	g := paysim.New(paysim.NewMemoryLedger())
	for i := 1; i <= 2; i++ {
		if _, err := authorize(g, "o1", paysim.TokenFlaky); fault.KindOf(err) != fault.Unavailable {
			t.Fatalf("attempt %d: err = %v, want a transient failure", i, err)
		}
	}
	if _, err := authorize(g, "o1", paysim.TokenFlaky); err != nil {
		t.Fatalf("attempt 3: %v, want approval", err)
	}
}

func TestNeverChargesTwice(t *testing.T) {
	t.Parallel()
	g := paysim.New(paysim.NewMemoryLedger())
	a1, err := authorize(g, "o1", paysim.TokenVisa)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := authorize(g, "o1", paysim.TokenVisa)
	if err != nil || a2.ID != a1.ID {
		t.Fatalf("second authorize = %v, %v; want the same authorization %s", a2, err, a1.ID)
	}
	ctx := context.Background()
	if err := g.Capture(ctx, "o1"); err != nil {
		t.Fatal(err)
	}
	if err := g.Capture(ctx, "o1"); err != nil {
		t.Fatalf("second capture: %v, want no-op", err)
	}
	if _, _, err := g.Void(ctx, "o1"); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("void after capture: %v, want conflict", err)
	}
}

func TestVoidOnceAndTombstone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := paysim.New(paysim.NewMemoryLedger())
	auth, _ := authorize(g, "o1", paysim.TokenVisa)
	got, first, err := g.Void(ctx, "o1")
	if err != nil || !first || got.ID != auth.ID {
		t.Fatalf("first void = %v %v %v", got, first, err)
	}
	got, first, err = g.Void(ctx, "o1")
	if err != nil || first || got.ID != auth.ID {
		t.Fatalf("second void = %v %v %v; want same authorization, not first", got, first, err)
	}
	// Void before authorize: the later authorize is refused.
	if _, first, _ := g.Void(ctx, "o2"); first {
		t.Fatal("voiding nothing reported a void")
	}
	if _, err := authorize(g, "o2", paysim.TokenVisa); fault.CodeOf(err) != payment.ErrVoided.Code {
		t.Fatalf("authorize after void: %v, want ErrVoided", err)
	}
}
