"""Pear Care serving: an OpenAI-compatible façade over vLLM and OpenAI backends."""
