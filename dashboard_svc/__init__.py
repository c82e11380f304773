"""dashboard_svc package."""
