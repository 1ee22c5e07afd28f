#!/usr/bin/env bash
# Times pabutools 1.2.3 and veche-tally (release build of the example
# `count`, crates/tally/examples/count.rs: the same code as `veche-verify
# pb`, without the rest of the workspace) on the same Pabulib files and
# rules in the same run, checks that both give the same winners, and prints
# the speed ratios. See specs/pb.md §"Benchmarks".
#
#   scripts/pabutools-bench.sh                 # the default cases below
#   scripts/pabutools-bench.sh FILE:RULE ...   # chosen cases
#
# RULE is greedy | equal-shares | equal-shares+add1 | equal-shares+add1+greedy.
# FILE is a name in $PABULIB_DIR (default ../shared/pabulib next to the
# repository) or a path. Environment: PABUTOOLS_VENV (default
# target/pabutools-venv), PABULIB_DIR, REPEAT (veche runs per case: whole
# processes, the median is kept, and in-process runs of the rule alone, the
# best is kept; default 5), CARGO_TARGET_DIR. Exits 1 if any winners differ.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${PABUTOOLS_VENV:-$ROOT/target/pabutools-venv}"
PABULIB_DIR="${PABULIB_DIR:-$ROOT/../shared/pabulib}"
REPEAT="${REPEAT:-5}"

if [ "$#" -gt 0 ]; then
  CASES=("$@")
else
  CASES=(
    Poland_Lodz_2022.pb:greedy
    Poland_Lodz_2022.pb:equal-shares
    Poland_Wroclaw_2018.pb:greedy
    Poland_Wroclaw_2018.pb:equal-shares
    Netherlands_Assen_2024.pb:equal-shares+add1
    Netherlands_Assen_2024.pb:equal-shares+add1+greedy
    Poland_Lodz_2020_Wzniesien_Lodzkich.pb:equal-shares+add1
    Switzerland_Zurich_S5.pb:equal-shares+add1
    Switzerland_Zurich_S5.pb:equal-shares+add1+greedy
    Poland_Swiecie_2023.pb:equal-shares+add1
    Netherlands_Amsterdam_324.pb:equal-shares+add1
  )
fi

if ! "$VENV/bin/python" -c 'import pabutools, importlib.metadata as m; assert m.version("pabutools") == "1.2.3"' 2>/dev/null; then
  echo "creating $VENV with pabutools 1.2.3 ..." >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check pabutools==1.2.3
fi

echo "building veche-tally's example count (release) ..." >&2
cargo build --quiet --release -p veche-tally --example count
VECHE="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/count"

"$VENV/bin/python" - "$PABULIB_DIR" "$VECHE" "$REPEAT" "${CASES[@]}" <<'PY'
import json, os, platform, statistics, subprocess, sys, time

from pabutools.election import Cost_Sat, parse_pabulib
from pabutools.rules import (completion_by_rule_combination,
                             greedy_utilitarian_welfare,
                             method_of_equal_shares)

pabulib_dir, veche, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
cases = [c.rsplit(":", 1) for c in sys.argv[4:]]


def pabutools_rule(rule, instance, profile):
    if rule == "greedy":
        return greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)
    if rule == "equal-shares":
        return method_of_equal_shares(instance, profile, sat_class=Cost_Sat)
    if rule == "equal-shares+add1":
        return method_of_equal_shares(instance, profile, sat_class=Cost_Sat,
                                      voter_budget_increment=1)
    if rule == "equal-shares+add1+greedy":
        return completion_by_rule_combination(
            instance, profile,
            [method_of_equal_shares, greedy_utilitarian_welfare],
            [{"sat_class": Cost_Sat, "voter_budget_increment": 1},
             {"sat_class": Cost_Sat}])
    raise SystemExit(f"unknown rule {rule}")


def run_veche(path, rule, repeat):
    res = subprocess.run([veche, path, rule, str(repeat), "--json"],
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"veche failed on {path} {rule}: {res.stdout}{res.stderr}")
    return json.loads(res.stdout)


print(f"machine: {platform.machine()}, {os.cpu_count()} cores; python {platform.python_version()}; "
      f"load average {os.getloadavg()[0]:.1f}")
print(f"{'file':<36} {'rule':<24} {'pabutools':>9} {'pabutools':>9} {'veche':>9} {'veche':>9} "
      f"{'ratio':>6} {'ratio':>6} winners")
print(f"{'':<36} {'':<24} {'parse':>9} {'rule':>9} {'process':>9} {'rule':>9} "
      f"{'all':>6} {'rule':>6}")
parsed = {}
mismatches = 0
for name, rule in cases:
    path = name if os.path.exists(name) else os.path.join(pabulib_dir, name)
    if path not in parsed:
        t0 = time.perf_counter()
        inst, prof = parse_pabulib(path)
        parsed[path] = (inst, prof, time.perf_counter() - t0)
    inst, prof, t_parse = parsed[path]
    t0 = time.perf_counter()
    out = pabutools_rule(rule, inst, prof)
    t_rule = time.perf_counter() - t0
    want = sorted(p.name for p in out)
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        got = run_veche(path, rule, 1)["winner_ids"]
        runs.append(time.perf_counter() - t0)
    t_process = statistics.median(runs)
    t_veche_rule = run_veche(path, rule, repeat)["rule_seconds"]
    same = got == want
    mismatches += not same
    ms = lambda s: f"{s * 1000:.1f}ms" if s < 1 else f"{s:.2f}s"
    print(f"{os.path.basename(path)[:36]:<36} {rule:<24} {ms(t_parse):>9} {ms(t_rule):>9} "
          f"{ms(t_process):>9} {ms(t_veche_rule):>9} {(t_parse + t_rule) / t_process:>5.0f}x "
          f"{t_rule / t_veche_rule:>5.0f}x {'identical' if same else 'DIFFERENT'} ({len(want)})",
          flush=True)
    if not same:
        print(f"  pabutools: {want}\n  veche:     {got}")
print(f"ratio all = pabutools (parse + rule) / veche whole process (parse + rule, median of {repeat}); "
      f"ratio rule = pabutools rule / veche rule in-process (best of {repeat})")
sys.exit(1 if mismatches else 0)
PY
