"""Test helpers shared by every suite: real processes (stack), keys, SSE and log parsing."""
