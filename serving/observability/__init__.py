"""Logs (JSON lines, the request id on each) and Prometheus metrics; what feeds them per
request is serving/gateway/finish.py."""
