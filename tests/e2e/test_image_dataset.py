"""An image dataset end to end through the public API: an image keyword job searched through a
local SearXNG-compatible server, the images fetched from a generated image site and kept with
their facts, a validation job, and the images listed by verdict, label and reason."""

from __future__ import annotations

import logging

import httpx
import pytest

from shared.config import Settings
from shared.service import ServiceRuntime, running
from tests.sites.image_site import IMAGES, KEYWORD, RULES, STORED, VALID, ImageSite
from tests.sites.search_engines import FakeSearxng
from tests.support import wait_until
from trawl.api_commands import bootstrap_tenant
from trawl.client import TrawlClient
from trawl.crawling import follow
from trawl.demo import demo_settings
from trawl.images import follow_validation
from trawl.registry import all_specs

pytestmark = pytest.mark.integration


async def test_an_image_keyword_job_ends_with_the_expected_valid_and_invalid_images(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with ImageSite() as site, FakeSearxng(site.search_index()) as searxng:
        settings = demo_settings(settings).model_copy(update={"searxng_url": searxng.base_url})
        others = [
            ServiceRuntime(spec, settings, http_port=0) for spec in all_specs() if spec.name != "ingest"
        ]
        async with running(others):
            urls = {runtime.spec.name: runtime.http.url for runtime in others if runtime.http is not None}
            wired = settings.model_copy(
                update={"extractor_internal_url": urls["extractor"], "crawler_internal_url": urls["crawler"]}
            )
            ingest_spec = next(spec for spec in all_specs() if spec.name == "ingest")
            async with running([ServiceRuntime(ingest_spec, wired, http_port=0)]) as (ingest,):
                assert ingest.http is not None
                made = await bootstrap_tenant(wired, "images", "images@localhost")
                api = httpx.AsyncClient(
                    base_url=ingest.http.url, headers={"Authorization": f"Bearer {made.key.plaintext}"}
                )
                async with TrawlClient(ingest.http.url, made.key.plaintext) as client, api:
                    project = (await api.post("/v1/projects", json={"name": "lighthouses"})).json()
                    job = await client.create_job(
                        {
                            "name": "lighthouses",
                            "kind": "images",
                            "keywords": [KEYWORD],
                            "limits": {"max_images": 50},
                            "project_id": project["id"],
                        }
                    )
                    run = await follow(client, (await client.start_run(job["id"]))["id"], wait_seconds=180)
                    assert run["status"] == "completed", run
                    before = await client.images(run["id"])
                    started = await client.validate(run["id"], RULES)
                    validation = await follow_validation(client, started["id"], wait_seconds=120)
                    everything = await client.images(run["id"])
                    valid = await client.images(run["id"], valid=True)
                    invalid = await client.images(run["id"], valid=False)
                    near = await client.images(run["id"], reason="near_duplicate")
                    other_label = await client.images(run["id"], label="something else")
                    file = everything["images"][0]
                    async with httpx.AsyncClient() as plain:
                        downloaded = await plain.get(file["file_url"])
                        thumbnail = await plain.get(file["thumbnail_url"])
                        activity = (await api.get(f"/v1/projects/{project['id']}/activity")).json()
                        deleted = await api.delete(f"/v1/projects/{project['id']}")

                        async def file_gone() -> bool:
                            return (await plain.get(file["file_url"])).status_code == 404

                        await wait_until(file_gone, within=60, what="the image deleted from S3")
                    assert (await api.get(f"/v1/runs/{run['id']}")).status_code == 404
                    assert (await api.get(f"/v1/projects/{project['id']}")).status_code == 404

    by_url = {image["url"]: image for image in everything["images"]}
    # The noai image was not kept; every other one was, with its facts.
    assert set(by_url) == {site.url(image.path) for image in STORED}
    assert {image["valid"] for image in before["images"]} == {None}  # not yet validated
    for image in STORED:
        listed = by_url[site.url(image.path)]
        assert listed["label"] == KEYWORD
        assert listed["alt_text"] == image.alt
        assert listed["page_url"] == site.url(f"/gallery/{image.name}")
        assert listed["bytes"] == len(site.bodies[image.name])
        assert (listed["valid"], tuple(listed["reasons"])) == (not image.reasons, image.reasons), image.name
    assert by_url[site.url("/images/lamp-room.jpg")]["exif_orientation"] == 6
    assert by_url[site.url("/images/mast-corrupt.png")]["decode_error"] == "corrupt"
    assert (
        by_url[site.url("/images/lighthouse-dawn-copy.jpg")]["duplicate_of"]
        == (by_url[site.url("/images/lighthouse-dawn.jpg")]["image_key"])
    )
    assert {image["url"] for image in valid["images"]} == {site.url(image.path) for image in VALID}
    assert {image["url"] for image in invalid["images"]} == {
        site.url(image.path) for image in STORED if image.reasons
    }
    assert [image["url"] for image in near["images"]] == [site.url("/images/lighthouse-dawn-small.jpg")]
    assert other_label["images"] == []
    expected_reasons: dict[str, int] = {}
    for image in STORED:
        for reason in image.reasons:
            expected_reasons[reason] = expected_reasons.get(reason, 0) + 1
    assert everything["reasons"] == expected_reasons == validation["reasons"]
    assert (validation["total"], validation["validated"], validation["valid"], validation["progress"]) == (
        len(STORED),
        len(STORED),
        len(VALID),
        100,
    )
    assert downloaded.content == site.bodies[file["url"].rsplit("/", 1)[1]]
    assert thumbnail.headers["content-type"].startswith("image/jpeg") or thumbnail.content[:2] == b"\xff\xd8"
    assert len(IMAGES) == len(STORED) + 1
    # The project's feed: the calls made on it, and what happened to its run and validation.
    kinds = [entry["kind"] for entry in reversed(activity)]
    assert kinds[:1] == ["POST /v1/jobs"] and "run.started" in kinds
    assert kinds.index("run.completed") < kinds.index("validation.completed")
    done = next(entry for entry in activity if entry["kind"] == "validation.completed")
    assert done["detail"]["invalid"] == len(STORED) - len(VALID)
    assert deleted.status_code == 204
    # No secret in any log line of the whole run: the API key, S3's secret, the internal token.
    logged = "\n".join(caplog.text.splitlines() + [record.getMessage() for record in caplog.records])
    secrets = [made.key.plaintext, settings.s3_secret_key, wired.internal_token]
    assert logged and not [secret for secret in secrets if secret and secret in logged]
