"""Contract tests: one suite every implementation of a port must pass, fakes included."""
