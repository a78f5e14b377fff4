"""Federated sites: cities publish allow-listed, redacted summaries to a national (or regional) site
over NATS leaf nodes and JetStream stream sourcing; see docs/federation.md."""
