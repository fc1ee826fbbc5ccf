"""
Limits and rate policies: the connection gate (total and per-peer caps), token buckets
and per-source budgets (L{netsuite.limits._policy}), and the bounded session table that
DTLS and UDP guards key by peer (L{netsuite.limits._session_table}).
"""

from netsuite.limits._policy import ConnectionGate, SourceBuckets, SourceEntry, TokenBucket
from netsuite.limits._session_table import SessionTable

__all__ = ["ConnectionGate", "SessionTable", "SourceBuckets", "SourceEntry", "TokenBucket"]
