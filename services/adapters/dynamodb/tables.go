package dynamodb

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow/orderflow/services/lambdas"
)

// TableNames are the names of the tables of one deployment, one per entry of lambdas.Tables.
type TableNames struct {
	Orders, Idempotency, Inventory, Payments, Dedup, Sessions string
}

// TableNamesWithPrefix names every table prefix + its logical name in lambdas (e.g. "test1-Orders"), so
// that several sets of tables (tests running in parallel, stages) can share one account or emulator.
func TableNamesWithPrefix(prefix string) TableNames {
	var n TableNames
	for _, t := range lambdas.Tables {
		*n.field(t) = prefix + t.ID
	}
	return n
}

// Name returns the name of table t, "" for a table lambdas does not list.
func (n TableNames) Name(t lambdas.Table) string {
	if f := n.field(t); f != nil {
		return *f
	}
	return ""
}

func (n *TableNames) field(t lambdas.Table) *string {
	switch t.Env {
	case lambdas.EnvOrdersTable:
		return &n.Orders
	case lambdas.EnvIdempotencyTable:
		return &n.Idempotency
	case lambdas.EnvInventoryTable:
		return &n.Inventory
	case lambdas.EnvPaymentsTable:
		return &n.Payments
	case lambdas.EnvDedupTable:
		return &n.Dedup
	case lambdas.EnvSessionsTable:
		return &n.Sessions
	}
	return nil
}

// CreateTableInput is the CreateTable request of table t under the given name, built from its
// description in lambdas: string keys pk (and sk where the table has a sort key), its global
// secondary indexes, on-demand billing. The table's TTL attribute is set separately (CreateTables does).
func CreateTableInput(t lambdas.Table, name string) *awsdynamodb.CreateTableInput {
	attrs := []string{attrPK}
	keys := []types.KeySchemaElement{{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash}}
	if t.SortKey {
		attrs = append(attrs, attrSK)
		keys = append(keys, types.KeySchemaElement{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange})
	}
	in := &awsdynamodb.CreateTableInput{TableName: aws.String(name), KeySchema: keys, BillingMode: types.BillingModePayPerRequest}
	for _, ix := range t.Indexes {
		attrs = append(attrs, ix.PartitionKey)
		ks := []types.KeySchemaElement{{AttributeName: aws.String(ix.PartitionKey), KeyType: types.KeyTypeHash}}
		if ix.SortKey != "" {
			attrs = append(attrs, ix.SortKey)
			ks = append(ks, types.KeySchemaElement{AttributeName: aws.String(ix.SortKey), KeyType: types.KeyTypeRange})
		}
		proj := types.ProjectionTypeAll
		if ix.KeysOnly {
			proj = types.ProjectionTypeKeysOnly
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName: aws.String(ix.Name), KeySchema: ks, Projection: &types.Projection{ProjectionType: proj},
		})
	}
	for _, a := range attrs {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(a), AttributeType: types.ScalarAttributeTypeS})
	}
	return in
}

// TableAdmin is the part of the DynamoDB API that CreateTables uses.
type TableAdmin interface {
	CreateTable(ctx context.Context, in *awsdynamodb.CreateTableInput, opts ...func(*awsdynamodb.Options)) (*awsdynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *awsdynamodb.DescribeTableInput, opts ...func(*awsdynamodb.Options)) (*awsdynamodb.DescribeTableOutput, error)
	UpdateTimeToLive(ctx context.Context, in *awsdynamodb.UpdateTimeToLiveInput, opts ...func(*awsdynamodb.Options)) (*awsdynamodb.UpdateTimeToLiveOutput, error)
}

// CreateTables creates every table of lambdas.Tables under its name in names (see CreateTable). It is
// for tests and local runs; on AWS the CDK app creates the same tables from the same description. A
// table that already exists is an error.
func CreateTables(ctx context.Context, api TableAdmin, names TableNames) error {
	for _, t := range lambdas.Tables {
		if names.Name(t) == "" {
			return fmt.Errorf("create tables: no name given for table %s", t.ID)
		}
	}
	for _, t := range lambdas.Tables {
		if err := CreateTable(ctx, api, t, names.Name(t)); err != nil {
			return err
		}
	}
	return nil
}

// CreateTable creates table t under the given name (see CreateTableInput), waits until it is active
// and turns on its TTL attribute, if it has one. A table that already exists is an error.
func CreateTable(ctx context.Context, api TableAdmin, t lambdas.Table, name string) error {
	if _, err := api.CreateTable(ctx, CreateTableInput(t, name)); err != nil {
		return fmt.Errorf("create table %s: %w", name, classify(err))
	}
	w := awsdynamodb.NewTableExistsWaiter(api, func(o *awsdynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 50 * time.Millisecond
		o.MaxDelay = time.Second
	})
	if err := w.Wait(ctx, &awsdynamodb.DescribeTableInput{TableName: aws.String(name)}, 2*time.Minute); err != nil {
		return fmt.Errorf("wait for table %s: %w", name, err)
	}
	if t.TTL == "" {
		return nil
	}
	_, err := api.UpdateTimeToLive(ctx, &awsdynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(t.TTL), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("turn on TTL of table %s: %w", name, classify(err))
	}
	return nil
}
