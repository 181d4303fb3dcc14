"""Benchmarks of celery-progress-tracker against celery-progress and a per-item write.

Run them with ``make bench``; ``docs/benchmarks.md`` holds the latest figures.
"""
