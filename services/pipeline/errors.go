package pipeline

import (
	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
)

func invalidDetail(e contracts.Event, err error) error {
	return fault.Wrap(fault.Invalid, err, "malformed "+e.DetailType+" detail in event "+e.ID)
}
