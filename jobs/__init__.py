"""Scheduled jobs and their runner (an edge over amo_bridge)."""
