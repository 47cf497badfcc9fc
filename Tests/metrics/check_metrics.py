#!/usr/bin/env python3
"""What scripts/check-metrics asks of a real Prometheus scraping a real pumpd.

  check_metrics.py --prometheus http://127.0.0.1:PORT --scraped FILE
                   --dashboard deploy/grafana-pumpd.json --alerts deploy/prometheus-alerts.yml

FILE is /metrics as scraped from pumpd's --metrics listener. Checks, in order:

1. Prometheus scrapes pumpd: up{job="pumpd"} is 1 and pumpd_link_up is 1 in
   its query API (waits up to --timeout seconds for both).
2. The alert rules are loaded by the server, healthy, and name only metrics
   pumpd exposes.
3. The Grafana dashboard is valid JSON with a ${DS_PROMETHEUS} input, every
   panel and query on that data source, and every PromQL expr in it names
   only metrics pumpd exposes and runs on the live server (status success).

Standard library only. Exits 1 with every problem listed.
"""
import argparse
import json
import re
import sys
import time
import urllib.parse
import urllib.request

METRIC = re.compile(r"\bpumpd_[a-zA-Z0-9_]+")


def families(text):
    """Family name -> type, from the exposition's TYPE lines."""
    out = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) == 4:
                out[parts[2]] = parts[3]
    return out


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(name[: -len(suffix)]) == "histogram":
            return name[: -len(suffix)]
    return name


def query(base, expr):
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:  # 400 for a query that does not parse: its body says why
        return json.load(e)


def value(base, expr):
    """The first sample's value of an instant query, or None."""
    try:
        answer = query(base, expr)
    except OSError:
        return None
    result = answer.get("data", {}).get("result", [])
    return float(result[0]["value"][1]) if answer.get("status") == "success" and result else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prometheus", required=True)
    ap.add_argument("--scraped", required=True)
    ap.add_argument("--dashboard", required=True)
    ap.add_argument("--alerts", required=True)
    ap.add_argument("--timeout", type=float, default=30)
    args = ap.parse_args()
    problems = []
    with open(args.scraped, encoding="utf-8") as f:
        types = families(f.read())
    if not types:
        problems.append(f"{args.scraped}: no metric families")

    # 1. A real Prometheus scrapes pumpd.
    deadline = time.monotonic() + args.timeout
    up = link = None
    while time.monotonic() < deadline:
        up = value(args.prometheus, 'up{job="pumpd"}')
        link = value(args.prometheus, 'pumpd_link_up{job="pumpd"}')
        if up == 1 and link == 1:
            break
        time.sleep(0.5)
    print(f'check-metrics: up{{job="pumpd"}} = {up}, pumpd_link_up = {link} in Prometheus')
    if up != 1 or link != 1:
        problems.append(f'Prometheus did not see pumpd up within {args.timeout:g} s (up={up}, pumpd_link_up={link})')

    # 2. The alert rules: loaded, healthy, and about metrics pumpd has.
    with urllib.request.urlopen(args.prometheus + "/api/v1/rules", timeout=5) as r:
        groups = json.load(r)["data"]["groups"]
    rules = [rule for g in groups for rule in g["rules"]]
    bad = [r["name"] for r in rules if r.get("health") not in ("ok", "unknown")]
    print(f"check-metrics: {len(rules)} alert rules loaded by Prometheus")
    if not rules:
        problems.append("Prometheus loaded no alert rules")
    if bad:
        problems.append(f"alert rules not healthy: {bad}")
    with open(args.alerts, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip().startswith("expr:"):
                for name in METRIC.findall(line):
                    if family_of(name, types) not in types:
                        problems.append(f"{args.alerts}:{n}: {name} is not a metric pumpd exposes")

    # 3. The dashboard.
    try:
        with open(args.dashboard, encoding="utf-8") as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        problems.append(f"{args.dashboard}: not valid JSON: {e}")
        dash = {}
    inputs = [i.get("name") for i in dash.get("__inputs", [])]
    if "DS_PROMETHEUS" not in inputs:
        problems.append(f"{args.dashboard}: no DS_PROMETHEUS in __inputs")
    if not isinstance(dash.get("schemaVersion"), int):
        problems.append(f"{args.dashboard}: no schemaVersion")
    exprs = []
    for panel in dash.get("panels", []):
        if panel.get("type") == "row":
            continue
        if panel.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
            problems.append(f"panel {panel.get('title')!r}: its data source is not ${{DS_PROMETHEUS}}")
        targets = panel.get("targets", [])
        if not targets:
            problems.append(f"panel {panel.get('title')!r}: no queries")
        for t in targets:
            if t.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
                problems.append(f"panel {panel.get('title')!r}: a query's data source is not ${{DS_PROMETHEUS}}")
            exprs.append((panel.get("title"), t.get("expr", "")))
    for var in dash.get("templating", {}).get("list", []):
        q = var.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        for name in METRIC.findall(q):
            if family_of(name, types) not in types:
                problems.append(f"variable {var.get('name')!r}: {name} is not a metric pumpd exposes")
    for title, expr in exprs:
        names = METRIC.findall(expr)
        if not names:
            problems.append(f"panel {title!r}: {expr!r} names no pumpd metric")
        for name in names:
            if family_of(name, types) not in types:
                problems.append(f"panel {title!r}: {name} is not a metric pumpd exposes")
        live = expr.replace("$__rate_interval", "1m").replace("$instance", ".*")
        answer = query(args.prometheus, live)
        if answer.get("status") != "success":
            problems.append(f"panel {title!r}: {live!r} failed on Prometheus: {answer.get('error')}")
    print(f"check-metrics: {len(exprs)} dashboard queries checked against {len(types)} families pumpd exposes")

    for p in problems:
        print(f"check-metrics: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
