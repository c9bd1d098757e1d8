package agent_test

import (
	"testing"

	"github.com/orderflow/orderflow/agent"
	"github.com/orderflow/orderflow/agent/sessiontest"
)

func TestMemorySessionsContract(t *testing.T) {
	t.Parallel()
	sessiontest.Run(t, func(t *testing.T) agent.SessionStore {
		return agent.NewMemorySessions(sessiontest.TTL, 100, sessiontest.MaxTurns)
	})
}
