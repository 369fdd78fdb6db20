"""Great Expectations suites over the built ledger: the proofs, validated a second, independent way."""
