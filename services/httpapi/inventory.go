package httpapi

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/input"
	"github.com/orderflow/orderflow/services/inventory"
	"github.com/orderflow/orderflow/services/pipeline"
)

func itemOf(p inventory.Product) contracts.InventoryItem {
	return contracts.InventoryItem{ProductID: p.ID, Name: p.Name, Price: p.Price, Available: p.Available}
}

// listInventory serves GET /inventory?limit=&cursor= (admin): a page of the catalog by product id, with
// the cursor of the next page (null on the last). Without limit the page holds every product after the
// cursor that one response holds (MaxPageBytes: on AWS a function returns at most 6 MB), so a client
// that follows nextCursor reads any catalog, and one of a shop's usual size comes in one page.
func (s *server) listInventory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var sh shape
	limit := queryLimit(&sh, q.Get("limit"), 0, contracts.MaxInventoryPage)
	after, ok := decodeProductCursor(q.Get("cursor"))
	if !ok {
		sh.bad("cursor", "is not a nextCursor of GET /inventory")
	}
	if err := sh.err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	products, err := s.deps.Inventory.Products(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if after != "" {
		i, found := slices.BinarySearchFunc(products, after, func(p inventory.Product, id string) int { return strings.Compare(p.ID, id) })
		if found {
			i++ // the page goes on after the cursor's product
		}
		products = products[i:]
	}
	if limit == 0 || limit > len(products) {
		limit = len(products)
	}
	for {
		page := contracts.InventoryList{Items: make([]contracts.InventoryItem, limit)}
		for i, p := range products[:limit] {
			page.Items[i] = itemOf(p)
		}
		if limit < len(products) {
			next := base64.RawURLEncoding.EncodeToString([]byte(products[limit-1].ID))
			page.NextCursor = &next
		}
		body, release, err := pipeline.EncodePooled(page)
		if err == nil && asJSONString(body) > s.maxPage && limit > 1 {
			// Too large to answer: half as many, whose cursor goes on from the last of them. A page of one
			// product (a few hundred bytes) is always answered, so this ends.
			release()
			limit /= 2
			continue
		}
		s.writeEncoded(w, r, http.StatusOK, body, release, err)
		return
	}
}

// decodeProductCursor returns the product id a nextCursor of GET /inventory goes on after ("" for no
// cursor), or false when cursor is not one.
func decodeProductCursor(cursor string) (string, bool) {
	if cursor == "" {
		return "", true
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) == 0 || !utf8.Valid(b) || utf8.RuneCount(b) > contracts.MaxProductIDLength {
		return "", false
	}
	return string(b), true
}

// getInventory serves GET /inventory/{productId} (admin).
func (s *server) getInventory(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("productId")
	if err := notFoundUnlessID(id, contracts.MaxProductIDLength, "product"); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.deps.Inventory.Product(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", p.ETag())
	s.writeJSON(w, r, http.StatusOK, itemOf(p))
}

// putInventory serves PUT /inventory/{productId} (admin): creates or replaces the product and returns it.
// With If-Match (the ETag of a GET), it replaces the product only if nothing changed it since, stock taken
// by orders included, and answers 412 PRECONDITION_FAILED otherwise (If-Match: * only if it exists); with
// If-None-Match: * it creates the product only if there is none (412 otherwise); without either, it
// creates or replaces unconditionally.
func (s *server) putInventory(w http.ResponseWriter, r *http.Request) {
	v, err := s.readJSON(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var sh shape
	p := inventory.Product{ID: r.PathValue("productId")}
	sh.check("productId", input.Identifier(p.ID, contracts.MaxProductIDLength))
	if m, ok := sh.root(v, "name", "price", "available"); ok {
		p.Name = sh.str(m, "", "name")
		price := sh.number(m, "", "price")
		available := sh.number(m, "", "available")
		switch {
		case covered(sh.issues, "name"):
		case blank(p.Name):
			sh.bad("name", "is required")
		default:
			sh.check("name", input.Text(p.Name, contracts.MaxNameLength))
		}
		if !covered(sh.issues, "price") {
			p.Price = checkAmount(&sh, "price", price)
		}
		if !covered(sh.issues, "available") {
			if available == "" {
				sh.bad("available", "is required")
			} else if n, err := strconv.Atoi(available.String()); err != nil || n < 0 || n > contracts.MaxStock || available.String() != strconv.Itoa(n) {
				// Written as an integer (not 1.0 or 1e3), and within what every store and event holds.
				sh.bad("available", fmt.Sprintf("must be an integer from 0 to %d", contracts.MaxStock))
			} else {
				p.Available = n
			}
		}
	}
	if err := sh.err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	ifMatch, ifNoneMatch := r.Header.Get("If-Match"), r.Header.Get("If-None-Match")
	switch {
	case ifMatch != "" && ifNoneMatch != "":
		sh.bad("If-None-Match", "cannot be combined with If-Match")
	case ifNoneMatch != "" && ifNoneMatch != "*":
		sh.bad("If-None-Match", `only "*" is supported: create the product only if there is none`)
	case ifMatch != "*" && (strings.Contains(ifMatch, ",") || strings.HasPrefix(ifMatch, "W/")):
		sh.bad("If-Match", "must be one ETag as GET returned it, or *")
	}
	if err := sh.err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	switch {
	case ifNoneMatch == "*":
		err = s.deps.Inventory.PutProductIf(r.Context(), p, inventory.Absent)
	case ifMatch == "*":
		err = s.deps.Inventory.PutProductIf(r.Context(), p, inventory.Present)
	case ifMatch != "":
		err = s.deps.Inventory.PutProductIf(r.Context(), p, ifMatch)
	default:
		err = s.deps.Inventory.PutProduct(r.Context(), p)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", p.ETag())
	s.writeJSON(w, r, http.StatusOK, itemOf(p))
}

// checkAmount parses a money amount exactly, reporting a missing, negative or over-precise one.
func checkAmount(sh *shape, field string, n interface{ String() string }) contracts.Amount {
	text := n.String()
	if text == "" {
		sh.bad(field, "is required")
		return 0
	}
	a, err := contracts.ParseAmount(text)
	if err != nil {
		// The catalog has no currency of its own: its prices have the most decimals an Amount holds, and
		// an order in a currency with fewer refuses the prices it cannot pay.
		sh.bad(field, ingest.AmountIssue(err, "", contracts.AmountDecimals))
	}
	return a
}

// notFoundUnlessID guards path parameters: an id that is blank (an escaped path can make it so), longer
// than max or not UTF-8 cannot name anything stored; the first would not fit a DynamoDB key, and the last
// would be looked up there as the id spelt with U+FFFD. The alphabet is not checked on a lookup, so that
// what was stored before the identifier rules stays reachable.
func notFoundUnlessID(id string, max int, what string) error {
	if blank(id) || utf8.RuneCountInString(id) > max || input.NotUTF8(id) != "" {
		return fault.NotFoundf("%s not found", what)
	}
	return nil
}
