package sqlite

import (
	"database/sql"
	"testing"
	"time"
)

// The writer's statements convert arguments and store columns as database/sql does for the types the
// writer uses, and refuse the rest.
func TestWriterStatementsConvertAsDatabaseSQLDoes(t *testing.T) {
	s := &stmt{n: 11}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	args, err := s.bind([]any{"a", int64(2), 3, []byte("b"), nil, true, 1.5, at,
		sql.NullString{String: "c", Valid: true}, sql.NullString{}, sql.NullInt64{Int64: 7, Valid: true}})
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"a", int64(2), int64(3), []byte("b"), nil, true, 1.5, at, "c", nil, int64(7)}
	for i, a := range args {
		if a.Ordinal != i+1 {
			t.Errorf("argument %d has ordinal %d", i+1, a.Ordinal)
		}
		if b, ok := want[i].([]byte); ok {
			if got, ok := a.Value.([]byte); !ok || string(got) != string(b) {
				t.Errorf("argument %d = %#v, want %#v", i+1, a.Value, want[i])
			}
		} else if a.Value != want[i] {
			t.Errorf("argument %d = %#v, want %#v", i+1, a.Value, want[i])
		}
	}
	if _, err := s.bind([]any{"a"}); err == nil {
		t.Error("1 argument for a statement of 11 was accepted")
	}
	if _, err := (&stmt{n: 1}).bind([]any{struct{}{}}); err == nil {
		t.Error("a struct argument was accepted")
	}

	var str string
	var bs []byte
	var i64 int64
	var n int
	var b bool
	var f float64
	var anything any
	for _, c := range []struct {
		dest, src any
		check     func() bool
	}{
		{&str, "x", func() bool { return str == "x" }},
		{&str, []byte("y"), func() bool { return str == "y" }},
		{&bs, []byte("z"), func() bool { return string(bs) == "z" }},
		{&bs, "w", func() bool { return string(bs) == "w" }},
		{&bs, nil, func() bool { return bs == nil }},
		{&i64, int64(-4), func() bool { return i64 == -4 }},
		{&n, int64(5), func() bool { return n == 5 }},
		{&b, int64(1), func() bool { return b }},
		{&f, int64(2), func() bool { return f == 2 }},
		{&f, 2.5, func() bool { return f == 2.5 }},
		{&anything, int64(9), func() bool { return anything == int64(9) }},
	} {
		if err := assign(c.dest, c.src); err != nil || !c.check() {
			t.Errorf("assign(%T, %#v) = %v, or stored the wrong value", c.dest, c.src, err)
		}
	}
	for _, c := range []struct{ dest, src any }{{&str, nil}, {&i64, "1"}, {&n, nil}, {&struct{}{}, int64(1)}} {
		if err := assign(c.dest, c.src); err == nil {
			t.Errorf("assign(%T, %#v) stored it; want an error, as database/sql gives", c.dest, c.src)
		}
	}
}
