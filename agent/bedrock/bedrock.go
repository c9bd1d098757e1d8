// Package bedrock adapts Amazon Bedrock's Converse API (aws-sdk-go-v2 bedrockruntime) to the agent's
// Model port: it translates the agent's conversation and tool definitions to Converse messages and a
// toolConfig, and Converse's answer back. It is given its client or aws.Config and the model id (which
// main reads from BEDROCK_MODEL_ID); it reads no environment itself.
package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"

	"github.com/orderflow/orderflow/agent"
	"github.com/orderflow/orderflow/services/fault"
)

// Defaults of Options.
const (
	DefaultTimeout     = 20 * time.Second
	DefaultMaxAttempts = 3
	DefaultMaxBackoff  = 2 * time.Second
	DefaultMaxTokens   = 1024
)

// Options tune the adapter. The zero value gives the defaults.
type Options struct {
	// Timeout bounds one Converse call, retries included (DefaultTimeout).
	Timeout time.Duration
	// MaxAttempts bounds the attempts of one Converse call, the first included (DefaultMaxAttempts).
	// Throttling and transient server errors are retried with jittered exponential backoff.
	MaxAttempts int
	// MaxBackoff caps the wait between attempts (DefaultMaxBackoff).
	MaxBackoff time.Duration
	// MaxTokens bounds the length of the model's answer (DefaultMaxTokens).
	MaxTokens int32
	// Temperature, when set, is sent as the inference temperature.
	Temperature *float32
}

// Model is the agent's Model backed by Bedrock Converse.
type Model struct {
	client  *bedrockruntime.Client
	modelID string
	opts    Options
	// status says whether the model takes a toolResult's status field (see takesToolResultStatus).
	status bool
}

var _ agent.Model = (*Model)(nil)

// New returns a Model calling modelID (a model id, inference profile id or ARN) through client. It
// returns an error if client is nil or modelID is empty.
func New(client *bedrockruntime.Client, modelID string, opts Options) (*Model, error) {
	if client == nil {
		return nil, errors.New("new bedrock model: client is required")
	}
	if modelID == "" {
		return nil, errors.New("new bedrock model: model id is required")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.MaxTokens <= 0 {
		opts.MaxTokens = DefaultMaxTokens
	}
	return &Model{client: client, modelID: modelID, opts: opts, status: takesToolResultStatus(modelID)}, nil
}

// takesToolResultStatus reports whether Converse accepts a toolResult's status field for the model:
// the API documents it for Amazon Nova and Anthropic Claude models only, and other models that use
// tools (Llama, Mistral, Cohere …) refuse a request that carries it with a ValidationException, which
// would send every question that ran a tool to the offline responder. An application inference
// profile's ARN does not say which model it routes to, so it gets no status either.
func takesToolResultStatus(modelID string) bool {
	id := strings.ToLower(modelID)
	return strings.Contains(id, "amazon.nova") || strings.Contains(id, "anthropic.claude")
}

// NewFromConfig returns a Model with a bedrockruntime client made from cfg; optFns adjust the client
// (for example its BaseEndpoint). See New for the errors.
func NewFromConfig(cfg aws.Config, modelID string, opts Options, optFns ...func(*bedrockruntime.Options)) (*Model, error) {
	return New(bedrockruntime.NewFromConfig(cfg, optFns...), modelID, opts)
}

// Converse sends the conversation and the tools to the model and returns its next message. Errors are
// classified: throttling and quota errors are fault.RateLimited, missing or refused credentials
// fault.Unauthorized, a request the service refuses fault.Invalid, and timeouts and server errors
// fault.Unavailable.
func (m *Model) Converse(ctx context.Context, req agent.ModelRequest) (agent.ModelResponse, error) {
	in, err := m.input(req)
	if err != nil {
		return agent.ModelResponse{}, fmt.Errorf("converse with model %s: %w", m.modelID, err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	out, err := m.client.Converse(ctx, in, func(o *bedrockruntime.Options) {
		o.Retryer = retry.AddWithMaxBackoffDelay(retry.AddWithMaxAttempts(o.Retryer, m.opts.MaxAttempts), m.opts.MaxBackoff)
	})
	if err != nil {
		return agent.ModelResponse{}, classify(fmt.Errorf("converse with model %s: %w", m.modelID, err))
	}
	resp, err := response(out)
	if err != nil {
		return agent.ModelResponse{}, fmt.Errorf("converse with model %s: %w", m.modelID, err)
	}
	return resp, nil
}

// input builds the Converse request.
func (m *Model) input(req agent.ModelRequest) (*bedrockruntime.ConverseInput, error) {
	in := &bedrockruntime.ConverseInput{
		ModelId:         aws.String(m.modelID),
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(m.opts.MaxTokens), Temperature: m.opts.Temperature},
	}
	if req.System != "" {
		in.System = []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: req.System}}
	}
	for i, msg := range req.Messages {
		tm, err := message(msg, m.status)
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		in.Messages = append(in.Messages, tm)
	}
	if len(req.Tools) > 0 {
		cfg := &types.ToolConfiguration{}
		for _, t := range req.Tools {
			schema, err := jsonValue(t.InputSchema)
			if err != nil {
				return nil, fmt.Errorf("input schema of tool %s: %w", t.Name, err)
			}
			cfg.Tools = append(cfg.Tools, &types.ToolMemberToolSpec{Value: types.ToolSpecification{
				Name:        aws.String(t.Name),
				Description: aws.String(t.Description),
				InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(schema)},
			}})
		}
		in.ToolConfig = cfg
	}
	return in, nil
}

// message translates one message. withStatus says whether a tool result may carry its status; without
// it, a failed tool's result says so in its text.
func message(msg agent.Message, withStatus bool) (types.Message, error) {
	tm := types.Message{Role: types.ConversationRole(msg.Role)}
	for _, b := range msg.Content {
		switch {
		case b.ToolUse != nil:
			input, err := jsonValue(b.ToolUse.Input)
			if err != nil {
				return tm, fmt.Errorf("input of tool use %s: %w", b.ToolUse.ID, err)
			}
			if input == nil {
				input = map[string]any{}
			}
			tm.Content = append(tm.Content, &types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{
				ToolUseId: aws.String(b.ToolUse.ID), Name: aws.String(b.ToolUse.Name), Input: document.NewLazyDocument(input),
			}})
		case b.ToolResult != nil:
			text := b.ToolResult.Text
			if strings.TrimSpace(text) == "" {
				text = "(no result)" // Converse refuses empty text blocks
			}
			var status types.ToolResultStatus
			switch {
			case !withStatus && b.ToolResult.IsError:
				text = "Error: " + text
			case b.ToolResult.IsError:
				status = types.ToolResultStatusError
			case withStatus:
				status = types.ToolResultStatusSuccess
			}
			tm.Content = append(tm.Content, &types.ContentBlockMemberToolResult{Value: types.ToolResultBlock{
				ToolUseId: aws.String(b.ToolResult.ToolUseID),
				Content:   []types.ToolResultContentBlock{&types.ToolResultContentBlockMemberText{Value: text}},
				Status:    status,
			}})
		case strings.TrimSpace(b.Text) != "":
			// Converse refuses a blank text block, and models often put one ("\n\n") before a tool use:
			// sent back as it came, it would fail the next round.
			tm.Content = append(tm.Content, &types.ContentBlockMemberText{Value: b.Text})
		}
	}
	return tm, nil
}

// jsonValue decodes JSON into the plain maps, slices and float64s that document.NewLazyDocument
// encodes faithfully: the document encoder ignores json tags and would write a json.RawMessage as a blob.
func jsonValue(raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	return v, nil
}

// response translates Converse's answer.
func response(out *bedrockruntime.ConverseOutput) (agent.ModelResponse, error) {
	resp := agent.ModelResponse{StopReason: agent.StopReason(out.StopReason), Message: agent.Message{Role: agent.RoleAssistant}}
	msg, ok := out.Output.(*types.ConverseOutputMemberMessage)
	if !ok {
		// No message (an output type newer than this code): the agent sees an empty turn.
		return resp, nil
	}
	if msg.Value.Role != "" {
		resp.Message.Role = agent.Role(msg.Value.Role)
	}
	for _, c := range msg.Value.Content {
		switch b := c.(type) {
		case *types.ContentBlockMemberText:
			resp.Message.Content = append(resp.Message.Content, agent.Block{Text: b.Value})
		case *types.ContentBlockMemberToolUse:
			input := json.RawMessage("{}")
			if b.Value.Input != nil {
				raw, err := b.Value.Input.MarshalSmithyDocument()
				if err != nil {
					return resp, fmt.Errorf("read input of tool use %s: %w", aws.ToString(b.Value.ToolUseId), err)
				}
				if len(raw) > 0 && string(raw) != "null" {
					input = raw
				}
			}
			resp.Message.Content = append(resp.Message.Content, agent.Block{ToolUse: &agent.ToolUse{
				ID: aws.ToString(b.Value.ToolUseId), Name: aws.ToString(b.Value.Name), Input: input,
			}})
		}
		// Other blocks (reasoning, images, citations) carry nothing the agent uses.
	}
	return resp, nil
}

// classify gives a Converse error its fault kind, keeping it in the chain.
func classify(err error) error {
	kind := fault.Unavailable
	var ae smithy.APIError
	switch {
	case errors.As(err, &ae):
		switch ae.ErrorCode() {
		case "ThrottlingException", "ServiceQuotaExceededException":
			kind = fault.RateLimited
		case "AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException":
			kind = fault.Unauthorized
		case "ValidationException":
			kind = fault.Invalid
		case "ResourceNotFoundException":
			kind = fault.Internal // a wrong model id is a configuration bug
		}
	case errors.Is(err, context.Canceled):
		kind = fault.Internal
	}
	return fault.Wrap(kind, err, "model call failed")
}
