"""The local index: what is indexed at each path, tombstones, and why messages failed."""

from dicomidx.index.sqlite import SqliteIndex
from dicomidx.index.store import (
    ATTRIBUTES,
    Change,
    Failure,
    IndexStore,
    Instance,
    InstanceQuery,
    compare_sequencers,
)

__all__ = [
    "ATTRIBUTES",
    "Change",
    "Failure",
    "IndexStore",
    "Instance",
    "InstanceQuery",
    "SqliteIndex",
    "compare_sequencers",
]
