"""The evidence store: append-only, hash-chained batches (see docs/store.md)."""

from menshen.store.store import Snapshot, StagedBatch, Store, StoreBusy, Writer

__all__ = ["Snapshot", "StagedBatch", "Store", "StoreBusy", "Writer"]
