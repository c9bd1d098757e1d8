// Command dispatcher is orderflow's dispatcher Lambda function: takes accepted orders off the ingest queue (an SQS event source mapping with ReportBatchItemFailures) and emits OrderCreated.
// Its environment and permissions are described by its entry in services/lambdas; build it with
// make lambdas (dist/lambda/dispatcher/bootstrap, provided.al2023, arm64).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/orderflow/orderflow/services/app/function"
	"github.com/orderflow/orderflow/services/routing"
)

func main() {
	lambda.Start(function.Must(routing.Dispatcher).SQS())
}
