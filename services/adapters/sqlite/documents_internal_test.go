package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/order"
)

// TestPooledSnapshotsAreEncodedAsMarshalEncodesThem: stored orders are encoded into reused buffers;
// each encoding must be the bytes gojson.Marshal gives (no newline, HTML escaped as before), whatever
// the buffer held last, and a released buffer must not be handed to two encodings at once.
func TestPooledSnapshotsAreEncodedAsMarshalEncodesThem(t *testing.T) {
	var snaps []order.Snapshot
	for i, name := range []string{"plain", "<b>&amp; \"quoted\"</b>", "Ünïcödé ✓ \u2028", strings.Repeat("long ", 2000)} {
		o, err := order.New(order.Draft{
			ID: "01900000-0000-7000-8000-00000000000" + string(rune('0'+i)), CustomerID: "c" + name,
			Items: []order.Item{{ProductID: "P", Name: name, Quantity: i + 1, Price: 100}}, Total: 100 * contracts.Amount(i+1), Currency: "EUR",
		}, time.Date(2026, 12, 1, 12, 0, 0, int(time.Millisecond)*i, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, o.Snapshot())
	}
	for round := range 3 {
		var held [][]byte
		var releases []func()
		for _, s := range snaps {
			want, err := gojson.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			got, release, err := encodeSnapshot(s)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("round %d: encodeSnapshot = %.80s…, want %.80s…", round, got, want)
			}
			held, releases = append(held, got), append(releases, release)
		}
		// While held, each encoding keeps its own bytes.
		for i, s := range snaps {
			want, _ := gojson.Marshal(s)
			if !bytes.Equal(held[i], want) {
				t.Errorf("round %d: snapshot %d changed while held", round, i)
			}
		}
		for _, release := range releases {
			release()
		}
	}
}

// TestTextArgumentsAreCopiedByTheDriver: the writer passes encoded documents to statements as strings
// that share the documents' bytes (text). That is only sound if the driver has copied an argument by
// the time the statement returns, through a prepared statement as the writer uses them and through a
// plain one alike: bytes changed afterwards must not change what was stored.
func TestTextArgumentsAreCopiedByTheDriver(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open(driver(), filepath.Join(t.TempDir(), "text.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	st, err := conn.PrepareContext(ctx, `INSERT INTO docs (id, body) VALUES (?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want := map[int]string{}
	for id, size := range []int{1, 100, 5000, 70000} { // small ones, and one of many pages
		doc := []byte(`{"n":"` + strings.Repeat("a", size) + `"}`)
		want[id] = string(doc)
		if id%2 == 0 {
			_, err = st.ExecContext(ctx, id, text(doc))
		} else {
			_, err = conn.ExecContext(ctx, `INSERT INTO docs (id, body) VALUES (?, ?)`, id, text(doc))
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := range doc {
			doc[i] = 'x'
		}
	}
	for id, w := range want {
		var got string
		if err := conn.QueryRowContext(ctx, `SELECT body FROM docs WHERE id = ?`, id).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != w {
			t.Errorf("document %d stored as %.40q…, want %.40q…", id, got, w)
		}
	}
	if text(nil) != "" {
		t.Errorf("text(nil) = %q", text(nil))
	}
}

// The hand-off's copy of an event shares its detail with the encoded event when the bytes are the same,
// and copies it when encoding changed them.
func TestTheHandOffsDetailIsTheEncodedEventsOrACopy(t *testing.T) {
	for _, detail := range []string{`{"orderId":"o1","n":[1,2]}`, "{ \"orderId\" : \"o1\" }", `{}`, `"<&>"`} {
		e := contracts.Event{ID: "e1", DetailType: "T", Detail: json.RawMessage(detail)}
		body, err := gojson.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		before := string(body)
		got := detailIn(body, e.Detail)
		if string(got) != detail {
			t.Errorf("detailIn(%q) = %q, want the detail", detail, got)
		}
		inBody := len(got) > 0 && &got[0] == &body[len(body)-1-len(got)]
		if compact := bytes.Contains(body, []byte(detail)); inBody != compact {
			t.Errorf("detail %q: shared with the body = %t, want %t", detail, inBody, compact)
		}
		if inBody {
			if &got[0] == &e.Detail[0] || cap(got) != len(got) {
				t.Errorf("detail %q: not the body's, or with room to append into it", detail)
			}
		} else if &got[0] == &e.Detail[0] {
			t.Errorf("detail %q: the caller's bytes, not a copy", detail)
		}
		if string(body) != before {
			t.Errorf("detailIn changed the body")
		}
	}
}
