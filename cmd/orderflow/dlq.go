package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"

	"github.com/orderflow/orderflow/services/adapters/sqlite"
	"github.com/orderflow/orderflow/services/app/local"
)

// dlq lists or redrives dead letters. It opens the data directory's database directly, so it works
// whether or not the server is running; a running server delivers redriven messages at its next scan.
func dlq(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "redrive") {
		return fmt.Errorf("usage: orderflow dlq list|redrive [--data-dir DIR] [ID...]")
	}
	sub := args[0]
	fs := flag.NewFlagSet("orderflow dlq "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", env("ORDERFLOW_DATA_DIR", "./data"), "data `directory` (ORDERFLOW_DATA_DIR)")
	limit := fs.Int("limit", 100, "list at most this many")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	path := filepath.Join(*dataDir, local.DatabaseFile)
	// Opening creates a missing database: a mistyped directory would then list "no dead letters" and be
	// left with an empty store, instead of saying that nothing is there.
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("data directory %s holds no orderflow database (%s): %w", *dataDir, local.DatabaseFile, err)
	}
	db, err := sqlite.Open(path, sqlite.Options{PruneInterval: -1})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer db.Close()
	if sub == "list" {
		letters, err := db.DeadLetters(ctx, *limit)
		if err != nil {
			return err
		}
		if len(letters) == 0 {
			fmt.Fprintln(stdout, "no dead letters")
			return nil
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tTARGET\tTYPE\tORDER\tATTEMPTS\tFAILED AT\tERROR")
		for _, l := range letters {
			d := local.DeadLetterView(l)
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.Target, d.DetailType, d.OrderID, d.Attempts, d.FailedAt.Format("2006-01-02 15:04:05"), d.Error)
		}
		return w.Flush()
	}
	var ids []int64
	for _, a := range fs.Args() {
		id, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			return fmt.Errorf("dead letter id %q: %w", a, err)
		}
		ids = append(ids, id)
	}
	n, err := db.Redrive(ctx, ids...)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "redrove %d message(s)\n", n)
	return nil
}
