package sqlite

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mattn/go-sqlite3"
)

// stmt is a statement of the writer. It is prepared once on the write connection and run on the
// driver's connection directly, while the writer holds that connection for a batch (sql.Conn.Raw in
// DB.runWriterBatch): database/sql would convert every argument into a fresh slice and take the
// connection's lock for each of the two dozen statements of an order, in the one goroutine every write
// waits for. Only the writer goroutine uses a stmt, and only while it holds the connection.
type stmt struct {
	s    *sqlite3.SQLiteStmt
	n    int                    // how many arguments it takes
	args []sqldriver.NamedValue // reused from one run to the next
}

// prepareStmt prepares query on the driver's connection c.
func prepareStmt(c *sqlite3.SQLiteConn, query string) (*stmt, error) {
	ds, err := c.PrepareContext(context.Background(), query)
	if err != nil {
		return nil, err
	}
	s, ok := ds.(*sqlite3.SQLiteStmt)
	if !ok {
		ds.Close()
		return nil, fmt.Errorf("prepare %q: the driver gave a %T", query, ds)
	}
	return &stmt{s: s, n: s.NumInput()}, nil
}

// bind converts args as database/sql does for a driver without a converter of its own: the driver's
// value types as they are, int as int64, anything else by sqldriver.DefaultParameterConverter (which asks
// a sqldriver.Valuer, such as sql.NullString, for its value).
func (s *stmt) bind(args []any) ([]sqldriver.NamedValue, error) {
	if s.n >= 0 && len(args) != s.n {
		return nil, fmt.Errorf("expected %d arguments, got %d", s.n, len(args))
	}
	s.args = s.args[:0]
	for i, a := range args {
		var v sqldriver.Value
		switch a := a.(type) {
		case nil, string, int64, []byte, bool, float64, time.Time:
			v = a
		case int:
			v = int64(a)
		default:
			var err error
			if v, err = sqldriver.DefaultParameterConverter.ConvertValue(a); err != nil {
				return nil, fmt.Errorf("argument %d: %w", i+1, err)
			}
		}
		s.args = append(s.args, sqldriver.NamedValue{Ordinal: i + 1, Value: v})
	}
	return s.args, nil
}

// release drops the references to the last run's arguments, so that they do not outlive it.
func (s *stmt) release() { clear(s.args) }

// exec runs the statement. The driver copies the arguments' bytes before it returns.
func (s *stmt) exec(args ...any) (sqldriver.Result, error) {
	nv, err := s.bind(args)
	if err != nil {
		return nil, err
	}
	defer s.release()
	return s.s.ExecContext(context.Background(), nv)
}

// query runs the statement and returns its rows, which the caller closes before the statement runs
// again.
func (s *stmt) query(args ...any) (*rows, error) {
	nv, err := s.bind(args)
	if err != nil {
		return nil, err
	}
	defer s.release()
	dr, err := s.s.QueryContext(context.Background(), nv)
	if err != nil {
		return nil, err
	}
	return &rows{r: dr, vals: make([]sqldriver.Value, len(dr.Columns()))}, nil
}

// queryRow runs the statement for its first row.
func (s *stmt) queryRow(args ...any) row {
	r, err := s.query(args...)
	return row{r: r, err: err}
}

func (s *stmt) close() error { return s.s.Close() }

// rows are a query's rows, read as sql.Rows reads them.
type rows struct {
	r    sqldriver.Rows
	vals []sqldriver.Value
	err  error
	done bool
}

// Next reads the next row, reporting false at the end or on an error (Err).
func (r *rows) Next() bool {
	if r.done {
		return false
	}
	if err := r.r.Next(r.vals); err != nil {
		r.done = true
		if !errors.Is(err, io.EOF) {
			r.err = err
		}
		return false
	}
	return true
}

// Scan copies the current row's columns into dest.
func (r *rows) Scan(dest ...any) error {
	if len(dest) != len(r.vals) {
		return fmt.Errorf("scan: %d destinations for %d columns", len(dest), len(r.vals))
	}
	for i, d := range dest {
		if err := assign(d, r.vals[i]); err != nil {
			return fmt.Errorf("scan column %d: %w", i, err)
		}
	}
	return nil
}

// Err is the error that ended Next early, if any.
func (r *rows) Err() error { return r.err }

// Close resets the statement for its next run.
func (r *rows) Close() error {
	r.done = true
	return r.r.Close()
}

// row is the first row of a query, as sql.Row: Scan reports sql.ErrNoRows when there is none.
type row struct {
	r   *rows
	err error
}

// Scan copies the first row's columns into dest.
func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	var err error
	switch {
	case r.r.Next():
		err = r.r.Scan(dest...)
	case r.r.Err() != nil:
		err = r.r.Err()
	default:
		err = sql.ErrNoRows
	}
	if cerr := r.r.Close(); cerr != nil && (err == nil || errors.Is(err, sql.ErrNoRows)) {
		err = cerr
	}
	return err
}

// assign stores a column's value in dest, for the destinations the writer reads into, as database/sql's
// Scan would: TEXT into *string or *[]byte, BLOB into *[]byte or *string, INTEGER into *int64, *int or
// *bool, REAL into *float64, NULL into *[]byte (nil) or *any. The driver gives each row's TEXT and BLOB
// values fresh memory, so they are kept without a copy.
func assign(dest any, src sqldriver.Value) error {
	switch d := dest.(type) {
	case *string:
		switch s := src.(type) {
		case string:
			*d = s
			return nil
		case []byte:
			*d = string(s)
			return nil
		}
	case *[]byte:
		switch s := src.(type) {
		case []byte:
			*d = s
			return nil
		case string:
			*d = []byte(s)
			return nil
		case nil:
			*d = nil
			return nil
		}
	case *int64:
		if s, ok := src.(int64); ok {
			*d = s
			return nil
		}
	case *int:
		if s, ok := src.(int64); ok {
			*d = int(s)
			return nil
		}
	case *bool:
		switch s := src.(type) {
		case int64:
			*d = s != 0
			return nil
		case bool:
			*d = s
			return nil
		}
	case *float64:
		switch s := src.(type) {
		case float64:
			*d = s
			return nil
		case int64:
			*d = float64(s)
			return nil
		}
	case *any:
		*d = src
		return nil
	}
	return fmt.Errorf("cannot store %T in %T", src, dest)
}
