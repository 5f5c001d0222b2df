"""Light formatting (static/format.js) in a real browser (Debian's Chromium through
Playwright, as test_browser.py) against the real local stack: the server stores a text as
sent, and the page formats the server-rendered history and live messages alike, by
building DOM nodes; nothing inside code is formatted, and markup stays text."""

from playwright.sync_api import expect

from helpers import get, post_ok
from test_browser import browser, tabs  # noqa: F401 - fixtures shared with the chat tests

LIVE = 10_000

TEXTS = [
    "*bold* and _italic_ and `co*de*` and https://example.com/a_b_c.",
    "*bold with _italic_ inside* (*in brackets*)",
    "2*3*4 is 24, snake_case_names, __init__, **double** and *unclosed",
    "before\n```js\nlet x = *y* + _z_; // https://example.com/in-code\n```\nafter *this*",
    "<img src=x onerror=alert(1)> *<b>not bold</b>*",
    "javascript:alert(1) ftp://example.com/x and http://example.com/ok",
]


def shapes(tab):
    """Each message's text element as the DOM holds it (read, never written)."""
    return tab.page.locator("#log .msg .text").evaluate_all("els => els.map(e => e.innerHTML)")


def test_history_and_live_messages_are_formatted_alike(stack, tabs, room):  # noqa: F811
    for text in TEXTS:
        post_ok(stack.url, room, "carol", text)
    # Stored as sent, and the page without scripts shows it as plain text.
    r = get(stack.url, f"/rooms/{room}/messages/")
    stored = sorted(r.json()["messages"], key=lambda m: m["id"])
    assert [m["text"] for m in stored] == TEXTS
    tab = tabs()
    tab.goto(f"{stack.url}/{room}?user=ann")
    tab.wait_live()
    for text in TEXTS:  # the same texts again, live
        post_ok(stack.url, room, "carol", text)
    expect(tab.log_items()).to_have_count(2 * len(TEXTS), timeout=LIVE)
    html = shapes(tab)
    assert html[:len(TEXTS)] == html[len(TEXTS):], "history and live render alike"

    first = tab.log_items().nth(len(TEXTS))  # a live one
    text = first.locator(".text")
    expect(text.locator("strong")).to_have_text("bold")
    expect(text.locator("em")).to_have_text("italic")
    expect(text.locator("code")).to_have_text("co*de*")
    expect(text.locator("code strong, code em")).to_have_count(0)
    link = text.locator("a")
    expect(link).to_have_attribute("href", "https://example.com/a_b_c")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(link).to_have_attribute("target", "_blank")
    assert text.inner_text() == "bold and italic and co*de* and https://example.com/a_b_c."

    nested = tab.log_items().nth(1).locator(".text")
    expect(nested.locator("strong em")).to_have_text("italic")
    expect(nested.locator("strong")).to_have_text(["bold with italic inside", "in brackets"])

    literal = tab.log_items().nth(2).locator(".text")
    expect(literal.locator("strong, em, code")).to_have_count(0)
    assert literal.inner_text() == TEXTS[2]

    block = tab.log_items().nth(3).locator(".text")
    expect(block.locator("pre > code.language-js")).to_have_text(
        "let x = *y* + _z_; // https://example.com/in-code")
    expect(block.locator("pre strong, pre em, pre a")).to_have_count(0)
    expect(block.locator(":scope > strong")).to_have_text("this")
    assert block.inner_text() == "before\nlet x = *y* + _z_; // https://example.com/in-code\nafter this"

    markup = tab.log_items().nth(4).locator(".text")
    expect(markup.locator("strong")).to_have_text("<b>not bold</b>")
    expect(tab.page.locator("main img, main b, main [onerror]")).to_have_count(0)

    links = tab.log_items().nth(5).locator(".text a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "http://example.com/ok")
    tab.assert_clean()


def test_format_rules(stack, tabs):  # noqa: F811
    """Edge rules, on the module itself: what each text becomes, as tags and text."""
    tab = tabs()
    tab.goto(f"{stack.url}/lobby?user=ann")
    cases = {
        "*a* _b_": "<strong>a</strong> <em>b</em>",
        "_a *b* c_": "<em>a <strong>b</strong> c</em>",
        "x*y*z a_b_c": "x*y*z a_b_c",
        "* a * and *a *": "* a * and *a *",
        "*a\nb*": "*a\nb*",
        "`*a*` `` ` ": "<code>*a*</code> `` ` ",
        "*`a*b`*": "<strong><code>a*b</code></strong>",
        "*https://e.com/*": '<strong><a href="https://e.com/">https://e.com/</a></strong>',
        "see (https://e.com/x)!": 'see (<a href="https://e.com/x">https://e.com/x</a>)!',
        "```\nplain\n```": "<pre><code>plain</code></pre>",
        "```unclosed *a*": "```unclosed <strong>a</strong>",
        "JavaScript:alert(1) data:text/html,x": "JavaScript:alert(1) data:text/html,x",
    }
    got = tab.page.evaluate("""async (texts) => {
        const { format } = await import('/static/format.js');
        const show = (node) => [...node.childNodes].map((n) => {
            if (n.nodeType === Node.TEXT_NODE) return n.data;
            const href = n.getAttribute('href');
            const attr = href ? ` href="${href}"` : '';
            const tag = n.localName;
            return `<${tag}${attr}>${show(n)}</${tag}>`;
        }).join('');
        const holder = document.createElement('div');
        return texts.map((t) => { holder.replaceChildren(format(t)); return show(holder); });
    }""", list(cases))
    assert dict(zip(cases, got)) == cases
    tab.assert_clean()
