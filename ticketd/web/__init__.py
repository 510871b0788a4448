"""The HTTP side: one twisted.web Site with /health, /ws and the dashboard."""
