"""Share links across real instances: made on one, read on another, revoked everywhere."""

import requests

SESSION = "e2e_share_session_0001"


def job(**overrides):
    body = {
        "files": [{"id": "a", "name": "a.jpg", "size_bytes": 10, "width": 1000, "height": 1000}],
        "ops": {"upscale": True},
    }
    return body | overrides


def test_link_made_on_a_is_read_on_b_and_revoked_on_a_is_gone_on_b(cluster):
    # given: two instances and a quote (one of a batch) created on A
    a, b = cluster.add_server(), cluster.add_server()
    cluster.wait_ready()
    owner = requests.Session()
    owner.headers["X-Session-Id"] = SESSION
    batch = owner.post(
        f"{a.url}/api/quotes/batch",
        json={"quotes": [job(), job(ttl_seconds=600)]},
        timeout=10,
    )
    assert batch.status_code == 201, batch.text
    quote = batch.json()["results"][1]

    # when: the owner shares it on A
    shared = owner.post(f"{a.url}/api/quotes/{quote['id']}/share", timeout=10)
    assert shared.status_code == 201, shared.text
    link = shared.json()
    assert link["expires_at"] == quote["expires_at"]
    assert link["share_url"].startswith(f"{a.url}/api/shared-quotes/")

    # then: anyone reads it on B, with no credentials at all
    on_b = requests.get(f"{b.url}/api/shared-quotes/{link['token']}", timeout=10)
    assert on_b.status_code == 200, on_b.text
    assert on_b.json()["id"] == quote["id"]
    assert on_b.json()["credits_total"] == quote["credits_total"]
    assert "session_id" not in on_b.json()
    # and sharing again on B gives the same link
    again = owner.post(f"{b.url}/api/quotes/{quote['id']}/share", timeout=10)
    assert again.json()["token"] == link["token"]

    # when: the owner revokes it on A
    revoked = owner.delete(f"{a.url}/api/quotes/{quote['id']}/share", timeout=10)
    assert revoked.status_code == 204

    # then: B refuses it at once, with the same 404 as a forged token
    gone = requests.get(f"{b.url}/api/shared-quotes/{link['token']}", timeout=10)
    forged = requests.get(f"{b.url}/api/shared-quotes/{link['token'][:-2]}xx", timeout=10)
    assert gone.status_code == forged.status_code == 404
    assert gone.json() == forged.json() == {"error": "not_found", "message": "Not found."}
    # and so does A
    assert requests.get(link["share_url"], timeout=10).status_code == 404
