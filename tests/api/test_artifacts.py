"""Artifacts over /api/v1: register by URI, multipart upload, list, streamed download (local disk and S3)."""
from __future__ import annotations

import hashlib
import io
import os
from urllib.parse import unquote

from tests.api.test_projects import ok, seed

SEED_ARTIFACT = {"name": "model.pkl", "path": "s3://experiments/run-001/model.pkl", "type": "model",
                 "size_bytes": 1024000, "metadata": {"framework": "sklearn", "model_type": "MultinomialNB"}}


def _upload(api, url: str, payload: bytes, filename: str, **fields: str):
    return api.post(url, data={"file": (io.BytesIO(payload), filename), **fields}, content_type="multipart/form-data")


def test_register_seed_body(admin) -> None:
    rid = seed(admin)["run_id"]
    art = ok(admin.post(f"/api/v1/runs/{rid}/artifacts", json=SEED_ARTIFACT), 201)
    assert {k: art[k] for k in SEED_ARTIFACT} == SEED_ARTIFACT
    assert art["stored"] is False and art["download_url"] is None and art["run_id"] == rid
    listed = ok(admin.get(f"/api/v1/runs/{rid}/artifacts"))
    assert listed["total"] == 1 and listed["items"][0]["id"] == art["id"]
    content = admin.get(f"/api/v1/runs/{rid}/artifacts/{art['id']}/content")
    assert content.status_code == 404 and content.get_json()["error"]["field"] == "artifact_id"
    again = admin.post(f"/api/v1/runs/{rid}/artifacts", json=SEED_ARTIFACT)
    assert again.status_code == 409 and again.get_json()["error"]["field"] == "name"
    assert ok(admin.get(f"/api/v1/runs/{rid}/artifacts"))["total"] == 1


def test_upload_list_and_download_same_bytes(admin, core) -> None:
    rid = seed(admin)["run_id"]
    big = os.urandom(3 * 1024 * 1024 + 17)  # several chunks and S3 parts' worth of odd length
    small = b"epoch,loss\n1,0.5\n"
    up = ok(_upload(admin, f"/api/v1/runs/{rid}/artifacts", big, "model.bin", type="model",
                    metadata='{"framework": "torch"}'), 201)
    assert up["size_bytes"] == len(big) and up["sha256"] == hashlib.sha256(big).hexdigest()
    assert up["stored"] is True and up["type"] == "model" and up["metadata"] == {"framework": "torch"}
    up2 = ok(_upload(admin, f"/api/v1/runs/{rid}/artifacts/upload", small, "ignored.csv", name="logs/loss.csv"), 201)
    assert up2["name"] == "logs/loss.csv" and up2["size_bytes"] == len(small)
    assert up2["sha256"] == hashlib.sha256(small).hexdigest()

    listed = ok(admin.get(f"/api/v1/runs/{rid}/artifacts"))
    assert listed["total"] == 2 and [a["name"] for a in listed["items"]] == ["logs/loss.csv", "model.bin"]
    for art, payload in ((up, big), (up2, small)):
        response = admin.get(art["download_url"])
        assert response.status_code == 200
        assert response.get_data() == payload
        assert response.headers["X-Content-SHA256"] == hashlib.sha256(payload).hexdigest()
        assert int(response.headers["Content-Length"]) == len(payload)
    assert core.store.kind in ("local", "s3")

    # re-uploading a name replaces the bytes; the list still has one entry for it
    replaced = ok(_upload(admin, f"/api/v1/runs/{rid}/artifacts", b"v2", "model.bin"), 201)
    assert replaced["id"] == up["id"] and replaced["size_bytes"] == 2
    assert admin.get(replaced["download_url"]).get_data() == b"v2"
    assert ok(admin.get(f"/api/v1/runs/{rid}/artifacts"))["total"] == 2


def test_bad_uploads_write_nothing(admin) -> None:
    rid = seed(admin)["run_id"]
    url = f"/api/v1/runs/{rid}/artifacts"
    cases = [
        (admin.post(url, data={"name": "x"}, content_type="multipart/form-data"), "file"),
        (admin.post(f"{url}/upload", data={"name": "x"}, content_type="multipart/form-data"), "file"),
        (_upload(admin, url, b"x", "x.txt", name="../../etc/passwd"), "name"),
        (_upload(admin, url, b"x", "x.txt", name="/abs"), "name"),
        (_upload(admin, url, b"x", "x.txt", type="weird"), "type"),
        (_upload(admin, url, b"x", "x.txt", metadata="[1, 2]"), "metadata"),
        (_upload(admin, url, b"x", "x.txt", metadata="{not json"), "metadata"),
        (_upload(admin, f"{url}/upload", b"x", "x.txt", metadata="{not json"), "metadata"),
        (admin.post(url, json={**SEED_ARTIFACT, "name": "a/../b"}), "name"),
        (admin.post(url, json={**SEED_ARTIFACT, "type": "weird"}), "type"),
        (admin.post(url, json={**SEED_ARTIFACT, "size_bytes": -1}), "size_bytes"),
        (admin.post(url, json={**SEED_ARTIFACT, "size_bytes": "10"}), "size_bytes"),
        (admin.post(url, json={**SEED_ARTIFACT, "path": ""}), "path"),
        (admin.post(url, json={**SEED_ARTIFACT, "metadata": "x"}), "metadata"),
    ]
    for response, field in cases:
        assert response.status_code == 400, response.get_data(as_text=True)
        assert response.get_json()["error"]["field"] == field, response.get_json()
    assert ok(admin.get(url))["total"] == 0
    assert admin.get(f"{url}/00000000-0000-0000-0000-000000000000/content").status_code == 404


def test_awkward_names_download_with_their_exact_name(admin) -> None:
    rid = seed(admin)["run_id"]
    url = f"/api/v1/runs/{rid}/artifacts"
    for name in ("модель.bin", 'quote"d name.txt', "dir/sub dir/x;y.txt"):
        art = ok(_upload(admin, url, name.encode(), "f.bin", name=name), 201)
        assert art["name"] == name
        response = admin.get(art["download_url"])
        assert response.status_code == 200 and response.get_data() == name.encode()
        disposition = response.headers["Content-Disposition"]
        assert disposition.isascii() and "\n" not in disposition
        assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == name.rsplit("/", 1)[-1]
    for name in ("a\r\nX-Evil: 1", "tab\tname", "bell\x07"):
        response = _upload(admin, url, b"x", "f.bin", name=name)
        assert response.status_code == 400 and response.get_json()["error"]["field"] == "name"
        response = admin.post(url, json={"name": name, "path": "s3://b/x"})
        assert response.status_code == 400 and response.get_json()["error"]["field"] == "name"
    assert ok(admin.get(url))["total"] == 3


PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def test_inline_serves_images_as_themselves_and_everything_else_as_a_download(admin) -> None:
    rid = seed(admin)["run_id"]
    url = f"/api/v1/runs/{rid}/artifacts"
    image = ok(_upload(admin, url, PNG, "plot.png", type="image"), 201)
    svg = ok(_upload(admin, url, b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
                     "diagram.svg", type="image"), 201)
    page = ok(_upload(admin, url, b"<script>alert(1)</script>", "report.html", type="text"), 201)
    shown = admin.get(f"{image['download_url']}?inline=1")
    assert shown.status_code == 200 and shown.get_data() == PNG and shown.mimetype == "image/png"
    assert shown.headers["Content-Disposition"].startswith('inline; filename="plot.png"')
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    plain = admin.get(image["download_url"])
    assert plain.headers["Content-Disposition"].startswith("attachment;") and plain.get_data() == PNG
    drawn = admin.get(f"{svg['download_url']}?inline=1")
    assert drawn.mimetype == "image/svg+xml" and drawn.headers["Content-Disposition"].startswith("inline;")
    assert "sandbox" in drawn.headers["Content-Security-Policy"]  # its script never runs in this origin
    assert b"<svg" in drawn.get_data()  # read each streamed body here, inside this test's own contexts
    html_file = admin.get(f"{page['download_url']}?inline=1")
    assert html_file.status_code == 200 and html_file.headers["Content-Disposition"].startswith("attachment;")
    assert "Content-Security-Policy" not in html_file.headers and html_file.get_data().startswith(b"<script>")
