"""One async node per stage, each returning a partial state update."""
