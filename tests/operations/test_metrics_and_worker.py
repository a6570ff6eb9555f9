"""Metrics with several processes, the worker's own /metrics, its drain on SIGTERM, and deploy/ using
exactly the metric names the code defines."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from app.observability import METRIC_NAMES
from tests.servers import CITYSERVICES, free_port, service_env, wait_until_up

ROOT = Path(__file__).resolve().parents[2]
GAUGES = (
    "cityservices_pending_agency_applications",
    "cityservices_agency_circuit_open",
    "cityservices_audit_sealer_lag_seconds",
    "cityservices_pdf_pool_queue",
    "cityservices_filings_waiting",
    "cityservices_outbox_backlog",
)


def _samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def _healthz_count(metrics: str) -> float:
    return sum(
        value
        for labels, value in _samples(metrics, "cityservices_http_requests_total").items()
        if ("route", "/healthz") in labels
    )


def test_metrics_add_up_every_worker_process(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [*CITYSERVICES, "serve", "--port", str(port), "--workers", "2"],
        env=service_env(tmp_path / "data", PDF_PROCESSES="0"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_up(f"{base}/healthz", deadline_s=120)
        # New connections each time, so both processes answer some of them.
        for _ in range(60):
            assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        counts = set()
        for _ in range(6):
            metrics = httpx.get(f"{base}/metrics", timeout=10).text
            counts.add(_healthz_count(metrics))
        # Every scrape, whichever process answers it, counts all the requests (at least the 60 sent here).
        assert len(counts) == 1 and counts.pop() >= 60
        for gauge in GAUGES:
            assert f"# TYPE {gauge} gauge" in metrics, gauge
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def test_the_worker_serves_its_metrics_and_drains_on_sigterm(tmp_path):
    env = service_env(tmp_path / "data")
    subprocess.run([*CITYSERVICES, "migrate"], env=env, check=True, capture_output=True, timeout=300)
    port = free_port()
    log = tmp_path / "worker.log"
    with log.open("w") as sink:
        worker = subprocess.Popen(
            [*CITYSERVICES, "worker", "--metrics-port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/metrics", deadline_s=120)
        deadline = time.monotonic() + 60
        while True:  # the worker samples its gauges on its first pass
            metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            if _samples(metrics, "cityservices_agency_circuit_open") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert _samples(metrics, "cityservices_pending_agency_applications") == {(): 0.0}
        assert _samples(metrics, "cityservices_outbox_backlog") == {(): 0.0}
        assert set(_samples(metrics, "cityservices_agency_circuit_open")) == {
            (("agency", "housing"),),
            (("agency", "police"),),
        }
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0, log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
    assert any(
        json.loads(line).get("message") == "worker stopped: drained"
        for line in log.read_text().splitlines()
        if line.startswith("{")
    ), log.read_text()


def _names_used(text: str) -> set[str]:
    names = set(re.findall(r"\b(cityservices_[a-z_]+)", text))
    return {re.sub(r"_(bucket|count|sum)$", "", name) for name in names}


def test_alert_rules_and_dashboard_use_exactly_the_defined_metric_names():
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "cityservices-alerts.yml").read_text())
    expressions = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "cityservices-dashboard.json").read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = _names_used("\n".join(expressions)) | _names_used("\n".join(queries))
    assert used - set(METRIC_NAMES) == set(), "deploy/ names metrics the code does not define"
    assert set(GAUGES) <= _names_used("\n".join(expressions)), "every watched gauge has an alert"
    assert set(METRIC_NAMES) <= _names_used("\n".join(queries)), "every metric has a dashboard panel"


def test_every_declared_metric_name_is_registered():
    from prometheus_client import REGISTRY

    registered = {family.name for family in REGISTRY.collect()}  # counters' families drop "_total"
    assert {name.removesuffix("_total") for name in METRIC_NAMES} <= registered


def test_scaling_doc_names_the_gauges():
    text = (ROOT / "docs" / "scaling.md").read_text(encoding="utf-8")
    missing = [gauge for gauge in GAUGES if gauge not in text]
    assert missing == []


@pytest.mark.skipif(not Path("/usr/bin/promtool").exists(), reason="promtool is not installed")
def test_promtool_accepts_the_rules():
    subprocess.run(
        ["/usr/bin/promtool", "check", "rules", str(ROOT / "deploy/prometheus/cityservices-alerts.yml")], check=True
    )
