"""The ledger: sources, the dbt build, proofs, period locks."""

import warnings

# pyspark (the Spark engine's extra) warns on import that it does not fully support pandas 3, and
# Great Expectations imports it whenever it is installed: every command would print the warning on
# stderr, where a user mistake must be one line.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
