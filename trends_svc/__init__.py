"""trends_svc package."""
