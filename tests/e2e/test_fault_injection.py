"""Kill -9 mid-close, then a plain `stripe-close run`: the same books as a close never interrupted.

Two of the sweep's points, each a real `stripe-close run` process killed with SIGKILL at a random
pass (seeded): one while dbt builds the ledger (its dbt child must die with it), one while an
export file is written (its temporary file must not survive the resume). `stripe-close chaos`
runs the whole sweep (`make bench`).
"""

import pytest

from orchestration.chaos import default_world, run_chaos

pytestmark = pytest.mark.e2e


def test_a_close_killed_in_dbt_or_in_an_export_resumes_to_the_same_books(tmp_path):
    report = run_chaos(default_world(), points=2, workdir=tmp_path / "chaos", seed=3, only=("dbt.event", "export.write"))
    assert report.passes["dbt.event"] > 50 and report.passes["export.write"] > 5, report.passes
    assert [fault.failpoint.split(":")[0] for fault in report.faults] == ["dbt.event", "export.write"]
    for fault in report.faults:
        assert fault.killed, f"{fault.failpoint} was not reached"
        assert fault.survivors == (), f"{fault.failpoint}: processes of the killed close outlived it: {fault.survivors}"
        assert not fault.waited, f"{fault.failpoint}: the resume waited for the dead run"
        assert fault.resume_exit == 0
        assert fault.differences == (), f"{fault.failpoint}: " + "; ".join(fault.differences)
    summary = report.summary()
    assert (summary["points_tried"], summary["differed"], summary["hangs"]) == (2, 0, 0)
