package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/sqlite"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/pipeline/pipelinetest"
)

// crashChildEnv switches the test binary into the child of TestAcknowledgedOrdersSurviveKill9: its value
// is the directory of the database to write.
const crashChildEnv = "ORDERFLOW_SQLITE_CRASH_CHILD"

// TestAcknowledgedOrdersSurviveKill9 runs a child process that creates orders as fast as it can and
// prints each id once Create (and the queue Send) returned, kills it with SIGKILL mid-stream, reopens the
// database and checks that every printed order, its idempotency record and its queue message are there.
func TestAcknowledgedOrdersSurviveKill9(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAcknowledgedOrdersSurviveKill9$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	var acked []string
	killed := false
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(20 * time.Second)
	for sc.Scan() {
		id, ok := strings.CutPrefix(sc.Text(), "ACK ")
		if !ok {
			continue
		}
		acked = append(acked, id)
		// Kill mid-stream: after enough acknowledgements that writes are surely in flight.
		if !killed && (len(acked) >= 3000 || time.Now().After(deadline)) {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("kill child: %v", err)
			}
			killed = true
		}
	}
	// Lines the child wrote before dying are still read above, up to EOF.
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended by itself after %d acknowledgements: %v", len(acked), err)
	}
	if len(acked) == 0 {
		t.Fatal("child acknowledged nothing")
	}

	db, err := sqlite.Open(filepath.Join(dir, "orderflow.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer db.Close()
	ctx := context.Background()
	queued := map[string]bool{}
	msgs, err := db.Due(ctx, time.Now().Add(time.Hour), 1_000_000, nil)
	if err != nil {
		t.Fatalf("Due: %v", err)
	}
	for _, m := range msgs {
		queued[string(m.Body)] = true
	}
	missing := 0
	for _, id := range acked {
		if _, err := db.Get(ctx, id); err != nil {
			missing++
			t.Errorf("acknowledged order %s lost: %v", id, err)
		}
		if _, err := db.Idempotency(ctx, "key-"+id); err != nil {
			t.Errorf("idempotency record of acknowledged order %s lost: %v", id, err)
		}
		if !queued[`{"orderId":"`+id+`","correlationId":""}`] {
			t.Errorf("queue message of acknowledged order %s lost", id)
		}
		if missing > 10 {
			t.Fatal("giving up after 10 lost orders")
		}
	}
	t.Logf("killed the child after %d acknowledged orders; all of them survived", len(acked))
}

// crashChild creates orders from 32 goroutines until it is killed, printing each id once it is durable.
func crashChild(t *testing.T, dir string) {
	db, err := sqlite.Open(filepath.Join(dir, "orderflow.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("child open: %v", err)
	}
	ctx := context.Background()
	var mu sync.Mutex
	stop := time.Now().Add(30 * time.Second) // never outlive a parent that died
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for time.Now().Before(stop) {
				o := pipelinetest.NewOrder(t, "cust-crash", time.Now())
				rec := &ingest.IdempotencyRecord{Key: "key-" + o.ID(), RequestHash: "h", OrderID: o.ID(), CreatedAt: time.Now()}
				if err := db.Create(ctx, o, rec); err != nil {
					t.Errorf("child Create: %v", err)
					return
				}
				if err := db.Send(ctx, contracts.OrderMessage{OrderID: o.ID()}); err != nil {
					t.Errorf("child Send: %v", err)
					return
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ACK %s\n", o.ID())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
