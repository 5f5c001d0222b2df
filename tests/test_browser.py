"""The web UI end to end: the pages and assets over plain HTTP, then the chat in a real
browser (Debian's Chromium through Playwright) against the real local stack.

HTTP tests look at exactly what goes over the wire (helpers.request); browser tests use
one browser for the session and a fresh context (own storage) per simulated person.
"""

import gzip
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.parse

import pytest
from playwright.sync_api import expect, sync_playwright

from browser_helpers import (README_SCREENSHOT, UPDATE_SCREENSHOTS, Tab, launch,
                             screenshot)
from helpers import get, post_ok, random_room, request

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'")
TEXT_MAX = 1000
HTML_ACCEPT = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def assert_page_headers(r):
    assert r.media_type == "text/html", r
    assert r.headers.get("Content-Security-Policy") == CSP, r
    assert r.headers.get("X-Content-Type-Options") == "nosniff", r
    assert r.headers.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin"), r


def asset_paths(html):
    """The /static/... URLs a page references (script, preload, stylesheet, icon)."""
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


# ------------------------------------------------------------------ pages over HTTP

def test_join_page(stack):
    r = get(stack.url, "/")
    assert r.status == 200, r
    assert_page_headers(r)
    assert r.headers.get("Cache-Control") == "no-cache", r
    html = r.text
    assert '<form id="join" method="get" action="/"' in html
    assert re.search(r'<input id="user" name="user" value=""[^>]* required', html), html
    assert re.search(r'<input id="room" name="room" value="lobby"', html), html
    assert '<label for="user">' in html and '<label for="room">' in html
    assert 'name="viewport"' in html
    # No inline script at all: only external module scripts.
    assert re.findall(r"<script[^>]*>", html) == [
        f'<script type="module" src="{p}">' for p in asset_paths(html) if "/join." in p]


def test_root_with_user_redirects_into_the_room(stack):
    r = get(stack.url, "/?user=" + urllib.parse.quote("ann & bob/ü?#"))
    assert r.status == 302, r
    assert r.headers["Location"] == "/lobby?user=ann%20%26%20bob%2F%C3%BC%3F%23", r
    # The join form's own submission names the room.
    r = get(stack.url, "/?user=ann&room=my-room.1")
    assert (r.status, r.headers["Location"]) == (302, "/my-room.1?user=ann"), r
    # Refused input comes back as the form with the reason, not as a redirect.
    for query in ("?user=ann&room=not%20a%20room", "?user=%20%20", "?user=" + "x" * 65):
        r = get(stack.url, "/" + query)
        assert r.status == 400, r
        assert_page_headers(r)
        assert 'role="alert"' in r.text, r
    r = get(stack.url, "/?room=elsewhere")
    assert r.status == 200 and 'value="elsewhere"' in r.text, r


def test_chat_page_renders_history_escaped(stack, room):
    first = post_ok(stack.url, room, "ann", "first")
    evil = post_ok(stack.url, room, '"><i>mallory', "<b>x</b> & <script>alert(1)</script>")
    r = get(stack.url, f"/{room}")
    assert r.status == 200, r
    assert_page_headers(r)
    assert r.headers.get("Cache-Control") == "no-cache", r
    html = r.text
    assert "&lt;b&gt;x&lt;/b&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>x</b>" not in html and "<script>alert" not in html and "<i>mallory" not in html
    assert 'data-from="&quot;&gt;&lt;i&gt;mallory"' in html
    assert f'data-last-event-id="{evil["id"]}"' in html
    assert html.index(f'data-id="{first["id"]}"') < html.index(f'data-id="{evil["id"]}"')
    assert f'<time datetime="{first["date"]}"' in html


def test_chat_page_renders_only_the_newest_50_oldest_first(stack, room):
    for i in range(1, 56):
        post_ok(stack.url, room, "ann", f"m{i}")
    r = get(stack.url, f"/{room}?user=ann")
    ids = [int(x) for x in re.findall(r'<li class="msg[^"]*" data-id="(\d+)"', r.text)]
    assert ids == list(range(6, 56)), ids
    assert 'data-last-event-id="55"' in r.text
    # The posts left this POP a copy of the room's head: the page reads no KV.
    assert r.headers.get("Server-Timing", "").startswith('kv;desc="0 ops"'), r
    # Someone who came with ?user= sees their own messages marked, and the composer.
    assert '<li class="msg own" data-id="55"' in r.text
    assert '<form id="composer" class="composer">' in r.text
    # The "load older" button is there because message 5 and older exist.
    assert re.search(r'<button type="button" id="older"[^>]*>', r.text).group(0).find("hidden") == -1


def test_empty_room_page(stack, room):
    r = get(stack.url, f"/{room}")
    assert r.status == 200, r
    assert 'data-last-event-id="0"' in r.text
    assert '<li class="msg' not in r.text
    # Nobody known yet: the nickname form is shown, the composer hidden.
    assert '<form id="nick-form" method="get" action="/%s">' % room in r.text
    assert '<form id="composer" class="composer" hidden>' in r.text


@pytest.mark.parametrize("path", ["/bad%20room", "/" + "x" * 65, "/a:b", "/%C3%A9"])
def test_invalid_room_path_is_an_html_404(stack, path):
    r = get(stack.url, path)
    assert r.status == 404, r
    assert_page_headers(r)
    assert "Nothing here" in r.text and 'href="/"' in r.text


def test_unknown_paths(stack):
    # A browser gets the friendly page...
    for path in ("/a/b", "/lobby/", "/static/nope.js", "/favicon.ico"):
        r = get(stack.url, path, headers=HTML_ACCEPT)
        assert r.status == 404, (path, r)
        assert_page_headers(r)
    # ...the API keeps its JSON errors, and so do clients that do not ask for HTML.
    for path, headers in (("/rooms/x/nope/", HTML_ACCEPT), ("/rooms/bad room/messages/", {}),
                          ("/a/b", {})):
        r = get(stack.url, path.replace(" ", "%20"), headers=headers)
        assert r.status in (400, 404) and r.media_type == "application/json", (path, r)


def test_pages_answer_head(stack):
    for path in ("/", "/lobby"):
        r = request(stack.url, "HEAD", path)
        assert r.status == 200 and r.body == b"", r
        assert_page_headers(r)


def test_pages_refuse_other_methods(stack):
    r = request(stack.url, "POST", "/lobby", b"x=1",
                {"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 405 and r.headers.get("Allow") == "GET, HEAD", r
    assert_page_headers(r)


# ------------------------------------------------------------------ assets over HTTP

def test_assets_are_fingerprinted_immutable_and_revalidated(stack):
    paths = asset_paths(get(stack.url, "/lobby").text)
    kinds = {p.rsplit(".", 1)[1] for p in paths}
    assert kinds == {"js", "css", "svg"}, paths
    types = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}
    for path in paths:
        assert re.fullmatch(r"/static/[a-z]+\.[0-9a-f]{12}\.[a-z]+", path), path
        r = get(stack.url, path)
        assert r.status == 200, r
        assert r.media_type == types[path.rsplit(".", 1)[1]], r
        assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable", r
        assert r.headers.get("X-Content-Type-Options") == "nosniff", r
        etag = r.headers["ETag"]
        assert re.fullmatch(r'"[0-9a-f]{12}"', etag), r
        assert etag.strip('"') in path
        again = get(stack.url, path, headers={"If-None-Match": etag})
        assert again.status == 304 and again.body == b"", again
        assert again.headers["ETag"] == etag, again
        assert get(stack.url, path, headers={"If-None-Match": '"other"'}).status == 200
        # The plain name is the same file, revalidated on every use.
        plain = re.sub(r"\.[0-9a-f]{12}\.", ".", path)
        r2 = get(stack.url, plain)
        assert r2.status == 200 and r2.body == r.body, r2
        assert r2.headers["Cache-Control"] == "no-cache", r2
        assert get(stack.url, plain, headers={"If-None-Match": etag}).status == 304


def test_assets_are_served_compressed_when_accepted(stack):
    html = get(stack.url, "/lobby").text
    script = next(p for p in asset_paths(html) if "/chat." in p)
    identity = get(stack.url, script)
    assert identity.headers.get("Content-Encoding") is None, identity
    assert identity.headers.get("Vary") == "Accept-Encoding", identity

    gz = get(stack.url, script, headers={"Accept-Encoding": "gzip"})
    assert gz.headers.get("Content-Encoding") == "gzip", gz
    assert gz.headers.get("Vary") == "Accept-Encoding", gz
    assert gzip.decompress(gz.body) == identity.body
    assert len(gz.body) < len(identity.body) / 2
    assert gz.headers["ETag"] != identity.headers["ETag"]
    # Any encoding's ETag revalidates: it is the same file.
    r = get(stack.url, script, headers={"Accept-Encoding": "gzip",
                                        "If-None-Match": identity.headers["ETag"]})
    assert r.status == 304, r

    # A browser's list gets the gzip copy (no brotli copy: see src/web/assets.rs).
    r = get(stack.url, script, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert r.headers.get("Content-Encoding") == "gzip" and r.body == gz.body, r
    r = get(stack.url, script, headers={"Accept-Encoding": "br, gzip;q=0"})
    assert r.headers.get("Content-Encoding") is None and r.body == identity.body, r


def test_ui_size_budget(stack):
    """The whole UI (every asset the join and chat pages load) stays small; the numbers
    are printed for the README (`pytest -s`)."""
    todo = set(asset_paths(get(stack.url, "/").text) + asset_paths(get(stack.url, "/lobby").text))
    seen, raw, gz = set(), 0, 0
    while todo:  # the pages' assets and every module they import, each once
        path = todo.pop()
        seen.add(path)
        body = get(stack.url, path).body
        raw += len(body)
        gz += len(gzip.compress(body, 9))
        if path.endswith(".js"):
            todo |= {f"/static/{m}" for m in re.findall(r"""from '\./([^']+)'""", body.decode())} - seen
    assert any("live." in p for p in seen), seen  # imports were followed
    print(f"\nUI assets ({len(seen)} files): {raw} bytes raw, {gz} bytes gzipped")
    # Light formatting and the people list (issue 21 items 4 and 6) took it from 18.9 to
    # 20.5 KB gzipped; reactions, replies and mentions (conversation.js, reactions.js,
    # reply.js, mentions.js) about 7 KB more (2026-12-05). Private rooms' modules load only
    # when signed in.
    assert raw < 84_000 and gz < 29_000, (raw, gz)


# ------------------------------------------------------------------ in the browser

@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def tabs(browser):
    """tabs() opens a page in a fresh context; all are closed after the test."""
    opened = []

    def open_tab(**context_options):
        opened.append(Tab(browser, **context_options))
        return opened[-1]

    yield open_tab
    for tab in opened:
        tab.close()


def test_two_people_chat_live(stack, tabs):
    room = random_room("demo")[:9]  # short: it shows in the README screenshot
    post_ok(stack.url, room, "carol", "Welcome to the room! The docs: https://www.fastly.com/documentation/")
    ann, bob = tabs(), tabs()
    ann.goto(f"{stack.url}/{room}?user=ann")
    bob.goto(f"{stack.url}/{room}?user=bob")
    ann.wait_live()
    bob.wait_live()

    started = time.monotonic()
    ann.send("Hi Bob, are you there?")
    expect(bob.message("Hi Bob, are you there?")).to_have_count(1, timeout=2000)
    assert time.monotonic() - started < 2.5
    bob.send("Yes!\nTwo lines, and a link: https://example.com/x_(y).")
    expect(ann.message("Yes!")).to_have_count(1, timeout=2000)

    # Each sees each message once, in the same order; own ones look different.
    expect(ann.log_items()).to_have_count(3)
    time.sleep(0.5)
    assert ann.messages() == bob.messages()
    assert [m[1] for m in ann.messages()] == ["carol", "ann", "bob"]
    expect(ann.page.locator("#log > li.msg.own")).to_have_count(1)
    expect(ann.page.locator("#log > li.msg.own .from")).to_have_text("ann")
    expect(bob.page.locator("#log > li.msg.own .from")).to_have_text("bob")

    # Links are real links, built from text; multi-line text keeps its lines.
    link = ann.page.locator("#log a", has_text="example.com")
    expect(link).to_have_attribute("href", "https://example.com/x_(y)")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(link).to_have_attribute("target", "_blank")
    assert ann.messages()[-1][2] == "Yes!\nTwo lines, and a link: https://example.com/x_(y)."
    # Relative times, with the full date on hover.
    time_el = ann.page.locator("#log > li.msg time").last
    expect(time_el).to_have_text("just now")
    assert re.search(r"\d{4}", time_el.get_attribute("title"))
    # The newest message is announced to screen readers.
    expect(ann.page.locator("#announce")).to_contain_text("bob: Yes!")
    expect(ann.page.locator("#text")).to_be_focused()

    bob.page.locator("#text").fill("Typing…")
    path = screenshot(bob.page, "chat.png")
    if UPDATE_SCREENSHOTS:
        README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, README_SCREENSHOT)
    ann.assert_clean()
    bob.assert_clean()


def test_join_page_remembers_and_joins(stack, tabs, room):
    tab = tabs()
    tab.goto(f"{stack.url}/")
    expect(tab.page.locator("#user")).to_be_focused()
    screenshot(tab.page, "join.png")
    tab.page.fill("#user", "dora the explorer")
    tab.page.fill("#room", room)
    tab.page.click("#join button[type=submit]")
    tab.page.wait_for_url(f"**/{room}?user=dora%20the%20explorer")
    tab.wait_live()
    expect(tab.page.locator("#me")).to_have_text("dora the explorer")
    # Next visit: both are filled in from localStorage.
    tab.goto(f"{stack.url}/")
    expect(tab.page.locator("#user")).to_have_value("dora the explorer")
    expect(tab.page.locator("#room")).to_have_value(room)
    tab.assert_clean()


def test_nickname_is_asked_for_inline_and_remembered(stack, tabs, room):
    tab = tabs()
    tab.goto(f"{stack.url}/{room}")
    expect(tab.page.locator("#composer")).to_be_hidden()
    nick = tab.page.locator("#nick")
    expect(nick).to_be_visible()
    expect(nick).to_be_focused()
    nick.fill("eve")
    nick.press("Enter")
    expect(tab.page.locator("#composer")).to_be_visible()
    expect(tab.page.locator("#text")).to_be_focused()
    expect(tab.page.locator("#me")).to_have_text("eve")
    tab.send("hello")
    expect(tab.message("hello")).to_have_count(1)
    expect(tab.page.locator("#log > li.msg.own .from")).to_have_text("eve")
    # Same browser, later: no question asked.
    tab.goto(f"{stack.url}/{room}")
    expect(tab.page.locator("#composer")).to_be_visible()
    expect(tab.page.locator("#nick-form")).to_be_hidden()
    expect(tab.page.locator("#log > li.msg.own")).to_have_count(1)
    tab.assert_clean()


def test_history_is_readable_without_javascript(stack, tabs, room):
    for i in range(3):
        post_ok(stack.url, room, "ann", f"message {i} <b>bold?</b>")
    tab = tabs(java_script_enabled=False)
    tab.goto(f"{stack.url}/{room}")
    assert tab.messages() == [(i + 1, "ann", f"message {i} <b>bold?</b>") for i in range(3)]
    expect(tab.page.locator("#log b")).to_have_count(0)
    expect(tab.status()).to_have_text("Live updates need JavaScript")
    tab.assert_clean()


XSS_FLAG = "window.__xss"
XSS = '<img src=x onerror="window.__xss=1;console.log(\'XSS\')">'


def test_markup_in_messages_is_shown_literally_and_never_runs(stack, tabs, room):
    # bypass_csp: the CSP would block an inline handler anyway; switching it off here
    # shows that the rendering itself never creates elements from text.
    post_ok(stack.url, room, XSS, XSS)  # rendered by the server
    tab = tabs(bypass_csp=True)
    tab.goto(f"{stack.url}/{room}?user=ann")
    tab.wait_live()
    post_ok(stack.url, room, "mallory", XSS + " live")  # arrives over SSE
    tab.send(XSS + " mine")  # rendered from our own POST's response
    expect(tab.log_items()).to_have_count(3)
    time.sleep(0.5)
    assert [m[2] for m in tab.messages()] == [XSS, XSS + " live", XSS + " mine"]
    assert tab.messages()[0][1] == XSS
    expect(tab.page.locator("main img, main script, main [onerror]")).to_have_count(0)
    assert tab.page.evaluate(XSS_FLAG) is None
    assert not any("XSS" in line for line in tab.console), tab.console
    # The announcement for screen readers is text too.
    expect(tab.page.locator("#announce img")).to_have_count(0)
    tab.assert_clean()


def test_own_message_appears_once_and_errors_keep_the_text(stack, tabs, room):
    tab = tabs()
    tab.goto(f"{stack.url}/{room}?user=ann")
    tab.wait_live()
    tab.send("only once")
    expect(tab.message("only once")).to_have_count(1)
    expect(tab.page.locator("#text")).to_have_value("")
    time.sleep(1)  # the SSE copy has arrived by now, and was dropped
    expect(tab.message("only once")).to_have_count(1)

    # The counter follows the server's limit; over it, nothing is sent.
    box = tab.page.locator("#text")
    box.fill("é" * TEXT_MAX)
    expect(tab.page.locator("#count")).to_have_text(f"{TEXT_MAX} / {TEXT_MAX}")
    box.fill("é" * (TEXT_MAX + 1))
    expect(tab.page.locator("#count")).to_have_class(re.compile(r"\bover\b"))
    box.press("Enter")
    expect(tab.page.locator("#send-error")).to_contain_text(str(TEXT_MAX))
    expect(box).to_have_value("é" * (TEXT_MAX + 1))

    # A 400 from the server: its message is shown and the text stays for editing.
    box.fill("bell \u0007 character")
    box.press("Enter")
    expect(tab.page.locator("#send-error")).to_have_text(
        "The field 'text' contains a control character.")
    expect(box).to_have_value("bell \u0007 character")
    expect(box).to_be_editable()

    # Shift+Enter is a new line, not a send.
    box.fill("line one")
    box.press("Shift+Enter")
    box.type("line two")
    expect(box).to_have_value("line one\nline two")
    box.press("Enter")
    expect(tab.message("line one\nline two")).to_have_count(1)
    expect(tab.log_items()).to_have_count(2)
    tab.assert_clean()


def test_network_error_keeps_the_text_and_retries(stack, tabs, room):
    tab = tabs()
    tab.goto(f"{stack.url}/{room}?user=ann")
    tab.wait_live()
    calls = []

    def flaky(route):
        calls.append(route.request.method)
        if len(calls) == 1:
            route.abort("internetdisconnected")
        else:
            route.continue_()

    tab.page.route(re.compile(r".*/messages/$"), flaky)
    tab.send("survives a dropped request")
    expect(tab.page.locator("#send-error")).to_contain_text("Retrying")
    expect(tab.message("survives a dropped request")).to_have_count(1, timeout=5000)
    assert calls == ["POST", "POST"]
    expect(tab.page.locator("#text")).to_have_value("")
    expect(tab.page.locator("#send-error")).to_have_text("")
    tab.assert_clean()


def bob_after_ann(stack, tabs, room, texts):
    """A live page of bob's in a room where ann has posted `texts`."""
    for text in texts:
        post_ok(stack.url, room, "ann", text)
    tab = tabs()
    tab.goto(f"{stack.url}/{room}?user=bob")
    tab.wait_live()
    return tab


def test_load_older_messages(stack, tabs, room):
    tab = bob_after_ann(stack, tabs, room, [f"n{i}" for i in range(1, 121)])
    expect(tab.log_items()).to_have_count(50)
    older = tab.page.locator("#older")
    older.click()
    expect(tab.log_items()).to_have_count(100)
    expect(older).to_be_visible()
    older.click()
    expect(tab.log_items()).to_have_count(120)
    expect(older).to_be_hidden()
    expect(tab.page.locator("#scroller")).to_be_focused()
    assert [m[0] for m in tab.messages()] == list(range(1, 121))
    assert [m[2] for m in tab.messages()] == [f"n{i}" for i in range(1, 121)]


def test_new_messages_button_when_scrolled_up(stack, tabs, room):
    tab = bob_after_ann(stack, tabs, room, [f"filler {i}\nwith a second line" for i in range(1, 41)])
    scroller = tab.page.locator("#scroller")
    at_bottom = "e => e.scrollHeight - e.scrollTop - e.clientHeight < 48"
    assert scroller.evaluate(at_bottom)
    # At the bottom, a new message scrolls into view by itself.
    post_ok(stack.url, room, "ann", "while at the bottom")
    expect(tab.message("while at the bottom")).to_be_in_viewport()
    expect(tab.page.locator("#jump")).to_be_hidden()
    # Scrolled up, it does not move the reader; a button offers the way down.
    scroller.evaluate("e => { e.scrollTop = 0; }")
    post_ok(stack.url, room, "ann", "while reading old ones")
    expect(tab.page.locator("#jump")).to_be_visible()
    assert scroller.evaluate("e => e.scrollTop") == 0
    tab.page.locator("#jump").click()
    expect(tab.message("while reading old ones")).to_be_in_viewport()
    expect(tab.page.locator("#jump")).to_be_hidden()


def test_reconnects_after_a_fanout_outage_without_losing_or_repeating(make_stack, tabs, room):
    s = make_stack()
    tab = tabs()
    tab.goto(f"{s.url}/{room}?user=ann")
    tab.wait_live()
    post_ok(s.url, room, "bob", "before")
    expect(tab.message("before")).to_have_count(1)

    s.stop_pushpin()
    expect(tab.status()).to_have_attribute("data-state", re.compile("reconnecting|offline"),
                                           timeout=10_000)
    expect(tab.status()).to_have_text(re.compile("reconnecting|offline", re.I))
    # Posted while the stream is down: over HTTP by others, and from this page.
    post_ok(s.url, room, "bob", "during 1")
    post_ok(s.url, room, "bob", "during 2")
    tab.send("mine during")
    expect(tab.message("mine during")).to_have_count(1)
    time.sleep(2)  # let the page fail at least one reconnect of its own
    expect(tab.status()).not_to_have_attribute("data-state", "live")

    s.start_pushpin()
    tab.wait_live(timeout=20_000)
    post_ok(s.url, room, "bob", "after")
    expect(tab.message("after")).to_have_count(1, timeout=5000)
    time.sleep(1)
    texts = [m[2] for m in tab.messages()]
    assert texts == ["before", "during 1", "during 2", "mine during", "after"], texts
    ids = [m[0] for m in tab.messages()]
    assert ids == sorted(set(ids)), ids
    tab.assert_clean()


def test_a_silent_stream_is_noticed_and_replaced(make_stack, tabs, room):
    """A connection can die without an error reaching the page (a stalled proxy, a phone
    changing networks). Frozen with SIGSTOP, Pushpin keeps its sockets open but sends
    nothing, not even keep-alives (every second here): the page must notice by itself."""
    s = make_stack(config={"keep_alive_secs": "1"})
    tab = tabs()
    tab.goto(f"{s.url}/{room}?user=ann")
    tab.wait_live()
    # Pushpin's parts run in their own process groups, in the session stack.py gave it.
    ps = subprocess.run(["ps", "-o", "pid=", "-s", str(s.pushpin.pid)],
                        capture_output=True, text=True, check=True)
    pushpin = [int(pid) for pid in ps.stdout.split()]
    assert s.pushpin.pid in pushpin and len(pushpin) >= 4, pushpin
    for pid in pushpin:
        os.kill(pid, signal.SIGSTOP)
    try:
        # Silence for 2.5 keep-alive intervals + 5 s, then a new stream.
        expect(tab.status()).to_have_attribute("data-state", "reconnecting", timeout=15_000)
        post_ok(s.url, room, "bob", "while frozen")
    finally:
        for pid in pushpin:
            os.kill(pid, signal.SIGCONT)
    tab.wait_live(timeout=30_000)
    expect(tab.message("while frozen")).to_have_count(1, timeout=5000)
    tab.assert_clean()


def first_stream_resumes_from(tab, last_event_id):
    """Makes the page's first EventSource ask for `last_event_id` (later ones are left
    alone), as if the page had been rendered with that id."""
    rewritten = []

    def rewrite(route):
        url = route.request.url
        if rewritten or "lastEventId=" not in url:
            return route.continue_()
        rewritten.append(url)
        route.continue_(url=re.sub(r"lastEventId=[^&]*", f"lastEventId={last_event_id}", url))

    tab.page.route(re.compile(r".*/events/\?.*"), rewrite)
    return rewritten


def test_stream_reset_shows_a_notice_and_stays_live(stack, tabs, room):
    post_ok(stack.url, room, "ann", "one")
    tab = tabs()
    rewritten = first_stream_resumes_from(tab, 999)
    tab.goto(f"{stack.url}/{room}?user=bob")
    tab.wait_live()
    assert rewritten
    expect(tab.page.locator("#log > li.notice")).to_contain_text("could not be loaded")
    post_ok(stack.url, room, "ann", "two")
    expect(tab.message("two")).to_have_count(1)
    expect(tab.status()).to_have_attribute("data-state", "live")
    # The notice stays where it happened: new messages go below it.
    assert tab.page.locator("#log > li").last.get_attribute("data-id") == "2"
    tab.assert_clean()


def test_stream_error_closes_the_stream_and_says_why(stack, tabs, room):
    tab = tabs()
    streams = []
    tab.page.on("request", lambda r: streams.append(r.url) if "/events/" in r.url else None)
    first_stream_resumes_from(tab, "bogus")
    tab.goto(f"{stack.url}/{room}?user=bob")
    expect(tab.status()).to_have_attribute("data-state", "error")
    expect(tab.status()).to_contain_text("Invalid event id")
    time.sleep(2)
    assert len(streams) == 1, streams  # closed: neither the browser nor we reconnect
    tab.assert_clean()


def test_offline_and_back(stack, tabs, room):
    tab = tabs()
    tab.goto(f"{stack.url}/{room}?user=ann")
    tab.wait_live()
    tab.context.set_offline(True)
    expect(tab.status()).to_have_attribute("data-state", "offline")
    expect(tab.status()).to_contain_text("Offline")
    post_ok(stack.url, room, "bob", "sent while ann was offline")
    tab.context.set_offline(False)
    tab.wait_live()
    # The new stream resumed after the last id the page had: nothing was missed.
    expect(tab.message("sent while ann was offline")).to_have_count(1)
    tab.assert_clean()
