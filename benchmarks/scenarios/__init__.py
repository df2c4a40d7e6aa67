"""One module per scenario of issue 8; each exposes `run(ctx) -> results.Scenario`."""
