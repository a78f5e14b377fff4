"""Vehicle plates on a node: reads stored for search (short-lived), `plate_read` events (without the
text), plates blurred in snapshots. See docs/plates.md."""
