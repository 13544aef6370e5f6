"""Tables the ratio of two benchmarked binaries, from scripts/bench-compare.sh's result folders."""
import json
import sys


def load(path):
    with open(path) as f:
        return {(r["backend"], c): v for r in json.load(f)["results"] for c, v in r["classes"].items()}


def main(out, rounds, title):
    rounds = int(rounds)
    base = [load(f"{out}/base-{n}/results.json") for n in range(1, rounds + 1)]
    new = [load(f"{out}/new-{n}/results.json") for n in range(1, rounds + 1)]
    print(f"{title}\n")
    print("| backend | class | base req/s | new req/s | new/base (means) | base p50 ms | new p50 ms | non-2xx new |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for key in base[0]:
        if not all(key in run for run in base + new):
            continue
        b = [run[key]["rps"] for run in base]
        n = [run[key]["rps"] for run in new]
        ratio = (sum(n) / len(n)) / (sum(b) / len(b)) if sum(b) else float("nan")
        bp = sum(run[key]["p50_ms"] for run in base) / rounds
        np = sum(run[key]["p50_ms"] for run in new) / rounds
        errors = sum(run[key]["non2xx"] for run in new)
        print(f"| {key[0]} | {key[1]} | {' / '.join(f'{x:.0f}' for x in b)} | {' / '.join(f'{x:.0f}' for x in n)} "
              f"| {ratio:.2f} | {bp:.2f} | {np:.2f} | {errors} |")


if __name__ == "__main__":
    main(*sys.argv[1:4])
