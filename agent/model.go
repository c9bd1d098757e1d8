package agent

import (
	"context"
	"encoding/json"
)

// Model is a chat model that can ask for tools: the agent's view of Bedrock Converse. Converse sends
// the conversation and the tool definitions and returns the model's next message and why it stopped.
// An error means the model could not be reached or refused the request (throttling, timeout, missing
// credentials, a bad request); the agent then answers with the offline responder.
type Model interface {
	Converse(ctx context.Context, req ModelRequest) (ModelResponse, error)
}

// Role says who wrote a message.
type Role string

// The roles of a conversation.
const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
)

// StopReason says why the model ended its message. The values are Converse's.
type StopReason string

// The stop reasons Converse returns. Others may appear; the agent treats an unknown one like end_turn
// when the message has text and as a model failure when it has none.
const (
	StopEndTurn                    StopReason = "end_turn"
	StopToolUse                    StopReason = "tool_use"
	StopMaxTokens                  StopReason = "max_tokens"
	StopStopSequence               StopReason = "stop_sequence"
	StopGuardrailIntervened        StopReason = "guardrail_intervened"
	StopContentFiltered            StopReason = "content_filtered"
	StopMalformedModelOutput       StopReason = "malformed_model_output"
	StopMalformedToolUse           StopReason = "malformed_tool_use"
	StopModelContextWindowExceeded StopReason = "model_context_window_exceeded"
)

// Message is one turn of the conversation.
type Message struct {
	Role    Role
	Content []Block
}

// Block is one piece of a message: exactly one of Text, ToolUse and ToolResult is set.
type Block struct {
	Text       string
	ToolUse    *ToolUse
	ToolResult *ToolResult
}

// ToolUse is the model asking for a tool to be run.
type ToolUse struct {
	// ID ties the result to the request.
	ID string
	// Name is the tool's name.
	Name string
	// Input is the tool's arguments, a JSON object.
	Input json.RawMessage
}

// ToolResult is what a tool returned, sent back to the model.
type ToolResult struct {
	// ToolUseID is the ID of the ToolUse this answers.
	ToolUseID string
	// Text is the result, JSON data on success or a sentence saying what went wrong.
	Text string
	// IsError marks a failed tool run (Converse's status "error").
	IsError bool
}

// ToolSpec describes a tool to the model.
type ToolSpec struct {
	Name        string
	Description string
	// InputSchema is the JSON Schema of the tool's input object.
	InputSchema json.RawMessage
}

// ModelRequest is one call of the model.
type ModelRequest struct {
	// System is the system prompt.
	System string
	// Messages is the conversation so far; it starts with a user message and alternates.
	Messages []Message
	// Tools are the tools the model may ask for.
	Tools []ToolSpec
}

// ModelResponse is the model's next message.
type ModelResponse struct {
	Message    Message
	StopReason StopReason
}

// text joins the text blocks of m.
func (m Message) text() string {
	var s string
	for _, b := range m.Content {
		if b.Text == "" {
			continue
		}
		if s != "" {
			s += "\n"
		}
		s += b.Text
	}
	return s
}

// toolUses returns the tool requests of m.
func (m Message) toolUses() []ToolUse {
	var uses []ToolUse
	for _, b := range m.Content {
		if b.ToolUse != nil {
			uses = append(uses, *b.ToolUse)
		}
	}
	return uses
}
