"""Runs: the runner's orchestration, run bookkeeping (start, lease, progress, finish), claims, the census, re-reads,
retries, the run's own log, schedules, retention, re-mapping and instance deletion.
"""
