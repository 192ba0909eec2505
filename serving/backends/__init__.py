"""OpenAI-protocol backends (vLLM, OpenAI) and the alias registry that orders them."""
