"""The clinical safety net: red flags read from the patient's own words by rules, not models."""
