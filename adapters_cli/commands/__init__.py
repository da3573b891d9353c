"""The ``entry-service`` commands, one module per command group (``adapters_cli.main`` assembles them)."""
