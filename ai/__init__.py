"""AI chat provider adapters (OpenAI, Gemini, OpenAI-compatible): arrive with the assistant issue."""
