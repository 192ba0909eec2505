"""Development stack: the real vLLM CPU server and the façade, on embedded defaults."""
