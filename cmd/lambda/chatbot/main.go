// Command chatbot is orderflow's chatbot Lambda function: POST /chatbot behind API Gateway: the order assistant on Bedrock Converse, with its sessions in DynamoDB.
// Its environment and permissions are described by its entry in services/lambdas; build it with
// make lambdas (dist/lambda/chatbot/bootstrap, provided.al2023, arm64).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/orderflow/orderflow/agent"
	"github.com/orderflow/orderflow/agent/bedrock"
	"github.com/orderflow/orderflow/services/app"
	"github.com/orderflow/orderflow/services/app/function"
	"github.com/orderflow/orderflow/services/lambdas"
)

func main() {
	lambda.Start(function.Must(lambdas.Chatbot, function.WithAPI(app.BuildAPI), function.WithModel(newModel)).Proxy())
}

// newModel is the Bedrock Converse adapter for the configured model.
func newModel(cfg aws.Config, modelID string) (agent.Model, error) {
	return bedrock.NewFromConfig(cfg, modelID, bedrock.Options{})
}
