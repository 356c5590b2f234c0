"""The report over a real run of the three daemons (tests/fleet.py): JSON, CloudWatch, browser.

The fleet runs once per module. The report reads the daemons' output files as a person would
(``edge-bridge report FILE...``) and again from CloudWatch Logs (moto's server, the lines put
as the awslogs driver puts them); both must give the verdicts the fleet was built to earn.
Then headless Chromium opens the HTML report and the config daemon's live page: what they show
is checked as a reader sees it, and screenshots are kept with the test's output.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
from moto.server import ThreadedMotoServer

from bridge.log_evidence import epoch
from tests.cfn import of_type, resolve, template
from tests.fleet import MAX_SILENCE, ROUTERS, FleetRun, run_fleet
from tests.peers import peer
from tests.procs import Daemon, run_command


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> FleetRun:
    return run_fleet(tmp_path_factory.mktemp("fleet"))


def report(fleet: FleetRun, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    out = fleet.workdir / "report.json"
    result = run_command(
        ["report", "--max-silence", MAX_SILENCE, "--until", fleet.until, "--json", str(out), *args],
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(out.read_text()))


def verdicts(doc: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {
        name: {req: v["verdict"] for req, v in by_req.items()}
        for name, by_req in doc["routers"].items()
    }


def ntp_evidence_written(fleet: FleetRun) -> bool:
    """Whether the NTP proxy writes per-router evidence (``ntp.clients``) in this version."""
    return any(b'"event":"ntp.clients"' in path.read_bytes() for path in fleet.outputs)


def expected(fleet: FleetRun) -> dict[str, dict[str, str]]:
    if ntp_evidence_written(fleet):
        time = {"rtr-good": "pass", "rtr-drift": "fail", "rtr-quiet": "fail"}
    else:  # no proxy evidence: nothing proves or disproves synchronisation
        time = dict.fromkeys(ROUTERS.values(), "unknown")
    return {
        "rtr-good": {"10.3.3": "pass", "10.6": time["rtr-good"], "1.2.8": "pass"},
        "rtr-drift": {"10.3.3": "pass", "10.6": time["rtr-drift"], "1.2.8": "fail"},
        "rtr-quiet": {"10.3.3": "fail", "10.6": time["rtr-quiet"], "1.2.8": "pass"},
    }


def test_report_from_the_daemons_files(fleet: FleetRun) -> None:
    doc = report(fleet, *map(str, fleet.outputs))
    assert verdicts(doc) == expected(fleet)
    good, drift, quiet = (doc["routers"][name] for name in ROUTERS.values())
    assert good["10.3.3"]["messages"] >= 20 and good["10.3.3"]["dropped"] == 0
    assert drift["10.3.3"]["messages"] >= 3  # through the rsyslog relay
    assert quiet["10.3.3"]["messages"] == 2
    assert "no log message for the last" in quiet["10.3.3"]["reason"]
    for router in (good, drift, quiet):  # loopback clocks agree: no skew finding
        assert router["10.6"]["skew_samples"] > 0
        assert abs(router["10.6"]["skew_worst"]) < 2.0
    assert good["1.2.8"]["uploads"] >= 3 and good["1.2.8"]["check"]["result"] == "in_sync"
    assert drift["1.2.8"]["check"]["reason"] == "differs"
    assert drift["1.2.8"]["check"]["desired"].endswith("rtr-drift.cfg")
    assert good["1.2.8"]["compliance"]["compliant"] is True
    assert drift["1.2.8"]["compliance"]["failing"]  # shown beside 1.2.8, judged in 1.2.1/1.2.7
    drift_diff = [d for d in doc["diffs"]["rtr-drift"] if d["event"] == "config.drift"]
    assert drift_diff and "+ permit tcp host 10.40.0.12 any eq 443" in drift_diff[0]["text"]
    assert doc["fleet"]["10.3.3"]["verdict"] == "fail"
    assert doc["fleet"]["1.2.8"] == {"verdict": "fail", "pass": 2, "fail": 1, "unknown": 0}
    text = json.dumps(doc)
    assert not [s for s in fleet.secrets if s in text]


def test_each_daemon_writes_its_evidence_lines(fleet: FleetRun) -> None:
    lines = {
        path.stem: [orjson.loads(r) for r in path.read_bytes().splitlines()]
        for path in fleet.outputs
    }
    logs = [line for line in lines["syslog"] if line["event"] == "syslog.evidence"]
    assert set(logs[-1]["routers"]) == set(ROUTERS.values())  # named ones listed from the start
    configs = [line for line in lines["config"] if line["event"] == "config.evidence"]
    last = configs[-1]["routers"]
    assert set(last) == set(ROUTERS.values())
    assert (last["rtr-drift"]["drift"], last["rtr-good"]["drift"]) == (True, False)
    assert (
        sum(c["routers"]["rtr-good"]["uploads"] for c in configs if "rtr-good" in c["routers"]) >= 3
    )
    emf = [line for line in lines["config"] if line["event"] == "config.router_metrics"]
    assert {line["router"] for line in emf} == set(ROUTERS.values())


@pytest.fixture(scope="module")
def cloudwatch(fleet: FleetRun) -> Iterator[dict[str, str]]:
    """moto's server holding the fleet's lines in one log group, one stream per daemon."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    logs = boto3.client(
        "logs",
        endpoint_url=env["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"],
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    logs.create_log_group(logGroupName="/edge-bridge")
    for path in fleet.outputs:
        stream = f"edge-bridge/{path.stem}/task-1"
        logs.create_log_stream(logGroupName="/edge-bridge", logStreamName=stream)
        events = []
        for raw in path.read_bytes().splitlines():
            when = epoch(orjson.loads(raw)["time"])
            assert when is not None
            events.append({"timestamp": int(when * 1000), "message": raw.decode()})
        events.sort(key=lambda e: e["timestamp"])  # the driver stamps them in order of reading
        for start in range(0, len(events), 500):
            logs.put_log_events(
                logGroupName="/edge-bridge",
                logStreamName=stream,
                logEvents=events[start : start + 500],
            )
    try:
        yield env
    finally:
        server.stop()


def test_report_from_cloudwatch_logs_agrees(fleet: FleetRun, cloudwatch: dict[str, str]) -> None:
    from_files = report(fleet, *map(str, fleet.outputs))
    doc = report(fleet, "--log-group", "/edge-bridge", "--since", "1h", env=cloudwatch)
    assert verdicts(doc) == verdicts(from_files) == expected(fleet)
    for name in ROUTERS.values():
        a, b = doc["routers"][name]["10.3.3"], from_files["routers"][name]["10.3.3"]
        assert (a["messages"], a["last_message"]) == (b["messages"], b["last_message"])


def test_cloudwatch_errors_are_one_line(fleet: FleetRun, cloudwatch: dict[str, str]) -> None:
    result = run_command(["report", "--log-group", "/no-such-group"], env=cloudwatch)
    assert result.returncode == 2
    assert "ResourceNotFoundException" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1


# -- in a browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium, chromedriver = peer("chromium", "chromium"), peer("chromedriver", "chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1600",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    try:
        yield driver
    finally:
        driver.quit()


def seen_verdicts(driver: Any) -> dict[str, dict[str, str]]:
    """The verdict a reader sees in each cell of the routers table."""
    from selenium.webdriver.common.by import By

    shown: dict[str, dict[str, str]] = {}
    for cell in driver.find_elements(By.CSS_SELECTOR, "td[data-router]"):
        badge = cell.find_element(By.CSS_SELECTOR, ".verdict")
        assert badge.is_displayed()
        router, req = cell.get_attribute("data-router"), cell.get_attribute("data-requirement")
        shown.setdefault(router, {})[req] = badge.text
    return shown


def test_html_report_in_chromium(
    fleet: FleetRun, browser: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from selenium.webdriver.common.by import By

    page = tmp_path / "report.html"
    report(fleet, *map(str, fleet.outputs), "--html", str(page))
    browser.get(page.as_uri())
    assert browser.title == "edge-bridge PCI DSS evidence"
    assert seen_verdicts(browser) == expected(fleet)
    diff = browser.find_element(By.CSS_SELECTOR, "#router-rtr-drift pre.diff")
    added = [s.text for s in diff.find_elements(By.CSS_SELECTOR, ".add")]
    assert "+ permit tcp host 10.40.0.12 any eq 443" in added
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "<redacted>" in body  # the rotated community, as the uploader redacted it
    assert not [s for s in fleet.secrets if s in browser.page_source]
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    print(f"screenshot of the report: {shot}")


# -- the live page of the config daemon ------------------------------------------------------


@pytest.fixture(scope="module")
def live(fleet: FleetRun, cloudwatch: dict[str, str]) -> Iterator[str]:
    """A config daemon on the fleet's store, reading the other daemons' evidence from moto."""
    daemon = Daemon.start(
        ["config", "--listen", "127.0.0.1:0", "--store", str(fleet.workdir / "store"),
         "--desired", str(fleet.workdir / "desired"), "--evidence-log-group", "/edge-bridge",
         "--max-silence", "1h"],
        env=cloudwatch,
    )  # fmt: skip
    host, port = daemon.address("config", "listen")
    try:
        yield f"http://{host}:{port}"
    finally:
        daemon.stop()


def get(url: str, accept: str = "text/html", authorization: str = "") -> tuple[int, str, bytes]:
    headers = {"Accept": accept, **({"Authorization": authorization} if authorization else {})}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def test_live_page_as_json(live: str, fleet: FleetRun) -> None:
    status, kind, body = get(live + "/", accept="application/json")
    assert status == 200 and kind.startswith("application/json")
    doc = json.loads(body)
    want = expected(fleet)
    want["rtr-quiet"]["10.3.3"] = "pass"  # silent for less than this page's --max-silence
    assert verdicts(doc) == want
    from_files = report(fleet, *map(str, fleet.outputs))
    for name in ROUTERS.values():
        page, files = doc["routers"][name], from_files["routers"][name]
        assert page["10.3.3"]["messages"] == files["10.3.3"]["messages"]
        assert page["1.2.8"]["latest_version"] == files["1.2.8"]["latest_version"]
    status, _, body = get(live + "/evidence/rtr-drift?format=json")
    router = json.loads(body)
    assert status == 200 and router["verdicts"]["1.2.8"]["verdict"] == "fail"
    assert router["drift"]["desired"].endswith("rtr-drift.cfg")
    assert "+ permit tcp host 10.40.0.12 any eq 443" in router["drift"]["diff"]
    assert [v["version"] for v in router["versions"]] == ["00000001"]
    assert router["verdicts"]["1.2.8"]["compliance"]["failing"]
    commands = router["remediation"]["commands"]
    assert "snmp-server location dc-a" in commands and "no snmp-server location dc-b" in commands
    assert get(live + "/evidence/no-such-router")[0] == 404
    text = json.dumps(doc) + json.dumps(router)
    assert not [s for s in fleet.secrets if s in text]


def test_live_page_asks_for_credentials_and_says_what_it_cannot_see(fleet: FleetRun) -> None:
    """Behind the read API's credentials; without the log group, logs and time are unknown."""
    with Daemon.start(
        ["config", "--listen", "127.0.0.1:0", "--store", str(fleet.workdir / "store"),
         "--desired", str(fleet.workdir / "desired")],
        env={"EDGE_BRIDGE_READER_AUTH": "auditor:s3cret-reader"},
    ) as daemon:  # fmt: skip
        host, port = daemon.address("config", "listen")
        url = f"http://{host}:{port}/?format=json"
        assert get(url)[0] == 401
        token = base64.b64encode(b"auditor:s3cret-reader").decode()
        status, _, body = get(url, authorization=f"Basic {token}")
        daemon.stop()
    assert status == 200
    doc = json.loads(body)
    assert {v["10.3.3"] for v in verdicts(doc).values()} == {"unknown"}
    assert {v["1.2.8"] for v in verdicts(doc).values()} == {"pass", "fail"}
    assert any("--evidence-log-group" in finding for finding in doc["fleet"]["findings"])


def test_live_page_in_chromium(live: str, fleet: FleetRun, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(live + "/")
    want = expected(fleet)
    want["rtr-quiet"]["10.3.3"] = "pass"
    assert seen_verdicts(browser) == want
    browser.save_screenshot(str(tmp_path / "live-fleet.png"))
    browser.find_element(By.LINK_TEXT, "rtr-drift").click()
    assert browser.current_url.endswith("/evidence/rtr-drift")
    assert seen_verdicts(browser) == {"rtr-drift": want["rtr-drift"]}
    added = [s.text for s in browser.find_elements(By.CSS_SELECTOR, "pre.diff .add")]
    assert "+ permit tcp host 10.40.0.12 any eq 443" in added
    fix = browser.find_element(By.CSS_SELECTOR, "pre.remediation").text.splitlines()
    assert "snmp-server location dc-a" in fix
    history = browser.find_elements(By.CSS_SELECTOR, "table.versions tr")
    assert len(history) == 2 and "00000001" in history[1].text
    assert not [s for s in fleet.secrets if s in browser.page_source]
    shot = tmp_path / "live-router.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    print(f"screenshots of the live page: {tmp_path}")


# -- the stack's dashboard and saved queries read fields the daemons really write -------------


def insights_queries() -> dict[str, str]:
    """Every Logs Insights query of the template: saved queries and dashboard log widgets."""
    t = template()
    queries = {
        name: str(r["Properties"]["QueryString"])
        for name, r in of_type(t, "AWS::Logs::QueryDefinition").items()
    }
    for name, dashboard in of_type(t, "AWS::CloudWatch::Dashboard").items():
        body = json.loads(resolve(dashboard["Properties"]["DashboardBody"]))
        for n, widget in enumerate(body["widgets"]):
            if widget["type"] == "log":
                queries[f"{name}/{n}"] = widget["properties"]["query"].split("|", 1)[1]
    return queries


def test_saved_queries_answer_the_auditors_questions(fleet: FleetRun) -> None:
    queries = insights_queries()
    names = {
        str(r["Properties"]["Name"])
        for r in of_type(template(), "AWS::Logs::QueryDefinition").values()
    }
    assert any("config changes of one router" in n for n in names)
    assert any("routers without logs" in n for n in names)
    assert any("routers not synchronised" in n for n in names)
    written: dict[str, set[str]] = {}
    for path in fleet.outputs:
        for raw in path.read_bytes().splitlines():
            line = orjson.loads(raw)
            written.setdefault(line["event"], set()).update(line)
    for name, query in queries.items():
        events = re.findall(r'event = "([^"]+)"', query)
        assert events, f"{name}: filter on the event name"
        fields = set(re.findall(r"(?:sum|min|max|abs|latest|ispresent)\((\w+)\)", query))
        fields |= set(re.findall(r"\bby (\w+)", query))
        head = re.match(r"\s*fields ([\w@, ]+)", query)
        if head:
            fields |= {f.strip() for f in head.group(1).split(",") if not f.strip().startswith("@")}
        for event in events:
            assert event in written, f"{name}: no daemon writes {event}"
            missing = fields - written[event] - {"part", "parts", "previous", "diff", "reason"}
            assert not missing, f"{name}: {event} lines lack {missing}"
