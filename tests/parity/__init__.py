"""Helpers run in a separate process by the parity tests (official processors, torchvision)."""
