"""The camera runtime: everything one camera does on a node (ingest, analysis, the face step, snapshot
redaction, recording, live frames, metrics), built by one `CameraFactory` that `safecity run`,
`safecity serve` and `safecity worker` all use. See docs/architecture.md."""
