"""`stripe-close bench parse`: statement parsing speed and memory per format, at 5 MB and 50 MB.

Writes synthetic camt.053, MT940 and BAI2 files of each size (sandbox.bank_bench_files: one
account, a statement per day of 2,000 entries, every control figure adding up), then parses each
in a fresh Python process through the public `parse_statement_file`, so that each figure is one
parse alone: the child reports its own wall and CPU time around the parse and its peak resident
memory, the interpreter and imports included (about 25 MiB). The peak is the kernel's VmHWM of
the child's own address space: `getrusage(RUSAGE_SELF).ru_maxrss` is no good here, because Linux
carries the parent's peak across fork and exec, and the parent (the CLI) is larger than a parse. The table
shows format, size, entries, wall, CPU, peak MiB and entries per second; the last line printed
is one JSON object, with each format's 50-to-5 MB time ratio (10 is linear).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from sandbox.bank_bench_files import BenchFormat, write_bench_file

_SUFFIXES: dict[BenchFormat, str] = {"camt.053": "xml", "mt940": "sta", "bai2": "bai2"}
_MIB = 1024 * 1024


def run_parse_benchmark(sizes_mb: list[int], formats: list[BenchFormat], workdir: Path) -> int:
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"{'format':<9} {'size MB':>8} {'entries':>9} {'wall s':>8} {'CPU s':>8} {'peak MiB':>9} {'entries/s':>10}", flush=True)
    results = []
    for format in formats:
        for size_mb in sizes_mb:
            path = workdir / f"{format}-{size_mb}mb.{_SUFFIXES[format]}"
            written = write_bench_file(format, path, size_mb * 1_000_000)
            figures = _parse_in_child(path)
            if figures["entries"] != written:
                print(f"error: {path.name}: parsed {figures['entries']} entries, wrote {written}", file=sys.stderr)
                return 1
            figures |= {"format": format, "size_mb": round(path.stat().st_size / 1_000_000, 1)}
            figures["entries_per_s"] = round(figures["entries"] / figures["wall_s"])
            results.append(figures)
            print(
                f"{format:<9} {figures['size_mb']:>8.1f} {figures['entries']:>9,} {figures['wall_s']:>8.2f}"
                f" {figures['cpu_s']:>8.2f} {figures['peak_mib']:>9.0f} {figures['entries_per_s']:>10,}",
                flush=True,
            )
    print(json.dumps({"parse": results, "time_ratio_largest_to_smallest": _ratios(results)}, sort_keys=True))
    return 0


def _parse_in_child(path: Path) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "orchestration.bench_parse", str(path)], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"parsing {path.name} failed:\n{completed.stdout}{completed.stderr}")
    return json.loads(completed.stdout.splitlines()[-1])


def _ratios(results: list[dict]) -> dict[str, dict[str, float]]:
    """Per format, largest over smallest file: wall and CPU time per entry ratio times the entry ratio."""
    ratios = {}
    for format in {result["format"] for result in results}:
        mine = sorted((r for r in results if r["format"] == format), key=lambda r: r["entries"])
        if len(mine) > 1:
            small, large = mine[0], mine[-1]
            ratios[format] = {
                "entries": round(large["entries"] / small["entries"], 2),
                "wall": round(large["wall_s"] / small["wall_s"], 2),
                "cpu": round(large["cpu_s"] / small["cpu_s"], 2),
            }
    return ratios


def _parse_one(path: Path) -> dict:
    """In the child: parse `path` once; its own wall and CPU time, and its peak RSS."""
    from ledger.sources.bank.parse import parse_statement_file

    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    parsed = parse_statement_file(path)
    wall_s = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "entries": len(parsed.entries),
        "wall_s": round(wall_s, 2),
        "cpu_s": round(cpu_s, 2),
        "peak_mib": round(_peak_rss_bytes() / _MIB, 1),
    }


def _peak_rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024  # in kB
    raise RuntimeError("no VmHWM in /proc/self/status: the peak memory figure needs Linux")


if __name__ == "__main__":
    print(json.dumps(_parse_one(Path(sys.argv[1]))))
