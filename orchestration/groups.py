"""The asset groups, numbered so that Dagster, which lists groups by name, shows them in the order the
close flows and the lineage reads left to right: sources and configuration, staging, the ledger,
the bank reconciliation, the exports, the close package and the period status, and the anomaly watch
that reads the close."""

SOURCES = "1_sources"
ACCOUNTING_CONFIG = "1_accounting_config"
STAGING = "2_staging"
LEDGER = "3_ledger"
RECONCILIATION = "4_reconciliation"
EXPORTS = "5_exports"
CLOSE_PACKAGE = "6_close_package"
ANOMALIES = "7_anomalies"
