#!/usr/bin/env bash
# Times pabutools 1.2.3 and `veche-verify pb` (release build) on the same
# Pabulib files and rules, checks that both give the same winners, and
# prints the speed ratios. See specs/pb.md §"Benchmarks".
#
#   scripts/pabutools-bench.sh                 # the default cases below
#   scripts/pabutools-bench.sh FILE:RULE ...   # chosen cases
#
# RULE is greedy | equal-shares | equal-shares+add1 | equal-shares+add1+greedy.
# FILE is a name in $PABULIB_DIR (default ../shared/pabulib next to the
# repository) or a path. Environment: PABUTOOLS_VENV (default
# target/pabutools-venv), PABULIB_DIR, REPEAT (veche runs per case, the
# median is kept; default 5). Exits 1 if any winners differ.
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
  )
fi

if ! "$VENV/bin/python" -c 'import pabutools, importlib.metadata as m; assert m.version("pabutools") == "1.2.3"' 2>/dev/null; then
  echo "creating $VENV with pabutools 1.2.3 ..." >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check pabutools==1.2.3
fi

echo "building veche-verify (release) ..." >&2
cargo build --quiet --release -p veche-verify
VECHE="$ROOT/target/release/veche-verify"

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


def veche_args(path, rule):
    args = [veche, "pb", path, "--json"]
    if rule == "greedy":
        return args + ["--rule", "greedy"]
    args += ["--rule", "equal-shares"]
    if rule == "equal-shares+add1":
        args += ["--completion", "add1"]
    elif rule == "equal-shares+add1+greedy":
        args += ["--completion", "add1+greedy"]
    return args


print(f"machine: {platform.machine()}, {os.cpu_count()} cores; python {platform.python_version()}")
print(f"{'file':<42} {'rule':<25} {'pabutools parse':>15} {'rule':>9} "
      f"{'veche (whole run)':>17} {'ratio':>7} {'rule-only ratio':>15} winners")
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
    got = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = subprocess.run(veche_args(path, rule), capture_output=True, text=True)
        runs.append(time.perf_counter() - t0)
        if res.returncode != 0:
            raise SystemExit(f"veche-verify failed on {name} {rule}: {res.stdout}{res.stderr}")
        got = json.loads(res.stdout)["winner_ids"]
    t_veche = statistics.median(runs)
    same = got == want
    mismatches += not same
    print(f"{os.path.basename(path)[:42]:<42} {rule:<25} {t_parse:>14.2f}s {t_rule:>8.2f}s "
          f"{t_veche * 1000:>15.1f}ms {(t_parse + t_rule) / t_veche:>6.0f}x {t_rule / t_veche:>14.0f}x "
          f"{'identical' if same else 'DIFFERENT'} ({len(want)})", flush=True)
    if not same:
        print(f"  pabutools: {want}\n  veche:     {got}")
print("ratio = pabutools (parse + rule) / veche-verify whole process (parse + rule, median of "
      f"{repeat}); rule-only ratio = pabutools rule alone / the same veche time")
sys.exit(1 if mismatches else 0)
PY
