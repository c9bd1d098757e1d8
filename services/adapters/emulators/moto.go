//go:build unix

package emulators

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// MotoCommand is the executable StartMoto runs. It must be on PATH.
const MotoCommand = "moto_server"

// MotoAccount is the AWS account id moto stamps on every resource it creates.
const MotoAccount = "123456789012"

// MotoRegion is the region of the configuration MotoConfig returns, and so of every resource created
// through it.
const MotoRegion = "us-east-1"

// ErrMotoNotInstalled is returned (wrapped) by StartMoto when moto_server is not on PATH. The message says
// what to install.
var ErrMotoNotInstalled = errors.New(`moto_server not found on PATH: install moto 5.2.1 with its server extra, pip install "moto[server]==5.2.1"`)

// motoStartTimeout bounds how long StartMoto waits for a fresh moto_server to answer HTTP. A cold start
// imports a lot of Python; on a loaded machine it takes a few seconds.
const motoStartTimeout = 60 * time.Second

// Moto is a moto_server process serving SQS, SNS, EventBridge and CloudWatch on one loopback endpoint.
// It is safe for concurrent use.
type Moto struct {
	// Endpoint is the base URL of the server, e.g. http://127.0.0.1:41234.
	Endpoint string
	// Startup is how long the server took to answer its first request.
	Startup time.Duration

	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has been reaped
	patch  string        // the folder of sitecustomize.py, removed once the server answers (or by Stop)
	output *lockedBuffer

	stopOnce sync.Once
	stopErr  error
}

// StartMoto starts moto_server on a free loopback port in its own process group and returns once it
// answers HTTP. The caller must call Stop. It returns an error wrapping ErrMotoNotInstalled when
// moto_server is not on PATH, and an error carrying the server's output when it exits or does not
// answer in time, or when ctx ends first.
func StartMoto(ctx context.Context) (*Moto, error) {
	path, err := exec.LookPath(MotoCommand)
	if err != nil {
		return nil, fmt.Errorf("start moto: %w", ErrMotoNotInstalled)
	}
	// The free port is found by binding and releasing it, so another process can take it before moto
	// binds it; a server that exits at once is therefore retried on a new port.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		m, err := startMotoOnce(ctx, path)
		if err == nil {
			return m, nil
		}
		lastErr = err
		if ctx.Err() != nil || !errors.Is(err, errExitedEarly) {
			break
		}
	}
	return nil, lastErr
}

var errExitedEarly = errors.New("moto_server exited before it answered")

func startMotoOnce(ctx context.Context, path string) (*Moto, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("start moto: %w", err)
	}
	patch, err := writeMotoPatch()
	if err != nil {
		return nil, fmt.Errorf("start moto: %w", err)
	}
	// Not exec.CommandContext: the server must outlive ctx, which only bounds the start.
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "PYTHONPATH="+strings.Join(append([]string{patch}, filepath.SplitList(os.Getenv("PYTHONPATH"))...), string(os.PathListSeparator)))
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = motoProcAttr()
	began := time.Now()
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(patch)
		return nil, fmt.Errorf("start moto: %w", err)
	}
	m := &Moto{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, exited: make(chan struct{}), output: out, patch: patch}
	go func() {
		_ = cmd.Wait()
		close(m.exited)
	}()
	if err := m.waitReady(ctx); err != nil {
		_ = m.Stop()
		return nil, fmt.Errorf("start moto on port %d: %w; output: %s", port, err, out.String())
	}
	m.Startup = time.Since(began)
	// Python read sitecustomize.py when it started, before the server could answer: the folder is not
	// needed any more, and is not left behind by a process that exits without calling Stop.
	_ = os.RemoveAll(patch)
	return m, nil
}

// motoPatch is the sitecustomize module that makes moto's EventBridge parse each JSONPath once (see
// the file): without it, every event put on a bus cost moto about 50 ms of CPU per matching target.
//
//go:embed motopatch/sitecustomize.py
var motoPatch []byte

// writeMotoPatch writes motoPatch into a folder of its own and returns the folder.
func writeMotoPatch() (string, error) {
	dir, err := os.MkdirTemp("", "orderflow-moto-")
	if err != nil {
		return "", fmt.Errorf("moto patch: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sitecustomize.py"), motoPatch, 0o644); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("moto patch: %w", err)
	}
	return dir, nil
}

func (m *Moto) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, motoStartTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for delay := 20 * time.Millisecond; ; delay = min(delay*2, 250*time.Millisecond) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.Endpoint+"/moto-api/", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
		}
		select {
		case <-m.exited:
			return errExitedEarly
		case <-ctx.Done():
			return fmt.Errorf("moto_server did not answer: %w", ctx.Err())
		case <-time.After(delay):
		}
	}
}

// Stop ends the server's whole process group (the moto_server launcher may be a shim that runs Python
// as a child) and waits for it to exit. Calling Stop again returns the first call's result.
func (m *Moto) Stop() error {
	m.stopOnce.Do(func() {
		defer func() { _ = os.RemoveAll(m.patch) }()
		select {
		case <-m.exited:
			return
		default:
		}
		if err := killGroup(m.cmd.Process); err != nil {
			m.stopErr = fmt.Errorf("stop moto: %w", err)
			return
		}
		select {
		case <-m.exited:
		case <-time.After(10 * time.Second):
			m.stopErr = errors.New("stop moto: process did not exit 10s after SIGKILL")
		}
	})
	return m.stopErr
}

// Output returns what the server has written to stdout and stderr so far, for diagnosing a failure.
func (m *Moto) Output() string { return m.output.String() }

// AWSConfig returns the configuration for clients of this server: see MotoConfig.
func (m *Moto) AWSConfig() aws.Config { return MotoConfig(m.Endpoint) }

// MotoConfig returns an AWS configuration for clients of the moto server at endpoint: static dummy
// credentials, region MotoRegion and BaseEndpoint set to endpoint. It reads no environment and no files.
func MotoConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       MotoRegion,
		Credentials:  credentials.NewStaticCredentialsProvider("moto", "moto", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// Reset drops every resource and every recorded message of every service, through moto's
// POST /moto-api/reset. Tests that share one server should prefer unique resource names to resetting.
func (m *Moto) Reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.Endpoint+"/moto-api/reset", nil)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reset moto: status %s", resp.Status)
	}
	return nil
}

// SentSMS is a text message that moto's SNS recorded as sent to a phone number.
type SentSMS struct {
	// MessageID is the id Publish returned.
	MessageID string `json:"message_id"`
	// PhoneNumber is the number it was sent to.
	PhoneNumber string `json:"phone_number"`
	// Message is the text.
	Message string `json:"message"`
}

// TopicMessage is a message that moto's SNS recorded as published to a topic.
type TopicMessage struct {
	// MessageID is the id Publish returned.
	MessageID string
	// Message is the text.
	Message string
	// Attributes are the message attributes, by name: their string values.
	Attributes map[string]string
}

// snsData is the part of moto's GET /moto-api/data.json this package reads, in the shape moto 5.2.1
// writes: sns.SMS lists the texts sent to phone numbers (moto keeps no message attributes for them), and
// each of sns.Topic carries sent_notifications, [message id, message, subject, attributes, group id].
type snsData struct {
	SNS struct {
		SMS   []SentSMS `json:"SMS"`
		Topic []struct {
			ARN               string              `json:"arn"`
			SentNotifications [][]json.RawMessage `json:"sent_notifications"`
		} `json:"Topic"`
	} `json:"sns"`
}

// SentSMS returns every text message sent to a phone number through this server's SNS, oldest first. An
// SNS that was never called has sent none.
func (m *Moto) SentSMS(ctx context.Context) ([]SentSMS, error) {
	var d snsData
	if err := m.data(ctx, &d); err != nil {
		return nil, fmt.Errorf("read sent sms: %w", err)
	}
	return d.SNS.SMS, nil
}

// TopicMessages returns every message published to the topic topicARN, oldest first; none for a topic
// that does not exist.
func (m *Moto) TopicMessages(ctx context.Context, topicARN string) ([]TopicMessage, error) {
	var d snsData
	if err := m.data(ctx, &d); err != nil {
		return nil, fmt.Errorf("read messages of topic %s: %w", topicARN, err)
	}
	var out []TopicMessage
	for _, topic := range d.SNS.Topic {
		if topic.ARN != topicARN {
			continue
		}
		for _, n := range topic.SentNotifications {
			if len(n) < 4 {
				return nil, fmt.Errorf("read messages of topic %s: unexpected notification shape %s", topicARN, n)
			}
			var msg TopicMessage
			var attrs map[string]struct {
				Value any `json:"Value"`
			}
			if err := errors.Join(json.Unmarshal(n[0], &msg.MessageID), json.Unmarshal(n[1], &msg.Message),
				json.Unmarshal(n[3], &attrs)); err != nil {
				return nil, fmt.Errorf("read messages of topic %s: %w", topicARN, err)
			}
			if len(attrs) > 0 {
				msg.Attributes = make(map[string]string, len(attrs))
				for k, v := range attrs {
					msg.Attributes[k] = fmt.Sprint(v.Value)
				}
			}
			out = append(out, msg)
		}
	}
	return out, nil
}

// data decodes moto's GET /moto-api/data.json, the state of every service it has been asked about, into v.
func (m *Moto) data(ctx context.Context, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.Endpoint+"/moto-api/data.json", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /moto-api/data.json: status %s: %.200s", resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode /moto-api/data.json: %w", err)
	}
	return nil
}

// freePort returns a loopback TCP port that was free a moment ago. It is chosen below the kernel's
// ephemeral range, where the client sockets of other processes do not land between the moment it was
// found free and the moment the emulator binds it.
func freePort() (int, error) {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 12000 {
				low = n
			}
		}
	}
	for range 100 {
		port := 10000 + rand.IntN(low-10000)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		_ = l.Close()
		return port, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Keep the first 64 KiB: enough to see why the server failed, bounded although it logs every request.
	if room := 64<<10 - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
