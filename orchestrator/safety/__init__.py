"""The clinical safety net: red flags read from the patient's own words by rules, not models.

The rules' hot modules are imported from their compiled build when one of these very sources is
present (compiled.py: make compiled), else run as Python."""

from orchestrator.safety.compiled import package_path

__path__ = package_path(__path__)
