package input

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fastSeeds are bodies of the shapes the API takes, and awkward ones.
var fastSeeds = []string{
	`{"customerId":"cust-1","customerEmail":"a@example.com","customerPhone":"+15550100","items":[{"productId":"LAPTOP001","name":"Gaming Laptop","quantity":1,"price":1299.99},{"productId":"CABLE001","name":"USB-C Cable 2 m","quantity":2,"price":12.99}],"totalAmount":1325.97,"shippingAddress":{"street":"123 Main St","city":"Anytown","state":"CA","zipCode":"12345","country":"USA"},"reference":"AB12-CD34"}`,
	`{"a":"x\n\t\"\\\/y","n":[1299.99,-0,0.1e1,1e309,123456789012345678901234567890,-1.5E-7],"t":true,"f":false,"z":null,"e":{},"l":[]}`,
	"{\"name\":\"caf\u00e9 \U0001F600\",\"q\":[[1],[2,[3,{\"k\":null}]]]}",
	`{"source":["orderflow.orders"],"detail-type":["OrderCreated"],"detail":{"totalAmount":[{"numeric":[">",100]}]}}`,
	`  [ 1 , "two" , { "three" : 3 } ]  `, `"just a string"`, `12`, `true`, `null`,
	`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"a/":1,"a\/":2}`, `{"items":[{"name":1,"name":2}]}`, `{"customerId":"a","x\ty":1}`, `{"a":"x\ud800"}`, "{\"a\":\"\xffb\"}", `{} {}`, `{"a":[1,`, ``, ` `,
	`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":tru}`, `{"a" 1}`, `{"a":1,}`, `[1,]`, `{,}`, `{"a":"\x"}`,
	"{\"a\":\"tab\there\"}", "\ufeff{}", `NaN`, `{"a":-}`,
	strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
	strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
	strings.Repeat(`{"a":`, MaxDepth) + "1" + strings.Repeat("}", MaxDepth),
	strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1),
}

// checkFastAgrees fails the test if fast accepts a body that strict refuses, or decodes it to another
// value.
func checkFastAgrees(t *testing.T, b []byte) {
	t.Helper()
	got, ok := fast(b)
	if !ok {
		return
	}
	want, err := strict(b)
	if err != nil {
		t.Fatalf("fast decoded %q, which strict refuses: %v", b, err)
	}
	// reflect.DeepEqual first: cmp.Diff takes exponential time over deeply nested arrays.
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("fast decoded %q otherwise than strict (-strict +fast):\n%s", b, cmp.Diff(want, got))
	}
}

func TestTheFastPathAgreesWithTheStrictDecoder(t *testing.T) {
	t.Parallel()
	// Bytes that change what a body means: structure, quotes, escapes, digits, letters, bad UTF-8.
	const alphabet = "{}[]\",:\\ 0159.-+eEtfnulax/\t\n\xff\xc3\xa9"
	r := rand.New(rand.NewPCG(1, 2))
	fastOK, cases := 0, 0
	for _, seed := range fastSeeds {
		b := []byte(seed)
		checkFastAgrees(t, b)
		if _, ok := fast(b); ok {
			fastOK++
		}
		for range 400 {
			m := append([]byte(nil), b...)
			for range 1 + r.IntN(3) {
				i := 0
				if len(m) > 0 {
					i = r.IntN(len(m))
				}
				c := alphabet[r.IntN(len(alphabet))]
				switch r.IntN(3) {
				case 0:
					if len(m) > 0 {
						m = append(m[:i], m[i+1:]...)
					}
				case 1:
					m = append(m[:i], append([]byte{c}, m[i:]...)...)
				default:
					if len(m) > 0 {
						m[i] = c
					}
				}
			}
			checkFastAgrees(t, m)
			cases++
		}
	}
	// The order body, the pattern and the plain values take the fast path; otherwise it saves nothing.
	if fastOK < 10 {
		t.Errorf("the fast path took %d of the %d seeds", fastOK, len(fastSeeds))
	}
	if _, ok := fast([]byte(fastSeeds[0])); !ok {
		t.Errorf("an ordinary order body does not take the fast path")
	}
	t.Logf("%d altered bodies, %d seeds on the fast path", cases, fastOK)
}

func FuzzTheFastPathAgreesWithTheStrictDecoder(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkFastAgrees)
}

// BenchmarkDecode decodes an order body as POST /orders does, and with the strict decoder alone.
func BenchmarkDecode(b *testing.B) {
	body := []byte(fastSeeds[0])
	b.Run("Decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Decode(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("strict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := strict(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
