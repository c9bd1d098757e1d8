package stack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"
)

// TestTheChatbotMayInvokeTheModelBehindItsInferenceProfile checks what the chatbot may invoke for each
// form of bedrockModelId: Bedrock authorizes a call through a cross-region inference profile on the
// profile and on the foundation model in the region the profile routes it to, whether the profile is
// given by its id or by its ARN.
func TestTheChatbotMayInvokeTheModelBehindItsInferenceProfile(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	st := awscdk.NewStack(app, jsii.String("Models"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("111122223333"), Region: jsii.String("eu-west-1")},
	})
	for _, tc := range []struct {
		name, id string
		want     []string
	}{
		{"foundation model id", "amazon.nova-lite-v1:0",
			[]string{"arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-lite-v1:0"}},
		{"inference profile id", "eu.amazon.nova-lite-v1:0", []string{
			"arn:aws:bedrock:eu-west-1:111122223333:inference-profile/eu.amazon.nova-lite-v1:0",
			"arn:aws:bedrock:*::foundation-model/amazon.nova-lite-v1:0"}},
		{"inference profile ARN", "arn:aws:bedrock:eu-west-1:111122223333:inference-profile/eu.amazon.nova-lite-v1:0", []string{
			"arn:aws:bedrock:eu-west-1:111122223333:inference-profile/eu.amazon.nova-lite-v1:0",
			"arn:aws:bedrock:*::foundation-model/amazon.nova-lite-v1:0"}},
		{"foundation model ARN", "arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-lite-v1:0",
			[]string{"arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-lite-v1:0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &Orderflow{Stack: st, Settings: Settings{BedrockModelID: tc.id}}
			resolved, err := json.Marshal(st.Resolve(o.modelARNs()))
			if err != nil {
				t.Fatal(err)
			}
			var resources []any
			if err := json.Unmarshal(resolved, &resources); err != nil {
				t.Fatalf("resources %s: %v", resolved, err)
			}
			var got []string
			for _, r := range resources {
				got = append(got, render(t, r))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("bedrock:InvokeModel resources for %s (-want +got):\n%s", tc.id, diff)
			}
		})
	}
}

// render writes a resolved ARN as CloudFormation would in the partition aws: joins and the partition
// are all the ARNs above use.
func render(t *testing.T, v any) string {
	t.Helper()
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if v["Ref"] == "AWS::Partition" {
			return "aws"
		}
		if join, ok := v["Fn::Join"].([]any); ok && len(join) == 2 {
			var b strings.Builder
			for _, part := range join[1].([]any) {
				b.WriteString(render(t, part))
			}
			return b.String()
		}
	}
	t.Fatalf("cannot render %v", v)
	return ""
}
