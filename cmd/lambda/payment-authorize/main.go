// Command payment-authorize is orderflow's payment-authorize Lambda function: authorizes payment once stock is held, as the target of its EventBridge rule.
// Its environment and permissions are described by its entry in services/lambdas; build it with
// make lambdas (dist/lambda/payment-authorize/bootstrap, provided.al2023, arm64).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/orderflow/orderflow/services/app/function"
	"github.com/orderflow/orderflow/services/routing"
)

func main() {
	lambda.Start(function.Must(routing.PaymentAuthorize).EventBridge())
}
