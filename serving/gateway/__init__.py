"""One request's own home. entry.py meets every HTTP request: it creates the request's record
(request id, routing hints) and, at its end, hands it to finish.py (metrics, settlement, the
audit record, the access log). The generation endpoints are served there (endpoints.py: key,
body), through pipeline.py (validate → admit → send → answer), which writes the record from the
facts each step returns. apis.py describes each OpenAI API once; disconnect.py is the one
place a hang-up cancels work (499)."""
