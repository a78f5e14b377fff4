"""Urban analytics: aggregates of the event store for the people who run the city.

DuckDB queries over the event store and over a Parquet lake partitioned by day and camera (footfall,
line counts, occupancy heatmaps, dwell times, peak hours, period-over-period), anomalies against a
median/MAD baseline, the per-site Safe Tourism dashboard and a daily report. Aggregates only: counts
below `analytics.min_count` are suppressed, and nothing per person leaves this package.

Import-light on purpose (the settings tree imports `safecity.analytics.config`, the pipeline imports
`safecity.analytics.grid`): DuckDB and pyarrow are imported by the modules that query.
"""
