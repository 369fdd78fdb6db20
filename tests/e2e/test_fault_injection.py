"""Kill -9 mid-close, then a plain `stripe-close run`: the same books as a close never interrupted.

One of the sweep's points: a real `stripe-close run` process killed with SIGKILL at a random pass
(seeded) while dbt builds the ledger (its dbt child must die with it). A kill while an export file
is written is tested on its own in tests/exporters/test_journal.py; `stripe-close chaos` runs the
whole sweep over every point (`make bench`).
"""

import random
from collections import Counter

import pytest

from orchestration.chaos import choose_faults, default_world, run_chaos

pytestmark = pytest.mark.e2e


def test_a_close_killed_in_dbt_resumes_to_the_same_books(tmp_path):
    report = run_chaos(default_world(), points=1, workdir=tmp_path / "chaos", seed=3, only=("dbt.event",))
    assert report.passes["dbt.event"] > 50 and report.passes["export.write"] > 5, report.passes
    assert [fault.failpoint.split(":")[0] for fault in report.faults] == ["dbt.event"]
    for fault in report.faults:
        assert fault.killed, f"{fault.failpoint} was not reached"
        assert fault.survivors == (), f"{fault.failpoint}: processes of the killed close outlived it: {fault.survivors}"
        assert not fault.waited, f"{fault.failpoint}: the resume waited for the dead run"
        assert fault.resume_exit == 0
        assert fault.differences == (), f"{fault.failpoint}: " + "; ".join(fault.differences)
    summary = report.summary()
    assert (summary["points_tried"], summary["differed"], summary["hangs"]) == (1, 0, 0)


def test_a_sweep_takes_each_point_in_turn_and_never_the_same_pass_twice():
    passes = Counter({"warehouse.commit": 18, "dbt.event": 160, "gx.suite": 7, "export.write": 14, "package.html": 1, "push.netsuite": 31, "push.sap": 1})
    chosen = choose_faults(passes, 12, random.Random(1))
    assert len(chosen) == len(set(chosen)) == 12
    names = [point.split(":")[0] for point in chosen]
    assert names[:7] == ["warehouse.commit", "dbt.event", "export.write", "gx.suite", "push.netsuite", "package.html", "push.sap"]
    assert names.count("package.html") == names.count("push.sap") == 1  # passed once each: used once
    assert all(1 <= int(point.split(":")[1]) <= passes[point.split(":")[0]] for point in chosen)
    assert choose_faults(Counter({"package.html": 1}), 3, random.Random(3)) == ["package.html:1"]
