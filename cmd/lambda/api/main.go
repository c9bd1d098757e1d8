// Command api is orderflow's api Lambda function: the REST API (every route but /chatbot) behind API Gateway's proxy integration, the same net/http handler the local server serves.
// Its environment and permissions are described by its entry in services/lambdas; build it with
// make lambdas (dist/lambda/api/bootstrap, provided.al2023, arm64).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/orderflow/orderflow/services/app"
	"github.com/orderflow/orderflow/services/app/function"
	"github.com/orderflow/orderflow/services/lambdas"
)

func main() {
	lambda.Start(function.Must(lambdas.API, function.WithAPI(app.BuildAPI)).Proxy())
}
