"""Webhooks out: amoCRM's v2 form payloads and their delivery with retries."""
