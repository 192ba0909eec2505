"""Load tests, the upstream simulator and the overhead benchmark."""
