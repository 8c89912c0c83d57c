"""Strict, frozen configuration models, one module per command family."""
