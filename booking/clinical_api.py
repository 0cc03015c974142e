"""JSON API v1 for the clinical path: intake, clearance, outcome scores (routes on clinic.api's blueprint)."""
