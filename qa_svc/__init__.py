"""qa_svc package."""
