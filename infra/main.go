// Command infra synthesizes orderflow's CDK stack. Run it with `make synth` (or `go run .` here); the CDK
// CLI runs it too (cdk.json). Settings are CDK context: see the README's "Deploy to AWS".
package main

import (
	"fmt"
	"os"

	"github.com/aws/jsii-runtime-go"

	"github.com/orderflow/orderflow/infra/stack"
)

func main() {
	defer jsii.Close()
	app := stack.NewApp(nil, nil)
	if _, err := stack.New(app); err != nil {
		fmt.Fprintln(os.Stderr, "orderflow infra:", err)
		os.Exit(1)
	}
	asm := app.Synth(nil)
	// cdk-nag findings and other errors are annotations: the CLI refuses to deploy with them, and so does
	// this command, so that `make synth` fails exactly when `cdk deploy` would.
	failed := false
	for _, st := range *asm.Stacks() {
		for _, m := range *st.Messages() {
			level := string(m.Level)
			if level == "error" || level == "warning" {
				fmt.Fprintf(os.Stderr, "%s %s: %v\n", level, *m.Id, m.Entry.Data)
				failed = failed || level == "error"
			}
		}
		fmt.Printf("wrote %s/%s\n", *asm.Directory(), *st.TemplateFile())
	}
	if failed {
		os.Exit(1)
	}
}
