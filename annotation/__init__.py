"""Tools that propose, verify, agree on and audit Required Modality Tags (RMT labels)."""
