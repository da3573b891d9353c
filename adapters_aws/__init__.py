"""AWS adapters (Kinesis event sink, SQS retry queue) — built in the publication issue."""
