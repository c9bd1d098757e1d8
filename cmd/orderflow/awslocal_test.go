package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/app"
	"github.com/orderflow/orderflow/services/app/awsbox"
)

// TestAWSLocalServesTheAWSCodePath runs `orderflow aws-local` as a user would, reads the API Gateway URL
// from its banner, and places the banner's example order, which must complete through DynamoDB Local,
// moto's SQS and EventBridge, and every Lambda handler.
func TestAWSLocalServesTheAWSCodePath(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"aws-local", "--addr", "127.0.0.1:0", "--log-level", "error"}, pw, io.Discard, nil)
		pw.Close()
		done <- err
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		if err, ok := <-done; ok && err != nil {
			t.Errorf("aws-local: %v", err)
		}
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) >= 3 && f[0] == "API" && f[1] == "Gateway" {
				urls <- f[2]
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	var url string
	select {
	case url = <-urls:
	case err := <-done:
		t.Fatalf("aws-local ended before serving: %v (make emulators installs DynamoDB Local)", err)
	case <-time.After(3 * time.Minute):
		t.Fatal("aws-local did not print its URL within 3 minutes")
	}
	post, _ := http.NewRequest("POST", url+"/orders", strings.NewReader(app.ExampleOrder))
	post.Header.Set("Content-Type", "application/json")
	post.Header.Set("X-API-Key", awsbox.ClientKey)
	res, err := http.DefaultClient.Do(post)
	if err != nil {
		t.Fatal(err)
	}
	var o contracts.Order
	_ = json.NewDecoder(res.Body).Decode(&o)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST /orders = %d", res.StatusCode)
	}
	deadline := time.Now().Add(time.Minute)
	for o.Status != "COMPLETED" {
		if time.Now().After(deadline) {
			t.Fatalf("order %s is %s after a minute, want COMPLETED", o.OrderID, o.Status)
		}
		time.Sleep(200 * time.Millisecond)
		get, _ := http.NewRequest("GET", url+"/orders/"+o.OrderID, nil)
		get.Header.Set("X-API-Key", awsbox.ClientKey)
		res, err := http.DefaultClient.Do(get)
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(res.Body).Decode(&o)
		res.Body.Close()
	}
}
