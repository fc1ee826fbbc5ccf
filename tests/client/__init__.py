"""Tests of netsuite.client: the C{netsuite} console script and its sub-commands."""
