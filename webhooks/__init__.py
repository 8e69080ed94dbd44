"""Webhook receiver: Flask app, routes and handler registry (an edge over amo_bridge)."""
