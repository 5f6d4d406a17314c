"""What the test tiers share: `stack` starts the real parts (redis-server on a free port, Dramatiq workers,
the api under Gunicorn) and stops them by process id; `backends` loads the real transformers backend on the
tiny model; `sentinel` and `failover` a Sentinel cluster of real processes and the failover scenario;
`streams` thousands of SSE clients; `batches` Batch API helpers; `ollama_stub` and `webhook_receiver`
stand-ins for servers that cannot run here. Helpers that only one tier uses (the Kubernetes test bed in
tests/k8s, the one-node cluster in tests/cluster) stay in that tier's folder, beside its tests."""
