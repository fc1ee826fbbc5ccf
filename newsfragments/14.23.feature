IRC door: `WHOIS` says `671 ... :is using a secure connection` for someone connected over TLS.
