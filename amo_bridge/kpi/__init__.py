"""KPIs and funnel analytics from amo-bridge's own event history.

Pure cores: :mod:`.mapping` (amoCRM events and parsed webhooks -> history rows), :mod:`.periods`,
:mod:`.arithmetic`, :mod:`.activities` (configuration). SQL edges: :mod:`.history` (insert with
dedupe), :mod:`.queries` (aggregation), :mod:`.report`. amoCRM is reached only through the
``Protocol`` s of :mod:`.ports`; :mod:`.events_sync` and :mod:`.kpi_sync` hold the job logic.
"""
