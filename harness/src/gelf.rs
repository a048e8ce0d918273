//! GELF (Graylog Extended Log Format) records as the harness sends them to LB:12201/udp.
