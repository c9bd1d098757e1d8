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

// TestAnApplicationInferenceProfileMayReachItsModel checks that a chatbot configured with an application
// inference profile's ARN may invoke the profile and, through that profile only, the foundation model
// behind it, which Bedrock authorizes as well and which the ARN does not name.
func TestAnApplicationInferenceProfileMayReachItsModel(t *testing.T) {
	const profile = "arn:aws:bedrock:eu-west-1:111122223333:application-inference-profile/a1b2c3d4e5f6"
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	st := awscdk.NewStack(app, jsii.String("Profiles"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("111122223333"), Region: jsii.String("eu-west-1")},
	})
	o := &Orderflow{Stack: st, Settings: Settings{BedrockModelID: profile}}
	if got := st.Resolve(o.modelARNs()); !cmp.Equal(got, []any{profile}) {
		t.Errorf("profile resources = %v, want [%s]", got, profile)
	}
	stmt := o.applicationProfileModels()
	if stmt == nil {
		t.Fatal("no statement for the model behind the application inference profile")
	}
	raw, err := json.Marshal(st.Resolve(stmt.ToStatementJson()))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Action    string
		Resource  any
		Condition map[string]json.RawMessage
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("statement %s: %v", raw, err)
	}
	if got.Action != "bedrock:InvokeModel" || render(t, got.Resource) != "arn:aws:bedrock:*::foundation-model/*" {
		t.Errorf("statement %s, want bedrock:InvokeModel on every foundation model", raw)
	}
	// Resolve outside a template keeps jsii's map marker; the condition is checked by its key and value.
	if !strings.Contains(string(got.Condition["StringEquals"]), `"bedrock:InferenceProfileArn":"`+profile+`"`) {
		t.Errorf("statement %s, want the model allowed only through %s", raw, profile)
	}

	for _, id := range []string{"amazon.nova-lite-v1:0", "eu.amazon.nova-lite-v1:0", "arn:aws:bedrock:eu-west-1:111122223333:inference-profile/eu.amazon.nova-lite-v1:0"} {
		if (&Orderflow{Stack: st, Settings: Settings{BedrockModelID: id}}).applicationProfileModels() != nil {
			t.Errorf("%s: a statement for an application inference profile, want none", id)
		}
	}
}
