// Mentions on the chat page:
//   autocomplete  typing `@` and letters in the composer offers names of the people here
//                 (presence) and of recent authors in the log; a combobox and listbox as
//                 ARIA describes them, picked with arrows and Enter or Tab, or a click;
//   highlight     a message whose `mentions` list you is marked (class `mentions-me`, a
//                 bar and an "@ you" tag, so not by color alone);
//   feed          (passkey mode) your own stream, GET /me/events/, counts mentions in
//                 other rooms on the room list (roomlist.js), kept in localStorage with
//                 the stream's position so that another page resumes where this one was.
//
// The server reads `@name` up to whitespace, and `@[name]` for a name with spaces or
// ending in punctuation (src/model/mention.rs): a picked name is written the way it reads.

import { el, stored } from './lib.js';

/** Names the list offers at most. */
const OFFERED_MAX = 8;
/** `@` and what follows it up to the caret, where an `@` may start a mention (not in
 * the middle of a word, as in an e-mail address). */
const TYPED_RE = /(?:^|[^\p{L}\p{N}])@(\[[^\]\n]*|[^\s@[]*)$/u;
/** A name that `@name` would not read whole. */
const NEEDS_BRACKETS_RE = /[\s@[\]]|[.,;:!?)\]}"'»”’]$/u;

/** Whether `names` (a message's `mentions`) include `me` (names match without case). */
export const mentionsMe = (names, me) => Boolean(me)
  && (names || []).some((n) => n.toLowerCase() === me.toLowerCase());

/** Marks a message that mentions you, or unmarks it (an edit may take the mention out). */
export function highlight(li, m, me) {
  const on = mentionsMe(m.mentions, me) && m.from !== me;
  li.classList.toggle('mentions-me', on);
  const tag = li.querySelector('.mention-tag');
  if (on && !tag) {
    const mark = el('span', 'mention-tag', '@ you');
    mark.title = 'This message mentions you';
    li.querySelector('.from').after(' ', mark);
  } else if (!on) {
    tag?.remove();
  }
}

/**
 * input: the composer's box; names(): who may be mentioned (people here, then recent
 * authors, newest first); me().
 */
export function startAutocomplete({ input, names, me }) {
  const list = el('ul', 'mention-list');
  list.id = 'mention-list';
  list.setAttribute('role', 'listbox');
  list.setAttribute('aria-label', 'People to mention');
  list.hidden = true;
  input.form.prepend(list);
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', list.id);
  input.setAttribute('aria-expanded', 'false');
  /** Where the typed `@` is, while the list is open. */
  let at = -1;
  let active = 0;

  const options = () => [...list.children];

  function close() {
    list.hidden = true;
    list.replaceChildren();
    at = -1;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
  }

  function activate(n) {
    const all = options();
    active = (n + all.length) % all.length;
    all.forEach((o, i) => o.setAttribute('aria-selected', String(i === active)));
    input.setAttribute('aria-activedescendant', all[active].id);
    all[active].scrollIntoView({ block: 'nearest' });
  }

  function offer() {
    const before = input.value.slice(0, input.selectionStart);
    const typed = input.selectionStart === input.selectionEnd && before.match(TYPED_RE);
    if (!typed) return close();
    const query = typed[1].replace(/^\[/, '').toLowerCase();
    const seen = new Set([me().toLowerCase()]);
    const found = [];
    for (const name of names()) {
      const key = name.toLowerCase();
      if (seen.has(key) || !key.startsWith(query)) continue;
      seen.add(key);
      found.push(name);
      if (found.length === OFFERED_MAX) break;
    }
    if (found.length === 0) return close();
    at = before.length - typed[1].length - 1;
    list.replaceChildren(...found.map((name, i) => {
      const option = el('li', '', name);
      option.id = `mention-option-${i}`;
      option.setAttribute('role', 'option');
      option.dataset.name = name;
      return option;
    }));
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    activate(0);
  }

  /** Writes the picked name in place of what was typed after the `@`. */
  function pick(name) {
    const written = NEEDS_BRACKETS_RE.test(name) ? `@[${name}] ` : `@${name} `;
    const end = input.selectionStart;
    input.setRangeText(written, at, end, 'end');
    close();
    input.dispatchEvent(new Event('input', { bubbles: true })); // counts, typing, …
    input.focus();
  }

  input.addEventListener('input', offer);
  input.addEventListener('click', offer);
  input.addEventListener('blur', () => setTimeout(() => { if (document.activeElement !== input) close(); }));
  // Captured on the form: runs before the composer's own Enter (send) and Escape.
  input.form.addEventListener('keydown', (event) => {
    if (event.target !== input || list.hidden || event.isComposing) return;
    const moves = { ArrowDown: 1, ArrowUp: -1 };
    if (event.key in moves) {
      activate(active + moves[event.key]);
    } else if (event.key === 'Enter' || event.key === 'Tab') {
      pick(options()[active].dataset.name);
    } else if (event.key === 'Escape') {
      close();
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  }, true);
  list.addEventListener('mousedown', (event) => event.preventDefault()); // keeps the focus
  list.addEventListener('click', (event) => {
    const option = event.target.closest('[role="option"]');
    if (option) pick(option.dataset.name);
  });
  return { close };
}

/** Per person: { last: the stream's position, rooms: { room: unseen mentions } }. */
const feedKey = (me) => `edge-chat:mentions:${me}`;

function loadFeed(me) {
  try {
    const saved = JSON.parse(stored(feedKey(me)) || '{}');
    return { last: Number(saved.last) || 0, rooms: saved.rooms && typeof saved.rooms === 'object' ? saved.rooms : {} };
  } catch {
    return { last: 0, rooms: {} };
  }
}

/**
 * Passkey mode: counts mentions in other rooms from GET /me/events/. room: this page's
 * (opening it clears its count); me: the signed-in name; changed(room, id): a count changed
 * in message `id` (the room list shows it, and adds the room if it is not listed).
 */
export function startMentionFeed({ room, me, changed }) {
  const feed = loadFeed(me);
  const save = () => stored(feedKey(me), JSON.stringify(feed));
  delete feed.rooms[room];
  save();
  const after = feed.last ? `?lastEventId=${feed.last}` : '';
  const source = new EventSource(`/me/events/${after}`);
  source.addEventListener('mention', (e) => {
    const mention = JSON.parse(e.data);
    // Another page of ours may have counted it already: it moved the position on.
    const now = loadFeed(me);
    feed.rooms = now.rooms;
    const id = Number(e.lastEventId) || 0;
    if (id && id <= now.last) return;
    feed.last = Math.max(id, now.last);
    if (mention.room !== room) feed.rooms[mention.room] = (feed.rooms[mention.room] || 0) + 1;
    save();
    if (mention.room !== room) changed(mention.room, Number(mention.id) || 0);
  });
  source.addEventListener('stream-reset', (e) => {
    try { feed.last = Number(JSON.parse(e.data)['last-event-id']) || feed.last; } catch {}
    save();
  });
  return {
    /** Unseen mentions in `r`. */
    count: (r) => Number(loadFeed(me).rooms[r]) || 0,
  };
}
