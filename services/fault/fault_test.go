package fault_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/orderflow/orderflow/services/fault"
)

func TestKindSurvivesWrapping(t *testing.T) {
	t.Parallel()
	base := fault.New(fault.Conflict, "OUT_OF_STOCK", "not enough LAPTOP001")
	err := fmt.Errorf("reserve stock for order o1: %w", base)
	if got := fault.KindOf(err); got != fault.Conflict {
		t.Errorf("KindOf = %v, want conflict", got)
	}
	if got := fault.CodeOf(err); got != "OUT_OF_STOCK" {
		t.Errorf("CodeOf = %q, want OUT_OF_STOCK", got)
	}
	if fault.Retryable(err) {
		t.Error("a conflict must not be retried")
	}
}

func TestUnclassifiedErrorsAreInternalAndRetried(t *testing.T) {
	t.Parallel()
	err := errors.New("disk on fire")
	if fault.KindOf(err) != fault.Internal || !fault.Retryable(err) {
		t.Errorf("plain error: kind %v retryable %v, want internal and retryable", fault.KindOf(err), fault.Retryable(err))
	}
	if !fault.Retryable(fault.Unavailablef("gateway timeout")) {
		t.Error("unavailable must be retried")
	}
}
