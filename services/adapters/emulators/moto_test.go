//go:build unix

package emulators_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/services/adapters/emulators"
)

func TestMotoServesSNSAndStopEndsTheProcessGroup(t *testing.T) {
	ctx := context.Background()
	m, err := emulators.StartMoto(ctx)
	if err != nil {
		t.Fatalf("StartMoto: %v", err)
	}
	t.Cleanup(func() { _ = m.Stop() })
	t.Logf("moto_server answered after %s", m.Startup)
	// The server loaded the patch that makes its EventBridge parse each JSONPath once (a Python that
	// ignored PYTHONPATH, or a moto without jsonpath_ng, would run unpatched and say so).
	if out := m.Output(); !strings.Contains(out, "orderflow: moto parses each JSONPath once") {
		t.Errorf("moto_server's output has no word of the JSONPath patch:\n%s", out)
	}
	// Python has read the patch by the time the server answers: its folder is gone already, so that a
	// test binary killed before Stop leaves none behind.
	if patch := emulators.MotoPatchDir(m); patch == "" {
		t.Error("no patch folder recorded")
	} else if _, err := os.Stat(patch); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the patch folder %s is still there once moto answers (stat: %v)", patch, err)
	}

	client := sns.NewFromConfig(m.AWSConfig())
	topic, err := client.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("harness")})
	if err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	if _, err := client.Publish(ctx, &sns.PublishInput{PhoneNumber: aws.String("+15555550123"), Message: aws.String("first\ntext")}); err != nil {
		t.Fatalf("Publish to a phone number: %v", err)
	}
	if _, err := client.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("to the topic")}); err != nil {
		t.Fatalf("Publish to a topic: %v", err)
	}

	sms, err := m.SentSMS(ctx)
	if err != nil {
		t.Fatalf("SentSMS: %v", err)
	}
	if len(sms) != 1 || sms[0].PhoneNumber != "+15555550123" || sms[0].Message != "first\ntext" || sms[0].MessageID == "" {
		t.Errorf("SentSMS = %+v, want the one text to +15555550123", sms)
	}
	msgs, err := m.TopicMessages(ctx, *topic.TopicArn)
	if err != nil {
		t.Fatalf("TopicMessages: %v", err)
	}
	if diff := cmp.Diff([]string{"to the topic"}, messageTexts(msgs)); diff != "" {
		t.Errorf("TopicMessages (-want +got):\n%s", diff)
	}

	if err := m.Reset(ctx); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if sms, err := m.SentSMS(ctx); err != nil || len(sms) != 0 {
		t.Errorf("SentSMS after Reset = %v, %v; want none", sms, err)
	}

	pid := emulators.MotoPID(m)
	if err := m.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := m.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d still exists after Stop (kill -0: %v)", pid, err)
	}
	c := &http.Client{Timeout: time.Second}
	if resp, err := c.Get(m.Endpoint + "/moto-api/"); err == nil {
		resp.Body.Close()
		t.Errorf("%s still answers after Stop", m.Endpoint)
	}
}

// A sitecustomize the user's PYTHONPATH already had (a coverage hook, a certificate setup) still runs
// in moto's Python: the patch, first on the path, would otherwise hide it.
func TestMotoStillRunsTheSitecustomizeOfTheUsersPythonPath(t *testing.T) {
	own := t.TempDir()
	ran := filepath.Join(own, "ran")
	script := "import os\nopen(" + strconv.Quote(ran) + ", 'w').write(__name__)\n"
	if err := os.WriteFile(filepath.Join(own, "sitecustomize.py"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PYTHONPATH", own)
	m, err := emulators.StartMoto(context.Background())
	if err != nil {
		t.Fatalf("StartMoto: %v", err)
	}
	t.Cleanup(func() { _ = m.Stop() })
	if got, err := os.ReadFile(ran); err != nil || string(got) != "sitecustomize" {
		t.Errorf("the sitecustomize on the user's PYTHONPATH did not run as sitecustomize (%q, %v); moto's output:\n%s", got, err, m.Output())
	}
	if out := m.Output(); !strings.Contains(out, "orderflow: moto parses each JSONPath once") {
		t.Errorf("moto_server's output has no word of the JSONPath patch:\n%s", out)
	}
}

func TestStartMotoWithoutMotoServerSaysWhatToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	m, err := emulators.StartMoto(context.Background())
	if err == nil {
		_ = m.Stop()
		t.Fatal("StartMoto succeeded without moto_server on PATH")
	}
	if !errors.Is(err, emulators.ErrMotoNotInstalled) || !strings.Contains(err.Error(), `pip install "moto[server]`) {
		t.Errorf("StartMoto error = %v; want ErrMotoNotInstalled naming the pip package", err)
	}
}

func TestMotoConfigPointsAtTheEndpointWithStaticCredentials(t *testing.T) {
	cfg := emulators.MotoConfig("http://127.0.0.1:1")
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatalf("Retrieve credentials: %v", err)
	}
	if cfg.Region != "us-east-1" || aws.ToString(cfg.BaseEndpoint) != "http://127.0.0.1:1" || creds.AccessKeyID == "" {
		t.Errorf("MotoConfig = region %q, endpoint %q, access key %q", cfg.Region, aws.ToString(cfg.BaseEndpoint), creds.AccessKeyID)
	}
}

func messageTexts(msgs []emulators.TopicMessage) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Message)
	}
	return out
}
