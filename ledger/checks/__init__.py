"""Great Expectations suites over the built ledger: the proofs, validated a second, independent way."""

import os

# GX reads this when it is first imported: no usage statistics, and no network for them.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
