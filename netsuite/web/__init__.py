"""
The web service: static files, the JSON API, C{/metrics}, over HTTP/1.1 and HTTP/2.

L{build_site} makes the whole site (a Twisted C{Site}) from a L{WebConfig}; the suite
passes it the chat L{Hub<netsuite.chat._hub.Hub>} and a L{StatsRegistry} holding every
service's counters. L{StaticFiles} and the sans-IO rules in L{netsuite.web._conditions}
can be used on their own. L{netsuite.web.tap} builds C{twistd netsuite-web}.
"""

from netsuite.web._config import WebConfig, WebLimits
from netsuite.web._site import CorsPolicy, WebRoot, WebSite, build_site
from netsuite.web._static import StaticFiles
from netsuite.web._stats import ServiceStats, StatsRegistry

__all__ = [
    "CorsPolicy",
    "ServiceStats",
    "StaticFiles",
    "StatsRegistry",
    "WebConfig",
    "WebLimits",
    "WebRoot",
    "WebSite",
    "build_site",
]
