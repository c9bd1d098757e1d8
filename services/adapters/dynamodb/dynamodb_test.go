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
	"github.com/orderflow/orderflow/services/lambdas"
)

func TestMain(m *testing.M) { os.Exit(emulatorstest.Main(m)) }

var tableSets atomic.Int64

// tables creates a fresh set of every table, under a prefix of its own, so that tests run in parallel
// on one emulator without seeing each other's items.
func tables(t *testing.T) (*awsdynamodb.Client, dynamodb.TableNames) {
	t.Helper()
	client := emulatorstest.DynamoDBClient(t)
	names := dynamodb.TableNamesWithPrefix(prefix())
	if err := dynamodb.CreateTables(t.Context(), client, names); err != nil {
		t.Fatalf("CreateTables: %v", err)
	}
	return client, names
}

// table creates just the given tables under a fresh prefix: what a contract suite, which opens a store
// per case, needs.
func table(t *testing.T, tables ...lambdas.Table) (*awsdynamodb.Client, dynamodb.TableNames) {
	t.Helper()
	client := emulatorstest.DynamoDBClient(t)
	names := dynamodb.TableNamesWithPrefix(prefix())
	for _, tbl := range tables {
		if err := dynamodb.CreateTable(t.Context(), client, tbl, names.Name(tbl)); err != nil {
			t.Fatalf("CreateTable: %v", err)
		}
	}
	return client, names
}

func prefix() string { return fmt.Sprintf("t%d-%s-", tableSets.Add(1), uuid.NewString()[:8]) }

// clock is a settable clock for the tests of expiry.
type clock struct{ t atomic.Pointer[time.Time] }

func newClock(t time.Time) *clock    { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)     { c.t.Store(&t) }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }
func (c *clock) now() time.Time      { return *c.t.Load() }
