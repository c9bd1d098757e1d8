package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/config"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/orderflow/orderflow/services/adapters/dynamodb"
)

// backfillCatalog lists again, in GET /inventory on AWS, the products written before the inventory
// table had its catalog index: run once against a deployment upgraded from such a version. It uses the
// AWS configuration of the environment (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL …).
func backfillCatalog(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("orderflow backfill-catalog", flag.ContinueOnError)
	fs.SetOutput(stderr)
	table := fs.String("table", env("INVENTORY_TABLE_NAME", ""), "the inventory `table`: the api function's INVENTORY_TABLE_NAME (INVENTORY_TABLE_NAME)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *table == "" {
		return errors.New("backfill-catalog: name the inventory table with --table or INVENTORY_TABLE_NAME")
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("backfill-catalog: AWS configuration: %w", err)
	}
	n, err := dynamodb.NewInventory(awsdynamodb.NewFromConfig(cfg), *table).BackfillCatalog(ctx)
	fmt.Fprintf(stdout, "%d products of %s put into the catalog index\n", n, *table)
	return err
}
