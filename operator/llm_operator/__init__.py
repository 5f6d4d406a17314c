"""The operator: LLMModel resources become worker Deployments, sized from their Redis queues (Kopf)."""
