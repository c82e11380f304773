"""persistence_svc package."""
