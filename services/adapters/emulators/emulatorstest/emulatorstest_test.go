package emulatorstest_test

import (
	"os"
	"strings"
	"testing"

	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/orderflow/orderflow/services/adapters/emulators"
	"github.com/orderflow/orderflow/services/adapters/emulators/emulatorstest"
)

func TestMain(m *testing.M) { os.Exit(emulatorstest.Main(m)) }

func TestDynamoDBLocalAnswersTheSDK(t *testing.T) {
	d := emulatorstest.DynamoDB(t)
	if !strings.HasPrefix(d.Endpoint, "http://127.0.0.1:") {
		t.Errorf("endpoint %q, want a loopback URL", d.Endpoint)
	}
	if _, err := d.Client().ListTables(t.Context(), &awsdynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("ListTables: %v", err)
	}
	if again := emulatorstest.DynamoDB(t); again != d {
		t.Errorf("a second call started another emulator")
	}
	t.Logf("DynamoDB Local answered %s after it was started", d.Startup)
}

func TestAMissingEmulatorSaysWhatToInstall(t *testing.T) {
	t.Setenv(emulators.EnvDynamoDBLocalDir, t.TempDir())
	_, err := emulators.StartDynamoDB(t.Context())
	if err == nil || !strings.Contains(err.Error(), "DynamoDBLocal.jar") {
		t.Errorf("StartDynamoDB with an empty $%s = %v, want an error naming the jar", emulators.EnvDynamoDBLocalDir, err)
	}
	t.Setenv(emulators.EnvDynamoDBLocalDir, "")
	t.Setenv("PATH", t.TempDir())
	_, err = emulators.StartDynamoDB(t.Context())
	if err == nil || !strings.Contains(err.Error(), "openjdk-17-jre-headless") || !strings.Contains(err.Error(), "make emulators") {
		t.Errorf("StartDynamoDB without java = %v, want an error saying what to install", err)
	}
}

func TestStopEndsTheEmulator(t *testing.T) {
	d, err := emulators.StartDynamoDB(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	d.Stop()
	d.Stop() // twice is fine
	if _, err := d.Client().ListTables(t.Context(), &awsdynamodb.ListTablesInput{}); err == nil {
		t.Errorf("the emulator still answers after Stop")
	}
}
