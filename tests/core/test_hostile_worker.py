"""Hostile requests to the worker (``filmstyle serve`` on 127.0.0.1, real HTTP): every path a job
names is confined to the allowed folders before anything looks at it, refusals say nothing about
what exists elsewhere, and large, deep or endless bodies end in a 4xx with one short line while
/health keeps answering."""

from __future__ import annotations

import http.client
import json
import os
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from filmstyle_plugin.client import WorkerError
from tests.core.hostile import start_worker, stop_worker
from tests.core.plates import make_plate_sequence

SHORT = 600  # longest "detail" a hostile value may produce


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile_worker")
    w = start_worker(root)
    allowed = w["allowed"]
    make_plate_sequence(allowed / "src", (1, 2), width=32, height=24)
    outside = root / "outside"
    outside.mkdir()
    pixels = np.full((16, 16, 3), 0.5, np.float32)
    for path in (allowed / "paint.png", outside / "secret.png"):
        out = oiio.ImageOutput.create(str(path))
        out.open(str(path), oiio.ImageSpec(16, 16, 3, "uint8"))
        out.write_image(pixels)
        out.close()
    (outside / "model.onnx").write_bytes(b"not really a model")
    (allowed / "escape.png").symlink_to(outside / "secret.png")
    w["outside"] = outside
    yield w
    stop_worker(w)


def base(w, **extra) -> dict:
    data = {"filmstyle": 2, "input": str(w["allowed"] / "src" / "shot.####.exr"),
            "output": str(w["allowed"] / "out" / "o.####.exr"), "styles": ["starry-blue"]}
    data.update(extra)
    return data


def refused(w, data: dict, status: int, *needles: str) -> str:
    with pytest.raises(WorkerError) as err:
        w["client"].submit(data)
    text = str(err.value)
    assert err.value.status == status, text
    assert "\n" not in text and len(text) <= SHORT, text[:300]
    for needle in needles:
        assert needle in text, (needle, text)
    assert w["client"].health()["status"] == "ok"
    return text


def _placements(path: str) -> dict[str, dict]:
    ellipse = {"ellipse": {"center": [8, 8], "radius": 4}}
    return {
        "styles": {"styles": [path]},
        "regions[0].styles": {"regions": [{"mask": ellipse, "styles": [path]}]},
        "default.styles": {"regions": [{"mask": ellipse}], "default": {"styles": [path]}},
    }


# -- every path a job can name is confined ---------------------------------------------------------


@pytest.mark.parametrize("where", ["styles", "regions[0].styles", "default.styles"])
@pytest.mark.parametrize("kind", ["image", "custom model"])
def test_style_paths_outside_the_allowed_folders_are_403_whether_or_not_they_exist(worker, where, kind):
    details = []
    for name in (("secret.png", "absent.png") if kind == "image" else ("model.onnx", "absent.onnx")):
        path = str(worker["outside"] / name)
        text = path if kind == "image" else f"custom:{path}"
        detail = refused(worker, base(worker, **_placements(text)[where]), 403, where, "outside the worker's allowed folders")
        assert "not found" not in detail
        details.append(detail.replace("absent", "X").replace("secret", "X").replace("model", "X"))
    assert details[0] == details[1]  # the answer says nothing about what exists out there


def test_dot_dot_out_of_the_allowed_folder(worker):
    sneaky = str(worker["allowed"] / ".." / "outside" / "secret.png")
    refused(worker, base(worker, **_placements(sneaky)["regions[0].styles"]), 403, "regions[0].styles[0].style")


def test_symlink_out_of_the_allowed_folder(worker):
    refused(worker, base(worker, styles=[str(worker["allowed"] / "escape.png")]), 403, "styles[0].style")


def test_relative_paths_resolve_inside_the_allowed_folder(worker):
    refused(worker, base(worker, styles=["../outside/secret.png"]), 403, "styles[0].style")


def test_matte_outside_is_403(worker):
    mask = {"file": str(worker["outside"] / "m.####.exr")}
    refused(worker, base(worker, regions=[{"mask": {"op": "invert", "mask": mask}}]), 403, "regions[0].mask.mask.file")


@pytest.mark.parametrize("path, needle", [("paint\u0000.png", "NUL"), ("~no_such_user_here/p.png", "unknown user"),
                                          ("q" * 300 + ".png", "at most 255"), ("\ud800.png", "not a valid file name")])
def test_paths_no_file_system_takes_are_422(worker, path, needle):
    refused(worker, base(worker, styles=[path]), 422, "styles[0].style", needle)


def test_allowed_style_image_is_accepted(worker):
    sub = worker["client"].submit(base(worker, styles=[str(worker["allowed"] / "paint.png")], frames="1"))
    assert worker["client"].wait(sub["id"], timeout=120)["state"] == "done"


# -- sizes: frame ranges, nesting, bodies ---------------------------------------------------------


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_billion_frame_range_is_422_and_the_worker_stays_small(worker):
    before = _rss_mb(worker["proc"].pid)
    refused(worker, base(worker, frames="1-1000000000"), 422, "missing frame 3", "999999998 of 1000000000")
    assert _rss_mb(worker["proc"].pid) < before + 200


def test_deeply_nested_json_is_422(worker):
    body = "[" * 200_000 + "]" * 200_000
    status, detail = raw(worker, body.encode())
    assert status == 422 and ("nested" in detail or "JSON" in detail), detail


def test_deeply_nested_masks_are_422(worker):
    mask: dict = {"ellipse": {"center": [8, 8], "radius": 4}}
    for _ in range(40):
        mask = {"op": "invert", "mask": mask}
    refused(worker, base(worker, regions=[{"mask": mask}]), 422, "nested deeper than 32")


def test_nan_in_json_is_422(worker):
    status, detail = raw(worker, b'{"filmstyle": 2, "input": "a", "output": "b", "styles": ["starry-blue"], '
                                 b'"strength": NaN}')
    assert status == 422 and "strength" in detail, detail


def test_megabyte_values_are_cut_short(worker):
    refused(worker, base(worker, styles=["s" * 500_000]), 422, "styles[0].style")
    refused(worker, base(worker, strength="y" * 500_000), 422, "strength")
    refused(worker, base(worker, input=str(worker["outside"]) + "/" + "i" * 500_000), 403, "input")
    status, detail = raw(worker, b"", method="GET", path="/jobs/" + "j" * 10_000)
    assert status == 404 and len(detail) < SHORT, detail[:300]


def raw(w, body: bytes, *, method: str = "POST", path: str = "/jobs", chunked: bool = False,
        headers: dict | None = None) -> tuple[int, str]:
    """One request over a plain connection: (status, detail)."""
    conn = http.client.HTTPConnection("127.0.0.1", w["info"]["port"], timeout=60)
    head = {"Authorization": f"Bearer {w['info']['token']}", "Content-Type": "application/json", **(headers or {})}
    try:
        if chunked:
            pieces = (body[i:i + 65536] for i in range(0, len(body), 65536))
            conn.request(method, path, body=pieces, headers=head, encode_chunked=True)
        else:
            conn.request(method, path, body=body if method == "POST" else None, headers=head)
        resp = conn.getresponse()
        payload = resp.read()
    finally:
        conn.close()
    try:
        detail = json.loads(payload).get("detail", "")
    except ValueError:
        detail = payload.decode(errors="replace")
    assert "\n" not in str(detail)
    return resp.status, str(detail)


def test_chunked_body_over_the_limit_is_413(worker):
    status, detail = raw(worker, b" " * (3 << 20), chunked=True)
    assert status == 413 and "request body over" in detail
    assert worker["client"].health()["status"] == "ok"


def test_chunked_body_under_the_limit_is_read(worker):
    status, detail = raw(worker, json.dumps(base(worker, strength=7)).encode(), chunked=True)
    assert status == 422 and "strength" in detail, detail


def test_declared_length_over_the_limit_is_413_and_read_back(worker):
    # The rest of the body is read and dropped, so the client gets the 413, not a reset.
    for _ in range(3):
        status, _ = raw(worker, b" " * ((1 << 20) + 4096))
        assert status == 413


def test_absurd_content_length_is_413(worker):
    conn = http.client.HTTPConnection("127.0.0.1", worker["info"]["port"], timeout=30)
    try:
        conn.putrequest("POST", "/jobs")
        conn.putheader("Authorization", f"Bearer {worker['info']['token']}")
        conn.putheader("Content-Length", "9" * 30)
        conn.endheaders()
        resp = conn.getresponse()
        assert resp.status in (400, 413), resp.status
    finally:
        conn.close()
    assert worker["client"].health()["status"] == "ok"


def test_worker_still_renders_after_all_that(worker):
    sub = worker["client"].submit(base(worker, frames="2", output=str(worker["allowed"] / "after" / "o.####.exr")))
    final = worker["client"].wait(sub["id"], timeout=120)
    assert final["state"] == "done", final
    assert not any(name.startswith(".") for name in os.listdir(worker["allowed"] / "after"))


# -- the per-tool shot route takes a job too ---------------------------------------------------------


def test_shot_frame_of_infinity_is_422(worker):
    status, detail = raw(worker, b'{"frame": 1e400, "key": "k", "job": {}}', path="/shots/tool/frames")
    assert status == 422 and detail.startswith("frame"), detail


def test_shot_job_style_outside_is_403_whether_or_not_it_exists(worker):
    for name in ("secret.png", "absent.png"):
        job = base(worker, styles=[str(worker["outside"] / name)], frames="1")
        body = json.dumps({"frame": 1, "key": "k1", "job": job}).encode()
        status, detail = raw(worker, body, path="/shots/tool/frames")
        assert status == 403 and "job.styles[0].style" in detail and "not found" not in detail, detail


def test_shot_job_with_painted_keyframes_is_422(worker):
    key = str(worker["allowed"] / "src" / "shot.0002.exr")  # the plate's own size
    job = base(worker, keyframes={"2": key}, frames="1")
    status, detail = raw(worker, json.dumps({"frame": 1, "key": "k1", "job": job}).encode(), path="/shots/tool/frames")
    assert status == 422 and detail.startswith("job.keyframes: painted keyframes render a whole shot"), detail


def test_shot_history_that_is_this_frames_output_is_422(worker):
    out = worker["allowed"] / "shot_out" / "o.####.exr"
    job = base(worker, output=str(out), frames="2")
    written = str(out).replace("####", "0002")
    for where in ("input", "output"):
        previous = {"frame": 1, "key": "k1", "input": str(worker["allowed"] / "src" / "shot.0001.exr"),
                    "output": str(worker["allowed"] / "elsewhere.exr"), where: written}
        body = json.dumps({"frame": 2, "key": "k1", "job": job, "previous": previous}).encode()
        status, detail = raw(worker, body, path="/shots/tool/frames")
        assert status == 422 and detail.startswith(f"previous.{where}:") and "this request's output" in detail, detail


# -- what a request can make large or slow ----------------------------------------------------------


def test_a_blend_of_thousands_of_styles_is_422(worker):
    refused(worker, base(worker, styles=[{"style": "pale-wash", "weight": 1}] * 25000), 422,
            "styles: 25000 styles in one blend, at most 32")


def test_an_unknown_compression_is_422_at_submit(worker):
    refused(worker, base(worker, compression="bogus"), 422, "unknown EXR compression 'bogus'")


def test_health_answers_while_large_jobs_are_parsed(worker):
    import threading
    import time

    # A quarter of a second of parsing each (30 000 keys on each of two curves), then refused for
    # the missing input: six at once held the event loop, and /health with it, for 1.7 s.
    keys = ", ".join(f"{f}:0.5" for f in range(1, 30000))
    body = json.dumps(base(worker, input=str(worker["allowed"] / "none" / "shot.####.exr"), strength=keys,
                           temporal=keys)).encode()
    assert len(body) < 1 << 20
    statuses = []
    threads = [threading.Thread(target=lambda: statuses.append(raw(worker, body)[0])) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    started = time.monotonic()
    assert worker["client"].health()["status"] == "ok"
    answered = time.monotonic() - started
    for t in threads:
        t.join()
    assert statuses == [422] * 6, statuses
    assert answered < 1.0, answered


def test_slow_or_silent_connections_get_408_and_the_worker_keeps_serving(worker):
    import socket
    import threading
    import time

    port, token = worker["info"]["port"], worker["info"]["token"]
    head = f"POST /jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: 100\r\n\r\n{{"
    openings = {"silent": (b"", b""), "headers a byte at a time": (b"GET /health HTTP/1.1\r\nHost: x\r\nX-a: ", b"a"),
                "a body that never ends": (head.encode(), b" ")}
    answers: dict[str, bytes] = {}

    def hold(name: str, opening: bytes, drip: bytes) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=40) as sock:
            sock.sendall(opening)
            done = threading.Event()

            def dripping() -> None:
                while drip and not done.wait(2.0):
                    try:
                        sock.sendall(drip)
                    except OSError:
                        return

            threading.Thread(target=dripping, daemon=True).start()
            received = b""
            while True:
                try:
                    chunk = sock.recv(4096)
                except OSError:
                    break
                if not chunk:
                    break
                received += chunk
            done.set()
            answers[name] = received

    started = time.monotonic()
    threads = [threading.Thread(target=hold, args=(name, *item)) for name, item in openings.items()]
    for t in threads:
        t.start()
    time.sleep(1)
    assert worker["client"].health()["status"] == "ok"  # served meanwhile
    for t in threads:
        t.join(60)
    took = time.monotonic() - started
    assert 14 < took < 30, took  # REQUEST_READ_TIMEOUT (15 s), not for ever
    assert set(answers) == set(openings)
    for name, answer in answers.items():
        assert answer.startswith(b"HTTP/1.1 408 "), (name, answer[:200])
        assert b'"detail": "the request was not sent within 15 s"' in answer, (name, answer)
    assert worker["client"].health()["status"] == "ok"


def test_a_malformed_request_line_gets_the_json_error(worker):
    import socket

    with socket.create_connection(("127.0.0.1", worker["info"]["port"]), timeout=10) as sock:
        sock.sendall(b"GET /health?" + b"q" * (1 << 20) + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 ") and b'{"detail": "malformed HTTP request' in answer, answer[:300]
    assert worker["client"].health()["status"] == "ok"


def test_tool_names_are_checked_on_every_shot_route(worker):
    for method in ("GET", "DELETE"):
        status, detail = raw(worker, b"", method=method, path="/shots/" + "t" * 300)
        assert status == 422 and detail.startswith("tool: expected 1-200 letters") and len(detail) < 200, detail
    status, detail = raw(worker, b"", method="DELETE", path="/shots/fine-tool.1")
    assert status == 200, detail
