"""Shared core of edge-bridge: settings, JSON output, metrics, guards, health and the runner."""
