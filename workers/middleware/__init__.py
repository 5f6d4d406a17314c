"""The worker's Dramatiq middleware, one per module, in the order workers/worker.py adds them:

- Prometheus (Dramatiq's own): the queue's metrics on the worker's /metrics port;
- exhausted_tasks.FailExhaustedTasks (before Retries): a task whose message ran out of retries fails;
- queue_polling.QueuePolling: how often an idle worker polls its queue;
- ready_file.ReadyFile: a file written once the worker consumes (the pod's readiness probe);
- heartbeats.Heartbeats: this worker's models and capacity, published for /health and the operator;
- offline_lane.OfflineLane: Batch API lines from the offline queues, in the room interactive work leaves.
"""
