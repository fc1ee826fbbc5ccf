"""
The echo service (RFC 862) over TCP, TLS and UDP.

L{EchoFactory} and L{UDPEcho} are the doors; L{DatagramGuard} is the sans-IO policy that
makes the UDP side safe to expose; L{netsuite.echo.tap} builds the twistd service.
"""

from netsuite.echo._protocol import Echo, EchoFactory
from netsuite.echo._udp import DEFAULT_DENIED_PORTS, DatagramGuard, UDPEcho

__all__ = ["DEFAULT_DENIED_PORTS", "DatagramGuard", "Echo", "EchoFactory", "UDPEcho"]
