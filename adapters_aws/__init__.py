"""AWS adapters (Kinesis event sink, SQS retry queue) — built in the publication issue."""

from adapters_aws.kinesis import KinesisEventSink
from adapters_aws.sqs import SqsRetryQueue

__all__ = ["KinesisEventSink", "SqsRetryQueue"]
