// Command validation is orderflow's validation Lambda function: validates new orders against the catalog, as the target of its EventBridge rule.
// Its environment and permissions are described by its entry in services/lambdas; build it with
// make lambdas (dist/lambda/validation/bootstrap, provided.al2023, arm64).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/orderflow/orderflow/services/app/function"
	"github.com/orderflow/orderflow/services/routing"
)

func main() {
	lambda.Start(function.Must(routing.Validation).EventBridge())
}
