package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/inventory"
)

// maxProductIDLength bounds the product ids PUT /inventory accepts.
const maxProductIDLength = 128

func itemOf(p inventory.Product) contracts.InventoryItem {
	return contracts.InventoryItem{ProductID: p.ID, Name: p.Name, Price: p.Price, Available: p.Available}
}

// listInventory serves GET /inventory (admin): every product, ordered by id.
func (s *server) listInventory(w http.ResponseWriter, r *http.Request) {
	products, err := s.deps.Inventory.Products(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list := contracts.InventoryList{Items: make([]contracts.InventoryItem, len(products))}
	for i, p := range products {
		list.Items[i] = itemOf(p)
	}
	s.writeJSON(w, r, http.StatusOK, list)
}

// getInventory serves GET /inventory/{productId} (admin).
func (s *server) getInventory(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("productId")
	if err := notFoundIfBlank(id, "product"); err != nil {
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
// by orders included, and answers 412 PRECONDITION_FAILED otherwise; without, it replaces unconditionally.
func (s *server) putInventory(w http.ResponseWriter, r *http.Request) {
	v, err := s.readJSON(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var sh shape
	p := inventory.Product{ID: r.PathValue("productId")}
	if blank(p.ID) || utf8.RuneCountInString(p.ID) > maxProductIDLength {
		sh.bad("productId", "must be 1 to 128 characters")
	}
	if m, ok := sh.root(v, "name", "price", "available"); ok {
		p.Name = sh.str(m, "", "name")
		price := sh.number(m, "", "price")
		available := sh.number(m, "", "available")
		if !covered(sh.issues, "name") && blank(p.Name) {
			sh.bad("name", "is required")
		}
		if !covered(sh.issues, "price") {
			p.Price = checkAmount(&sh, "price", price)
		}
		if !covered(sh.issues, "available") {
			if available == "" {
				sh.bad("available", "is required")
			} else if n, err := strconv.Atoi(available.String()); err != nil || n < 0 {
				sh.bad("available", "must be an integer of at least 0")
			} else {
				p.Available = n
			}
		}
	}
	if err := sh.err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	if etag := r.Header.Get("If-Match"); etag != "" {
		err = s.deps.Inventory.PutProductIf(r.Context(), p, etag)
	} else {
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
	switch {
	case err != nil && strings.HasPrefix(text, "-"):
		sh.bad(field, "must not be negative")
	case err != nil:
		sh.bad(field, "must be an amount with at most 2 decimals")
	}
	return a
}

// notFoundIfBlank guards path parameters that an escaped path could make blank.
func notFoundIfBlank(id, what string) error {
	if blank(id) {
		return fault.NotFoundf("%s not found", what)
	}
	return nil
}
