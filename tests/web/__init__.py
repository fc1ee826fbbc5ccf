"""Tests of netsuite.web: the site, static files, limits, the API and metrics."""
