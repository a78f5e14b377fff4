"""Backup and restore of one deployment: `safecity backup --out DIR`, `safecity restore DIR`."""
