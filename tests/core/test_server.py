"""The worker over real HTTP on loopback: ``filmstyle serve`` in a subprocess, real weights and files."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from filmstyle_plugin.client import WorkerClient, WorkerError
from tests.core.plates import photo_linear


def write_plates(folder: Path, frames, w=64, h=48) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    for f in frames:
        path = folder / f"shot.{f:04d}.exr"
        out = oiio.ImageOutput.create(str(path))
        out.open(str(path), oiio.ImageSpec(w, h, 3, "half"))
        out.write_image(np.ascontiguousarray(photo_linear(w, h), dtype=np.float32))
        out.close()
    return str(folder / "shot.####.exr")


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    root = tmp_path_factory.mktemp("worker")
    cfg, allowed = root / "cfg", root / "allowed"
    allowed.mkdir()
    env = dict(os.environ, FILMSTYLE_CONFIG_DIR=str(cfg))
    proc = subprocess.Popen(
        [sys.executable, "-c", "from filmstyle.cli import main; main()", "serve", "--port", "0",
         "--allow-path", str(allowed), "--time-limit", "60"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wf = cfg / "worker.json"
    deadline = time.monotonic() + 60
    while not wf.exists():
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.monotonic() < deadline, "worker did not start"
        time.sleep(0.1)
    info = json.loads(wf.read_text())
    client = WorkerClient(info["port"], info["token"])
    yield {"client": client, "info": info, "file": wf, "allowed": allowed, "root": root, "proc": proc}
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    assert not wf.exists(), "worker.json left behind after SIGTERM"


def job(allowed: Path, name: str, frames=(1, 2), **extra) -> dict:
    src = write_plates(allowed / name, frames)
    data = {"filmstyle": 1, "input": src, "output": str(allowed / name / "out.####.exr"),
            "styles": [{"style": "starry-blue", "weight": 1.0}], "strength": 0.8}
    data.update(extra)
    return data


def test_worker_file_is_private_and_names_this_process(worker):
    mode = stat.S_IMODE(worker["file"].stat().st_mode)
    assert mode == 0o600
    assert worker["info"]["pid"] == worker["proc"].pid
    assert worker["client"].health()["status"] == "ok"


def test_every_request_needs_the_token(worker):
    bad = WorkerClient(worker["info"]["port"], "not-the-token")
    for path in ("/health", "/styles", "/openapi.json", "/jobs/x"):
        with pytest.raises(WorkerError) as err:
            bad.request("GET", path)
        assert err.value.status == 401
    spec = worker["client"].request("GET", "/openapi.json")
    assert {"/health", "/styles", "/jobs", "/jobs/{job_id}", "/jobs/{job_id}/cancel",
            "/jobs/{job_id}/result"} <= set(spec["paths"])


def test_openapi_documents_the_job_request_model(worker):
    """POST /jobs carries the job format's schema (generated from the parameter table), every
    reference resolvable inside the document."""
    from filmstyle.job.params import job_parameters

    spec = worker["client"].request("GET", "/openapi.json")
    body = spec["paths"]["/jobs"]["post"]["requestBody"]
    assert body["required"] and body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Job"}
    schemas = spec["components"]["schemas"]
    job_schema = schemas["Job"]
    assert {"filmstyle", "input", "output", "color", "strength", "temporal", "preserve_color"} <= set(job_schema["properties"])
    assert set(job_schema["properties"]) == {"filmstyle", *(p.group or p.key for p in job_parameters())}
    refs = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.add(node["$ref"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec)
    for ref in refs:
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    assert {"403", "413", "422"} <= set(spec["paths"]["/jobs"]["post"]["responses"])


def test_styles_lists_the_builtins(worker):
    names = [s["name"] for s in worker["client"].styles()["builtin"]]
    assert len(names) == 26 and "starry-blue" in names


def test_job_renders_and_reports_result(worker):
    client = worker["client"]
    sub = client.submit(job(worker["allowed"], "basic"))
    final = client.wait(sub["id"], timeout=60)
    assert final["state"] == "done", final
    assert (final["done"], final["total"], final["written"]) == (2, 2, 2) and final["fps"] > 0
    result = client.result(sub["id"])
    assert result["output"].endswith("out.####.exr")
    assert [f["frame"] for f in result["frames"]] == [1, 2]
    assert all(Path(f["path"]).is_file() for f in result["frames"])
    assert "cin26/cpu/fp32" in client.health()["models"]  # stays loaded for the next job


def test_bad_job_is_422_with_one_line(worker):
    data = job(worker["allowed"], "bad", strength="1001:0, oops")
    with pytest.raises(WorkerError) as err:
        worker["client"].submit(data)
    assert err.value.status == 422
    assert "strength" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(WorkerError) as err:
        worker["client"].submit({"input": 3})
    assert err.value.status == 422


def test_path_outside_allow_list_is_403(worker):
    outside = worker["root"] / "outside"
    data = job(worker["allowed"], "ok")
    data["output"] = str(outside / "out.####.exr")
    with pytest.raises(WorkerError) as err:
        worker["client"].submit(data)
    assert err.value.status == 403 and "output" in str(err.value)
    data = job(worker["allowed"], "ok2")
    data["input"] = str(worker["allowed"] / ".." / "outside" / "x.####.exr")
    with pytest.raises(WorkerError) as err:
        worker["client"].submit(data)
    assert err.value.status == 403


def test_oversized_body_is_413(worker):
    data = job(worker["allowed"], "big")
    data["strength"] = [[f, 0.5, "linear"] for f in range(60000)]
    with pytest.raises(WorkerError) as err:
        worker["client"].submit(data)
    assert err.value.status == 413


def test_concurrent_clients(worker):
    info = worker["info"]
    results, errors = {}, []

    def one(i):
        try:
            c = WorkerClient(info["port"], info["token"])
            sub = c.submit(job(worker["allowed"], f"con{i}", frames=(1,)))
            results[i] = c.wait(sub["id"], timeout=90)["state"]
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and results == {0: "done", 1: "done", 2: "done"}


def test_cancel_running_and_queued_jobs(worker):
    client = worker["client"]
    running = client.submit(job(worker["allowed"], "long", frames=tuple(range(1, 41))))
    queued = client.submit(job(worker["allowed"], "later", frames=(1,)))
    assert client.cancel(queued["id"])["state"] == "cancelled"
    while client.status(running["id"])["done"] < 1:
        time.sleep(0.05)
    client.cancel(running["id"])
    final = client.wait(running["id"], timeout=60)
    assert final["state"] == "cancelled" and 1 <= final["done"] < 40
    assert client.wait(queued["id"], timeout=5)["state"] == "cancelled"
    assert client.result(queued["id"])["frames"] == []
    assert client.health()["pending"] == 0


def test_remote_bind_is_refused_without_allow_remote(tmp_path):
    env = dict(os.environ, FILMSTYLE_CONFIG_DIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", "from filmstyle.cli import main; main()", "serve",
                           "--host", "0.0.0.0"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "--allow-remote" in proc.stderr
    assert not (tmp_path / "worker.json").exists()


def test_unknown_job_is_404(worker):
    with pytest.raises(WorkerError) as err:
        worker["client"].status("nope")
    assert err.value.status == 404
