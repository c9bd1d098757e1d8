package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/orderflow/orderflow/contracts"
)

// bench starts orderflow (temp data dir) and a no-op JSON server as child processes, drives both over
// loopback HTTP with the same client for a fixed time, and prints throughput and latency figures: ingest
// (POST /orders), end to end (accepted → COMPLETED, from each order's history), and the no-op baseline.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("orderflow bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	duration := fs.Duration("duration", 10*time.Second, "how long each phase drives load")
	conc := fs.Int("concurrency", 64, "concurrent client connections")
	drain := fs.Duration("drain-timeout", 3*time.Minute, "how long to wait for accepted orders to finish")
	profile := fs.String("server-cpuprofile", "", "write the server's CPU profile to this `file`")
	paced := fs.Int("paced-rate", 1000, "orders per second of the paced phase, which measures latency below saturation (0 skips it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	dir, err := os.MkdirTemp("", "orderflow-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	ordersAddr, noopAddr := freeAddr(), freeAddr()
	const key = "bench-client-key"
	server := exec.CommandContext(ctx, self, "serve", "--addr", ordersAddr, "--data-dir", dir, "--api-keys", key,
		"--admin-keys", "bench-admin-key", "--rate-limit", "1e9", "--rate-burst", "1000000000", "--log-level", "error",
		"--cpuprofile", *profile)
	server.Stdout, server.Stderr = io.Discard, stderr
	noopSrv := exec.CommandContext(ctx, self, "noop", "--addr", noopAddr)
	noopSrv.Stderr = stderr
	for _, c := range []*exec.Cmd{server, noopSrv} {
		if err := c.Start(); err != nil {
			return fmt.Errorf("start %s: %w", c.Args[1], err)
		}
		defer func(c *exec.Cmd) { _ = c.Process.Signal(os.Interrupt); _ = c.Wait() }(c)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: *conc * 2, MaxIdleConnsPerHost: *conc * 2, MaxConnsPerHost: *conc * 2}, Timeout: 30 * time.Second}
	for _, addr := range []string{ordersAddr, noopAddr} {
		if err := waitHealthy(ctx, client, "http://"+addr+"/healthz"); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "orderflow bench: %d connections, %s per phase, %d CPUs\n\n", *conc, *duration, numCPU())

	noopRes := drive(ctx, client, "http://"+noopAddr+"/orders", key, *conc, *duration, false)
	fmt.Fprintf(stdout, "no-op JSON handler      %9.0f req/s     p50 %7s  p99 %7s  (%d requests, %d errors)\n",
		noopRes.rate(), noopRes.pct(50), noopRes.pct(99), len(noopRes.lat), noopRes.errors)

	ordersRes := drive(ctx, client, "http://"+ordersAddr+"/orders", key, *conc, *duration, true)
	fmt.Fprintf(stdout, "POST /orders (durable)  %9.0f orders/s  p50 %7s  p99 %7s  (%d accepted, %d errors)\n",
		ordersRes.rate(), ordersRes.pct(50), ordersRes.pct(99), len(ordersRes.lat), ordersRes.errors)
	if noopRes.rate() > 0 {
		fmt.Fprintf(stdout, "ingest / no-op ratio    %9.2f\n", ordersRes.rate()/noopRes.rate())
	}

	e2e, err := endToEnd(ctx, client, "http://"+ordersAddr, key, "bench", *conc, len(ordersRes.lat), *drain)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "end to end → COMPLETED  %9.0f orders/s  p50 %7s  p99 %7s  (%d completed, %d other; latency includes the backlog of the saturating phase)\n",
		e2e.rate, e2e.pct(50), e2e.pct(99), e2e.completed, e2e.other)
	if *paced <= 0 {
		return nil
	}
	sent, failed := drivePaced(ctx, client, "http://"+ordersAddr+"/orders", key, *paced, *duration)
	p, err := endToEnd(ctx, client, "http://"+ordersAddr, key, "paced", pacedCustomers, len(ordersRes.lat)+sent, *drain)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "paced at %d orders/s     %9d sent      p50 %7s  p99 %7s  create → COMPLETED (%d completed, %d errors)\n",
		*paced, sent, p.pct(50), p.pct(99), p.completed, failed)
	return nil
}

// pacedCustomers spreads the paced phase's orders over this many customers.
const pacedCustomers = 16

// drivePaced sends orders at a fixed rate, whatever the responses take (an open-loop load), so that
// latency is measured without the client slowing down to match the server.
func drivePaced(ctx context.Context, c *http.Client, url, key string, rate int, d time.Duration) (sent, failed int) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	interval := time.Second / time.Duration(rate)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	stop := time.After(d)
	sem := make(chan struct{}, 512)
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			return sent, failed
		case <-stop:
			wg.Wait()
			return sent, failed
		case <-tick.C:
		}
		sem <- struct{}{}
		wg.Add(1)
		sent++
		body := []byte(strings.Replace(benchOrder, "customer123", fmt.Sprintf("paced-%03d", i%pacedCustomers), 1))
		go func() {
			defer func() { <-sem; wg.Done() }()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-API-Key", key)
			resp, err := c.Do(req)
			ok := err == nil && resp.StatusCode == http.StatusCreated
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if !ok {
				mu.Lock()
				failed++
				mu.Unlock()
			}
		}()
	}
}

func numCPU() int { return runtime.NumCPU() }

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:18080"
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHealthy(ctx context.Context, c *http.Client, url string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not become healthy", url)
}

type result struct {
	lat     []time.Duration
	errors  int
	elapsed time.Duration
}

func (r result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(len(r.lat)) / r.elapsed.Seconds()
}

func (r result) pct(p int) string { return percentile(r.lat, p) }

func percentile(sorted []time.Duration, p int) string {
	if len(sorted) == 0 {
		return "-"
	}
	i := (len(sorted)*p + 99) / 100
	i = min(max(i-1, 0), len(sorted)-1)
	return sorted[i].Round(10 * time.Microsecond).String()
}

func benchBody(worker int) []byte {
	return []byte(strings.Replace(benchOrder, "customer123", fmt.Sprintf("bench-%03d", worker), 1))
}

// benchOrder is the seed example order without a phone, so the notifier texts the operations number.
const benchOrder = `{"customerId":"customer123","items":[{"productId":"LAPTOP001","name":"Gaming Laptop","quantity":1,"price":1299.99},{"productId":"CABLE001","name":"USB-C Cable 2 m","quantity":2,"price":12.99}],"totalAmount":1325.97,"customerEmail":"customer@example.com","shippingAddress":{"street":"123 Main St","city":"Anytown","state":"CA","zipCode":"12345","country":"USA"}}`

// drive posts the bench order from conc workers for d and collects the latencies of successful requests.
func drive(ctx context.Context, c *http.Client, url, key string, conc int, d time.Duration, want201 bool) result {
	var mu sync.Mutex
	var res result
	start := time.Now()
	stop := start.Add(d)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := benchBody(w)
			var lat []time.Duration
			errs := 0
			for time.Now().Before(stop) && ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-API-Key", key)
				t0 := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					errs++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				ok := resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated
				if want201 {
					ok = resp.StatusCode == http.StatusCreated
				}
				if !ok {
					errs++
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.errors += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	slices.Sort(res.lat)
	return res
}

type e2eResult struct {
	rate             float64
	lat              []time.Duration
	completed, other int
}

func (r e2eResult) pct(p int) string { return percentile(r.lat, p) }

// endToEnd waits until accepted orders in all have ended, then reads the orders of the customers
// customerPrefix-000 … and computes create-to-completed from each order's history.
func endToEnd(ctx context.Context, c *http.Client, base, key, customerPrefix string, customers, accepted int, timeout time.Duration) (e2eResult, error) {
	deadline := time.Now().Add(timeout)
	for {
		done, err := terminalCount(ctx, c, base, key)
		if err != nil {
			return e2eResult{}, err
		}
		if done >= accepted {
			break
		}
		if time.Now().After(deadline) {
			return e2eResult{}, fmt.Errorf("only %d of %d orders finished within %s", done, accepted, timeout)
		}
		time.Sleep(250 * time.Millisecond)
	}
	var res e2eResult
	var first, last time.Time
	for w := range customers {
		cursor := ""
		for {
			url := fmt.Sprintf("%s/orders?customerId=%s-%03d&limit=100", base, customerPrefix, w)
			if cursor != "" {
				url += "&cursor=" + cursor
			}
			var page contracts.OrderList
			if err := getJSON(ctx, c, url, key, &page); err != nil {
				return e2eResult{}, err
			}
			for _, o := range page.Orders {
				if o.Status != "COMPLETED" || len(o.History) == 0 {
					res.other++
					continue
				}
				created, done := o.History[0].At, o.History[len(o.History)-1].At
				res.lat = append(res.lat, done.Sub(created))
				res.completed++
				if first.IsZero() || created.Before(first) {
					first = created
				}
				if done.After(last) {
					last = done
				}
			}
			if page.NextCursor == nil || *page.NextCursor == "" {
				break
			}
			cursor = *page.NextCursor
		}
	}
	slices.Sort(res.lat)
	if span := last.Sub(first); span > 0 {
		res.rate = float64(res.completed) / span.Seconds()
	}
	return res, nil
}

// terminalCount reads how many orders ended, from the server's own metrics.
func terminalCount(ctx context.Context, c *http.Client, base, key string) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	req.Header.Set("X-API-Key", key)
	resp, err := c.Do(req)
	if err != nil {
		return 0, fmt.Errorf("read metrics: %w", err)
	}
	defer resp.Body.Close()
	total := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "orderflow_orders_completed_total") || strings.HasPrefix(line, "orderflow_orders_failed_total") {
			var v float64
			if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
				total += v
			}
		}
	}
	return int(total), sc.Err()
}

func getJSON(ctx context.Context, c *http.Client, url, key string, v any) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("X-API-Key", key)
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// noop serves a JSON handler that does no work beyond decoding the request and encoding a reply: the
// baseline that bench compares ingest with.
func noop(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("orderflow noop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8081", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		var req contracts.CreateOrderRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
			http.Error(w, `{"error":{"code":"INVALID_JSON","message":"bad json"}}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]string{"customerId": req.CustomerID, "status": "PENDING"})
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
