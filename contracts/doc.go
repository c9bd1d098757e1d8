// Package contracts holds orderflow's published language: the events other teams subscribe to and the
// request and response bodies of the REST API. These Go types are the source of truth; the JSON Schemas in
// schemas/ are generated from them. The package imports nothing but the standard library.
package contracts
