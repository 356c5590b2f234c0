"""NTP proxy: serves routers the time of the Amazon Time Sync Service, or relays to it."""
