"""Access log, Prometheus metrics and the per-request middleware that feeds both."""
