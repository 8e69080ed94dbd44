"""The amoCRM widget's backend and the KPI dashboard: auth, signed links, view model, rendering.

Framework-free; the Flask blueprint lives in :mod:`webhooks.widget`.
"""
