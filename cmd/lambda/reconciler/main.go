// Command reconciler is orderflow's reconciler Lambda function: on a schedule, re-queues orders left PENDING past the grace period (stored, never queued).
// Its environment and permissions are described by its entry in services/lambdas; build it with
// make lambdas (dist/lambda/reconciler/bootstrap, provided.al2023, arm64).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/orderflow/orderflow/services/app/function"
	"github.com/orderflow/orderflow/services/lambdas"
)

func main() {
	lambda.Start(function.Must(lambdas.Reconciler).Scheduled())
}
