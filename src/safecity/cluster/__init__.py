"""Scale-out of camera workers: cameras shared by `safecity worker` processes through JetStream KV leases.

`config` (settings), `leases` (the KV buckets), `worker` (the process and its safety argument).
Nothing heavy is imported here: the worker module loads the pipeline and NATS when used.
"""
