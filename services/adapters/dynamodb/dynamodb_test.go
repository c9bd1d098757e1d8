package dynamodb_test

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/uuid"

	"github.com/orderflow/orderflow/services/adapters/dynamodb"
	"github.com/orderflow/orderflow/services/adapters/emulators/emulatorstest"
)

func TestMain(m *testing.M) { os.Exit(emulatorstest.Main(m)) }

var tableSets atomic.Int64

// tables creates a fresh set of every table, under a prefix of its own, so that tests run in parallel
// on one emulator without seeing each other's items.
func tables(t *testing.T) (*awsdynamodb.Client, dynamodb.TableNames) {
	t.Helper()
	client := emulatorstest.DynamoDBClient(t)
	prefix := fmt.Sprintf("t%d-%s-", tableSets.Add(1), uuid.NewString()[:8])
	names := dynamodb.TableNamesWithPrefix(prefix)
	if err := dynamodb.CreateTables(t.Context(), client, names); err != nil {
		t.Fatalf("CreateTables: %v", err)
	}
	return client, names
}

// clock is a settable clock for the tests of expiry.
type clock struct{ t atomic.Pointer[time.Time] }

func newClock(t time.Time) *clock    { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)     { c.t.Store(&t) }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }
func (c *clock) now() time.Time      { return *c.t.Load() }
