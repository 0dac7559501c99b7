"""Schemathesis against the real worker (``filmstyle serve`` on 127.0.0.1) and its own OpenAPI
document: schema-valid and schema-breaking requests to every operation, a bounded number each,
derandomised. Every answer is a documented 2xx/4xx with a one-line ``detail``, never a 5xx or a
hang, and /health keeps answering."""

from __future__ import annotations

import time

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.core.hostile import start_worker, stop_worker
from tests.core.plates import make_plate_sequence

#: Examples per operation and generation mode (8 operation/mode pairs run).
EXAMPLES = {"POST /jobs": 60, "POST /shots/{tool}/frames": 30}
DEFAULT_EXAMPLES = 15
SHORT = 600


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    w = start_worker(tmp_path_factory.mktemp("fuzz_worker"))
    w["plate"] = make_plate_sequence(w["allowed"] / "src", (1,), width=32, height=24)
    yield w
    stop_worker(w)


@pytest.fixture(scope="module")
def api(worker):
    doc = worker["client"].request("GET", "/openapi.json")
    schema = schemathesis.openapi.from_dict(doc)
    return schema, f"http://127.0.0.1:{worker['info']['port']}", {"Authorization": f"Bearer {worker['info']['token']}"}


def _operations(api):
    schema = api[0]
    return [result.ok() for result in schema.get_all_operations()]


def test_the_document_has_every_operation(api):
    names = sorted(op.label for op in _operations(api))
    assert {"GET /health", "GET /jobs/{job_id}", "GET /jobs/{job_id}/result", "GET /styles", "POST /jobs",
            "POST /jobs/{job_id}/cancel"} <= set(names)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_in_one_line_and_never_5xx(api, worker, mode):
    schema, base_url, auth = api
    session = requests.Session()
    seen: dict[str, int] = {}
    accepted: list[str] = []
    started = time.monotonic()
    for operation in _operations(api):
        if operation.label == "GET /health" and mode is GenerationMode.NEGATIVE:
            continue  # nothing in it to break
        count = EXAMPLES.get(operation.label, DEFAULT_EXAMPLES)

        @settings(max_examples=count, deadline=None, derandomize=True, database=None, print_blob=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(mode), real=st.booleans())
        def check(case, real):
            if real and isinstance(case.body, dict) and mode is GenerationMode.POSITIVE:
                # Half the jobs name a real plate and a built-in look, so the rest of the job is what
                # gets tested, up to a render.
                case.body.update(input=worker["plate"], frames="1", styles=["starry-blue"],
                                 output=str(worker["allowed"] / "out" / f"{len(accepted)}.####.exr"))
            response = case.call(base_url=base_url, session=session, headers=auth, timeout=60)
            seen[f"{operation.label} {response.status_code}"] = seen.get(f"{operation.label} {response.status_code}", 0) + 1
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                                     content_type_conformance, response_schema_conformance],
                                   headers=auth)
            assert response.status_code < 500, response.text[:500]
            if response.status_code >= 400:
                detail = response.json()["detail"]
                assert isinstance(detail, str) and "\n" not in detail and len(detail) <= SHORT, detail[:300]
            if response.status_code == 202:  # a job went through: do not let the fuzzer render all day
                accepted.append(response.json()["id"])
                session.post(f"{base_url}/jobs/{accepted[-1]}/cancel", headers=auth, timeout=30)

        check()
        assert session.get(f"{base_url}/health", headers=auth, timeout=30).json()["status"] == "ok"
    for job_id in accepted:  # accepted jobs end cleanly: cancelled, done, or failed with one line
        final = worker["client"].wait(job_id, timeout=120)
        assert not (final["error"] or "").startswith("internal error"), final
    print(f"{mode.value}: {sum(seen.values())} requests in {time.monotonic() - started:.1f} s: {sorted(seen.items())}")
    assert worker["proc"].poll() is None
