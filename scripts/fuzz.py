"""The long fuzz run: hostile specs against the front end, the analysis and the CLI.

    .venv/bin/python scripts/fuzz.py                 # 10,000+ inputs, a few minutes
    .venv/bin/python scripts/fuzz.py -n 40000 --seed 7
    .venv/bin/python scripts/fuzz.py --save failures/ # write each failing input to a file

Inputs come from the Hypothesis strategies in tests/fuzz/strategies.py: derivations of
the grammar, structured specs with hostile leaves, mutations of the bundled specs, bytes,
hostile numbers (overflow, underflow, 4,400-digit exponents, float32's limits), bundled
specs with names renamed, resource shapes (huge steps, sizes, block counts, names; judged
with the compile budgets) and abused `train` options (through the command, the training
itself replaced by an exit). Each one must end in a report or a located error (pde2net.lang.errors.SpecError)
within 2 s (tests/fuzz/harness.py is the oracle). Some accepted specs are also compiled
and run, and some inputs go through the `pde2net check` command in a subprocess, which
must exit 0, 1 or 2 without a traceback (70, an internal error, is a failure).

Exit status: 0 when no input failed, 1 otherwise. tests/fuzz/test_fuzz.py runs a small
fixed-seed subset of the same strategies on every test run.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.fuzz import harness, strategies  # noqa: E402

SOURCES = {
    "grammar": strategies.derivations(),
    "structured": strategies.structured_specs(),
    "mutated": strategies.mutated_specs(),
    "bytes": strategies.byte_inputs(),
    "numbers": strategies.hostile_number_specs(),
    "renamed": strategies.renamed_specs(),
    "resources": strategies.resource_specs(),
    "train": strategies.train_options(),
}
# How each source's inputs are judged (default: harness.check, or check_bytes for bytes):
# resource shapes as compile sees them (budgets before the analysis), train options
# through the command with the training replaced by an exit.
# Hostile numbers meet float32 and torch only when compiled: compile them five times as often.
COMPILE_MORE = {"numbers": 5}
JUDGES = {
    "resources": lambda text: harness.check(text, budget=True),
    "train": harness.train_cli,
}


class Campaign:
    """Counts, failures and the slowest inputs of one run."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.counts: dict[str, collections.Counter] = {}
        self.failures: list[tuple[str, bytes, str]] = []
        self.slowest: list[tuple[float, str, bytes]] = []
        self.index = 0

    def one(self, name: str, value: str | bytes) -> None:
        """Judge one input (and compile it, or run it through the CLI, now and then)."""
        args, counter = self.args, self.counts.setdefault(name, collections.Counter())
        self.index += 1
        if isinstance(value, list):  # train options
            raw = "\0".join(value).encode("utf-8", "surrogatepass")
        else:
            raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
        if name in JUDGES:
            outcome = JUDGES[name](value)
        else:
            outcome = (
                harness.check_bytes(value) if isinstance(value, bytes) else harness.check(value)
            )
        counter[outcome.kind] += 1
        self.slowest = sorted([*self.slowest, (outcome.seconds, name, raw)], reverse=True)[:5]
        if outcome.kind == "bug":
            self.failures.append((name, raw, outcome.detail))
        elif (
            outcome.kind == "ok"
            and name not in JUDGES
            and args.compile_every
            and counter["ok"] % max(1, args.compile_every // COMPILE_MORE.get(name, 1)) == 1
        ):
            text = value if isinstance(value, str) else raw.decode("utf-8-sig")
            built = harness.compile_and_run(text)
            counter["compiled"] += built.kind == "ok"
            if built.kind == "bug":
                self.failures.append((name + " (compile)", raw, built.detail))
        if args.cli_every and self.index % args.cli_every == 0 and name not in JUDGES:
            cli = harness.run_cli(raw)
            counter["cli"] += 1
            if cli.kind == "bug":
                self.failures.append((name + " (cli)", raw, cli.detail))

    def run(self, name: str, strategy: st.SearchStrategy, examples: int, at: int) -> None:
        @seed(at)
        @settings(
            max_examples=examples,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(st.data())
        def draw_and_judge(data: st.DataObject) -> None:
            self.one(name, data.draw(strategy))

        draw_and_judge()
        counter = self.counts.setdefault(name, collections.Counter())
        print(
            f"{name:>10}: {sum(counter[k] for k in ('ok', 'error', 'bug'))} inputs, "
            f"{counter['ok']} accepted ({counter['compiled']} compiled and run), "
            f"{counter['error']} located errors, {counter['bug']} failures; "
            f"{counter['cli']} through the CLI",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--inputs", type=int, default=10_400, help="inputs in all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compile-every", type=int, default=25, help="compile every k-th success")
    parser.add_argument(
        "--cli-every", type=int, default=400, help="run the CLI on every k-th input"
    )
    parser.add_argument("--save", type=Path, help="directory for failing inputs")
    args = parser.parse_args()

    harness.check("network warm { input vector(1)\n output identity }")  # build the parser
    campaign = Campaign(args)
    started = time.perf_counter()
    per_source = -(-args.inputs // len(SOURCES))
    for i, (name, strategy) in enumerate(SOURCES.items()):
        campaign.run(name, strategy, per_source, args.seed * 1000 + i)

    elapsed = time.perf_counter() - started
    total = sum(sum(c[k] for k in ("ok", "error", "bug")) for c in campaign.counts.values())
    failures = campaign.failures
    print(
        f"{total} inputs in {elapsed:.0f} s ({elapsed / max(total, 1) * 1000:.1f} ms each); "
        f"{len(failures)} failures"
    )
    print("slowest: " + ", ".join(f"{s:.2f} s ({n})" for s, n, _ in campaign.slowest))
    for name, raw, detail in failures[:50]:
        print(f"--- {name}: {detail}\n{raw[:400]!r}")
    if args.save and failures:
        args.save.mkdir(parents=True, exist_ok=True)
        for name, raw, detail in failures:
            digest = hashlib.sha256(raw).hexdigest()[:12]
            (args.save / f"{name.split()[0]}-{digest}.pde").write_bytes(raw)
            (args.save / f"{name.split()[0]}-{digest}.txt").write_text(detail + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
