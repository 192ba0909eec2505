"""The consultation (orchestrator/ graph) as the façade serves it: runs, results, chat adapter."""
