"""One request's own home: the middleware creates its record (request id, routing hints);
for generation, pipeline.py takes it from the parsed body through admission, the proxy (data
policy, fallback) and the answer, writing the record from the facts each step returns; at its
end finish.py does metrics, settlement, the audit record and the access log. apis.py describes
each OpenAI API once; disconnect.py is the one place a hang-up cancels work (499)."""
