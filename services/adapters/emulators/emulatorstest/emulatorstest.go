// Package emulatorstest gives tests one emulator per test package: the first test that asks starts it,
// every later test shares it, and Main stops it when the package's tests are done.
//
// A test package that uses it has
//
//	func TestMain(m *testing.M) { os.Exit(emulatorstest.Main(m)) }
//
// A missing emulator or Java runtime fails the test that asked, with what to install; it is never a skip.
package emulatorstest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/orderflow/orderflow/services/adapters/emulators"
)

var (
	dynamoOnce sync.Once
	dynamo     *emulators.DynamoDB
	dynamoErr  error
)

// DynamoDB returns the test package's DynamoDB Local, starting it on first use. It fails the test (never
// skips it) when the emulator cannot start, saying what to install.
func DynamoDB(t testing.TB) *emulators.DynamoDB {
	t.Helper()
	dynamoOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		dynamo, dynamoErr = emulators.StartDynamoDB(ctx)
	})
	if dynamoErr != nil {
		t.Fatalf("DynamoDB Local is needed by this test: %v", dynamoErr)
	}
	return dynamo
}

// DynamoDBClient returns a client of the test package's DynamoDB Local (see DynamoDB).
func DynamoDBClient(t testing.TB) *awsdynamodb.Client {
	t.Helper()
	return DynamoDB(t).Client()
}

// Main runs the package's tests, then stops the emulators they started, and returns the tests' exit
// code. Call it from TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// Stop stops the emulators started by this package. Main calls it; call it yourself from a TestMain
// that does not use Main.
func Stop() {
	if dynamo != nil {
		if testing.Verbose() {
			fmt.Fprintf(os.Stderr, "DynamoDB Local answered %s after it was started\n", dynamo.Startup.Round(time.Millisecond))
		}
		dynamo.Stop()
	}
	StopMoto()
}
