"""Accountability enforced in code: the audit chain, retention, authorizations (DESIGN.md)."""
