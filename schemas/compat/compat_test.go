package compat_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/schemas"
	"github.com/orderflow/orderflow/schemas/compat"
	"github.com/orderflow/orderflow/schemas/generator"
)

// The versions of one event's detail that the before/after pairs are made of. Each is a real Go type
// turned into a schema by the generator, like the published details.
type (
	baseDetail struct {
		contracts.DetailMeta
		CustomerID string           `json:"customerId"`
		Items      []baseItem       `json:"items"`
		Total      contracts.Amount `json:"totalAmount"`
		Status     string           `json:"status" jsonschema:"enum=PENDING,enum=FAILED"`
		Note       string           `json:"note,omitempty"`
		At         time.Time        `json:"at"`
	}
	baseItem struct {
		ProductID string `json:"productId"`
		Quantity  int    `json:"quantity"`
	}
	removedField struct { // Note is gone
		contracts.DetailMeta
		CustomerID string           `json:"customerId"`
		Items      []baseItem       `json:"items"`
		Total      contracts.Amount `json:"totalAmount"`
		Status     string           `json:"status" jsonschema:"enum=PENDING,enum=FAILED"`
		At         time.Time        `json:"at"`
	}
	renamedField struct { // customerId is now customer
		contracts.DetailMeta
		CustomerID string           `json:"customer"`
		Items      []baseItem       `json:"items"`
		Total      contracts.Amount `json:"totalAmount"`
		Status     string           `json:"status" jsonschema:"enum=PENDING,enum=FAILED"`
		Note       string           `json:"note,omitempty"`
		At         time.Time        `json:"at"`
	}
	changedType struct { // totalAmount is now a string
		contracts.DetailMeta
		CustomerID string     `json:"customerId"`
		Items      []baseItem `json:"items"`
		Total      string     `json:"totalAmount"`
		Status     string     `json:"status" jsonschema:"enum=PENDING,enum=FAILED"`
		Note       string     `json:"note,omitempty"`
		At         time.Time  `json:"at"`
	}
	changedNestedType struct { // items[].quantity is now a string
		contracts.DetailMeta
		CustomerID string           `json:"customerId"`
		Items      []stringQtyItem  `json:"items"`
		Total      contracts.Amount `json:"totalAmount"`
		Status     string           `json:"status" jsonschema:"enum=PENDING,enum=FAILED"`
		Note       string           `json:"note,omitempty"`
		At         time.Time        `json:"at"`
	}
	stringQtyItem struct {
		ProductID string `json:"productId"`
		Quantity  string `json:"quantity"`
	}
	newRequired struct { // email is new and required
		contracts.DetailMeta
		CustomerID string           `json:"customerId"`
		Email      string           `json:"email"`
		Items      []baseItem       `json:"items"`
		Total      contracts.Amount `json:"totalAmount"`
		Status     string           `json:"status" jsonschema:"enum=PENDING,enum=FAILED"`
		Note       string           `json:"note,omitempty"`
		At         time.Time        `json:"at"`
	}
	becameRequired struct { // note lost omitempty
		contracts.DetailMeta
		CustomerID string           `json:"customerId"`
		Items      []baseItem       `json:"items"`
		Total      contracts.Amount `json:"totalAmount"`
		Status     string           `json:"status" jsonschema:"enum=PENDING,enum=FAILED"`
		Note       string           `json:"note"`
		At         time.Time        `json:"at"`
	}
	narrowedEnum struct { // FAILED is no longer a status
		contracts.DetailMeta
		CustomerID string           `json:"customerId"`
		Items      []baseItem       `json:"items"`
		Total      contracts.Amount `json:"totalAmount"`
		Status     string           `json:"status" jsonschema:"enum=PENDING"`
		Note       string           `json:"note,omitempty"`
		At         time.Time        `json:"at"`
	}
	additive struct { // a new optional field and a new status
		contracts.DetailMeta
		CustomerID string           `json:"customerId"`
		Items      []baseItem       `json:"items"`
		Total      contracts.Amount `json:"totalAmount"`
		Status     string           `json:"status" jsonschema:"enum=PENDING,enum=FAILED,enum=CANCELLED"`
		Note       string           `json:"note,omitempty"`
		Phone      string           `json:"phone,omitempty"`
		Gift       *giftOption      `json:"gift,omitempty"`
		At         time.Time        `json:"at"`
	}
	giftOption struct {
		Message string `json:"message"`
	}
)

const detailType = "TestHappened"

// schemaOf is the schema the generator makes for an event whose detail is of the type of detail.
func schemaOf(t *testing.T, detail any) []byte {
	t.Helper()
	b, err := generator.EventSchema("", generator.Event{Source: "orderflow.test", DetailType: detailType, Detail: detail}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type change struct {
	Path string
	Kind compat.Kind
}

func TestCompareFindsEachKindOfChange(t *testing.T) {
	t.Parallel()
	before := schemaOf(t, baseDetail{})
	for _, tc := range []struct {
		name  string
		after any
		want  []change
	}{
		{"no change", baseDetail{}, nil},
		{"removed field", removedField{}, []change{{"detail.note", compat.FieldRemoved}}},
		{"renamed field", renamedField{}, []change{
			{"detail.customerId", compat.FieldRemoved}, {"detail.customer", compat.NewRequired}}},
		{"changed type", changedType{}, []change{{"detail.totalAmount", compat.TypeChanged}}},
		{"changed type of a nested field", changedNestedType{}, []change{{"detail.items[].quantity", compat.TypeChanged}}},
		{"new required field", newRequired{}, []change{{"detail.email", compat.NewRequired}}},
		{"optional field became required", becameRequired{}, []change{{"detail.note", compat.NewRequired}}},
		{"narrowed enum", narrowedEnum{}, []change{{"detail.status", compat.EnumNarrowed}}},
		{"additive: optional fields and a new enum value", additive{}, []change{
			{"detail.status", compat.EnumWidened}, {"detail.phone", compat.FieldAdded}, {"detail.gift", compat.FieldAdded}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			old, err := compat.Fields(before)
			if err != nil {
				t.Fatal(err)
			}
			nw, err := compat.Fields(schemaOf(t, tc.after))
			if err != nil {
				t.Fatal(err)
			}
			var got []change
			for _, c := range compat.Compare(detailType, old, nw) {
				got = append(got, change{c.Path, c.Kind})
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("changes (-want +got):\n%s", d)
			}
		})
	}
}

func TestRequiredFieldBecomingOptionalIsBreaking(t *testing.T) {
	t.Parallel()
	old, _ := compat.Fields(schemaOf(t, becameRequired{}))
	nw, _ := compat.Fields(schemaOf(t, baseDetail{}))
	got := compat.Compare(detailType, old, nw)
	if len(got) != 1 || got[0].Kind != compat.NoLongerRequired || !got[0].Kind.Breaking() {
		t.Errorf("changes = %v, want one breaking %q", got, compat.NoLongerRequired)
	}
}

func TestCheckAppliesTheVersionRules(t *testing.T) {
	t.Parallel()
	set := func(version string, detail any) compat.Set {
		return compat.Set{Version: version, Schemas: map[string][]byte{"orderflow.test@" + detailType: schemaOf(t, detail)}}
	}
	released := set("1.0", baseDetail{})
	for _, tc := range []struct {
		name    string
		next    compat.Set
		wantErr error
	}{
		{"unchanged, same version", set("1.0", baseDetail{}), nil},
		{"unchanged, minor bump", set("1.1", baseDetail{}), nil},
		{"additive, minor bump", set("1.1", additive{}), nil},
		{"additive, no bump", set("1.0", additive{}), compat.ErrVersionNotBumped},
		{"removed field, minor bump", set("1.1", removedField{}), compat.ErrBreakingChange},
		{"renamed field, no bump", set("1.0", renamedField{}), compat.ErrBreakingChange},
		{"changed type, minor bump", set("1.3", changedType{}), compat.ErrBreakingChange},
		{"new required field, minor bump", set("1.1", newRequired{}), compat.ErrBreakingChange},
		{"narrowed enum, minor bump", set("1.1", narrowedEnum{}), compat.ErrBreakingChange},
		{"removed field, major bump", set("2.0", removedField{}), nil},
		{"changed type, major bump", set("2.0", changedType{}), nil},
		{"narrowed enum, major bump", set("2.0", narrowedEnum{}), nil},
		{"event removed, minor bump", compat.Set{Version: "1.1", Schemas: map[string][]byte{}}, compat.ErrBreakingChange},
		{"event added, minor bump", compat.Set{Version: "1.1", Schemas: map[string][]byte{
			"orderflow.test@" + detailType: schemaOf(t, baseDetail{}), "orderflow.test@Other": schemaOf(t, baseDetail{})}}, nil},
		{"version going backwards", set("0.9", baseDetail{}), compat.ErrVersionBackwards},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := compat.Check(released, tc.next)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Errorf("Check: %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestCheckReportNamesTheBreakingChange(t *testing.T) {
	t.Parallel()
	released := compat.Set{Version: "1.0", Schemas: map[string][]byte{"s": schemaOf(t, baseDetail{})}}
	_, err := compat.Check(released, compat.Set{Version: "1.1", Schemas: map[string][]byte{"s": schemaOf(t, renamedField{})}})
	for _, want := range []string{"BREAKING", "detail.customerId", "field removed or renamed", "bump to 2.0"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q: %v", want, err)
		}
	}
}

func TestFieldsOfAPublishedSchema(t *testing.T) {
	t.Parallel()
	b, err := schemas.FS.ReadFile("events/orderflow.orders@OrderCreated.json")
	if err != nil {
		t.Fatal(err)
	}
	fields, err := compat.Fields(b)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]compat.Field{}
	for _, f := range fields {
		byPath[f.Path] = f
	}
	for path, want := range map[string]compat.Field{
		"source":               {Types: []string{"string"}, Enum: []string{"orderflow.orders"}, Required: true},
		"detail.customerPhone": {Types: []string{"string"}, Constraints: []string{"maxLength 16"}},
		"detail.items[].price": {Types: []string{"number"}, Required: true, Constraints: []string{"minimum 0", "multipleOf 0.01"}},
		"detail.createdAt":     {Types: []string{"string"}, Format: "date-time", Required: true},
	} {
		got := byPath[path]
		got.Path, got.Description, got.Pattern = "", "", ""
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("field %s (-want +got):\n%s", path, d)
		}
	}
}

func TestParseVersion(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "1", "1.x", "-1.0", "1.0.0"} {
		if _, err := compat.ParseVersion(s); err == nil {
			t.Errorf("ParseVersion(%q) succeeded", s)
		}
	}
	v, err := compat.ParseVersion("1.10")
	if err != nil || v != (compat.Version{Major: 1, Minor: 10}) || !(compat.Version{Major: 1, Minor: 9}).Less(v) {
		t.Errorf("ParseVersion(1.10) = %v, %v", v, err)
	}
}
