"""The clinical path: intake screening, clearance, outcome scores, flags and crisis answers (never imports booking)."""
