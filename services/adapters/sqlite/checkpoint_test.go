package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/sqlite"
)

// The checkpointer must keep the WAL bounded while the writer never stops: a checkpoint that only ever
// copies what it can, beside a busy writer, never finds the WAL copied whole, so the WAL would never
// start over and would grow by everything written.
func TestTheWALStaysBoundedUnderSustainedWrites(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "orderflow.db")
	db, err := sqlite.Open(path, sqlite.Options{PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const writers, perWriter, size = 8, 200, 100 << 10 // 160 MB in all
	body := strings.Repeat("x", size)
	var largest atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				text := contracts.Text{ID: fmt.Sprintf("t-%d-%d", w, i), OrderID: fmt.Sprintf("o-%d", w), Text: body, SentAt: time.Now()}
				if err := db.RecordText(context.Background(), text); err != nil {
					t.Error(err)
					return
				}
				if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > largest.Load() {
					largest.Store(fi.Size())
				}
			}
		})
	}
	wg.Wait()
	const written = writers * perWriter * size
	t.Logf("the WAL reached %d MB while %d MB were written", largest.Load()>>20, written>>20)
	if got := largest.Load(); got > written/3 {
		t.Errorf("the WAL reached %d MB while %d MB were written: it is not starting over", got>>20, written>>20)
	}
	// Once the writes stop, the whole WAL is copied soon.
	deadline := time.Now().Add(5 * time.Second)
	for {
		pending, err := db.Checkpoint(context.Background())
		if err != nil && !errors.Is(err, sqlite.ErrCheckpointBusy) {
			t.Fatal(err)
		}
		if err == nil && pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d frames of the WAL still not in the database file", pending)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
