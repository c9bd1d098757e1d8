// Package dynamodb holds the DynamoDB adapters of orderflow's AWS runtime: orders with their events and
// idempotency records, inventory with its reservations, the payment simulator's ledger, the notifier's
// dedup records and the chatbot's sessions. Each adapter is given a client and its table names; none
// loads configuration. The tables are those of lambdas.Tables (CreateTables builds them from that
// description, as the CDK app does).
package dynamodb
