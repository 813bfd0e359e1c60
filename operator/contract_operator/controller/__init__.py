"""The running operator: kopf handlers that feed one batching reconcile loop."""
