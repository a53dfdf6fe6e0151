"""The LLM gateway: one OpenAI-style front for vLLM, TGI, any OpenAI-compatible server, or
an embedded llama.cpp model. See `llm_gateway.app` for the routes and the errors."""
