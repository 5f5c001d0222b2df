"""Deploying without holes (issue 17, item 1).

`fastly compute deploy` creates a new service's stores and backends from fastly.toml's
`[setup]` and takes what it is given: a config item with `value = ""` becomes the CLI's
default "example" (so `admins = "example"` made whoever signs up as "example" an admin),
and `REPLACE-WITH-YOUR-DOMAIN` is accepted as is. These tests read the real fastly.toml:
no `[setup]` config value may be empty, and every placeholder left in `[setup]` must be one
the running service refuses, with a 503 that names the setting (src/deploy.rs,
src/http/deployment.rs).
"""

import re
import tomllib

from conftest import ROOT
from helpers import get, random_room
from auth_helpers import signed_up

# What the manifest says instead of the service's domain, and what the CLI stores for an
# empty config value (fastly/cli pkg/commands/compute/setup/config_store.go).
PLACEHOLDER = "REPLACE-WITH-YOUR-DOMAIN"
CLI_DEFAULT = "example"
HTML = {"Accept": "text/html"}


def setup():
    return tomllib.loads((ROOT / "fastly.toml").read_text())["setup"]


def config_items():
    """(store, key, value) of every config item `[setup]` creates."""
    return [(store, key, item.get("value", ""))
            for store, spec in setup().get("config_stores", {}).items()
            for key, item in spec.get("items", {}).items()]


def is_placeholder(value):
    return PLACEHOLDER.lower() in value.lower() or value.strip().lower() in ("", CLI_DEFAULT)


def test_no_setup_config_value_is_left_to_the_cli_default():
    items = config_items()
    assert items, "fastly.toml [setup] creates no config items?"
    empty = [key for _, key, value in items if not value.strip()]
    assert not empty, f"[setup] config items the CLI would set to {CLI_DEFAULT!r}: {empty}"
    defaults = [key for _, key, value in items if value.strip().lower() == CLI_DEFAULT]
    assert not defaults, f"[setup] config items set to the CLI's default: {defaults}"


def test_admins_are_never_created_by_setup():
    """The hole itself: whatever admins [setup] would create is someone's name typed at a
    prompt, or "example". They are set after the deploy (README)."""
    assert "admins" not in [key for _, key, _ in config_items()]


def refused(stack, names, room):
    """The stack answers the API with 503 JSON and a browser with a 503 page, both naming
    every setting in `names`; its static files are still served."""
    r = get(stack.url, f"/rooms/{room}/messages/")
    assert r.status == 503, r
    assert r.media_type == "application/json", r
    body = r.json()
    assert body["error"] == "unavailable", body
    for name in names:
        assert name.lower() in body["message"].lower(), (name, body)
    assert r.headers.get("Retry-After") == "60", r

    page = get(stack.url, "/", headers=HTML)
    assert page.status == 503, page
    assert page.media_type == "text/html", page
    for name in names:
        assert name.lower() in page.text.lower(), (name, page.text)
    css = re.search(r'href="(/static/app\.[^"]+\.css)"', page.text)
    assert css, page.text
    assert get(stack.url, css.group(1)).status == 200

    # The error names each setting in a log line too (fastly log-tail shows it).
    log = (stack.dir / "viceroy.log").read_text(errors="replace")
    for name in names:
        assert re.search(rf"ERROR deployment misconfigured: .*{re.escape(name)}", log,
                         re.IGNORECASE), name


def test_every_setup_placeholder_is_refused_at_runtime(make_stack, room):
    """Each placeholder [setup] still holds is given to a stack as the CLI would store it,
    and the stack must refuse it by name. A new placeholder the service does not check
    fails here."""
    config = {key: value.strip() or CLI_DEFAULT
              for _, key, value in config_items() if is_placeholder(value)}
    backends = {name: f"http://{spec.get('address') or '127.0.0.1'}:{spec.get('port', 443)}/"
                for name, spec in setup().get("backends", {}).items()
                if is_placeholder(spec.get("address", ""))}
    if not config and not backends:
        return  # nothing left to refuse (the checks themselves: the test below)
    stack = make_stack(config=config, backends=backends)
    names = [f"edge_chat_config: {key}" for key in config] + [f"backend {b}" for b in backends]
    refused(stack, names, room)


def test_the_cli_default_as_domain_is_refused(make_stack, room):
    """"example" (the CLI's default for an empty value) as rp_id, as rp_origins' host and
    as backend self's host."""
    stack = make_stack(config={"rp_id": CLI_DEFAULT, "rp_origins": "https://example"},
                       backends={"self": "http://example:443/"})
    refused(stack, ["edge_chat_config: rp_id", "edge_chat_config: rp_origins", "backend self"],
            room)


def test_a_normal_stack_is_not_refused(stack, room):
    r = get(stack.url, f"/rooms/{room}/messages/")
    assert r.status == 200, r
    assert get(stack.url, "/", headers=HTML).status == 200


def test_example_as_admins_is_ignored(make_stack, room):
    """admins = "example" (what [setup] used to create) makes nobody an admin, and the
    deployment still runs."""
    stack = make_stack(config={"auth_mode": "passkey", "admins": CLI_DEFAULT})
    example = signed_up(stack, "example")
    r = example.delete(f"/rooms/{room}/messages/")
    assert r.status == 403, r
    assert "admin" in r.json()["message"], r
