"""The anomaly watch: close metrics per day, entity and currency, judged against their usual range (docs/anomalies.md)."""
