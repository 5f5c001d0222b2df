// The chat page's message log: one <li> per message id, whichever way it arrived (the
// server's render, the stream, our own POST's answer, "load older"), kept in id order,
// with notices (boundaries in time) between them, relative times kept fresh, the
// "New messages ↓" button and "Load older messages".

import { messageElement, refreshTime } from './lib.js';

const $ = (id) => document.getElementById(id);
/** Messages per "load older" request. */
const OLDER_PAGE = 50;
/** Requests one press of "load older" makes at most, past pages that hold no message. */
const OLDER_PAGES_MAX = 5;
/** How often relative times ("5 min ago") are rewritten. */
const REFRESH_MS = 15000;

/**
 * base: "/rooms/<room>"; me(): who reads the page; hides(from): whether messages from
 * that name stay out of the log (people the reader blocks); decorate(li, m): adds a
 * message's controls (m: its JSON); refresh(li): after times are refreshed, per message;
 * leaving(li): before a message is taken out; focusHome(): where focus goes when it has
 * nowhere else.
 */
export function startLog({ base, me, hides, decorate, refresh, leaving, focusHome }) {
  const scroller = $('scroller');
  const log = $('log');
  const older = $('older');
  const jump = $('jump');
  /** Every message id in the log. */
  const shown = new Set([...log.querySelectorAll('.msg')].map((li) => Number(li.dataset.id)));

  const atBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 48;
  const toBottom = () => { scroller.scrollTop = scroller.scrollHeight; };

  /** Puts a message in id order unless it is already shown. Returns its element or null. */
  function insert(m) {
    if (shown.has(m.id)) return null;
    shown.add(m.id);
    if (hides(m.from)) return null;
    $('empty').hidden = true;
    const li = messageElement(m, me());
    decorate(li, m);
    // Walk back from the end: nearly every message is the newest. A notice is a
    // boundary in time, so nothing is placed above one.
    let after = log.lastElementChild;
    while (after && after.classList.contains('msg') && Number(after.dataset.id) > m.id) {
      after = after.previousElementSibling;
    }
    if (after) after.after(li); else log.prepend(li);
    return li;
  }

  /** A message that arrived while the page is open (stream or our own POST): true if new. */
  function arrive(m) {
    const stick = atBottom();
    if (!insert(m)) return false;
    if (m.from === me() || stick) {
      toBottom();
    } else {
      jump.hidden = false;
    }
    if (m.from !== me()) say(`${m.from}: ${m.text}`);
    return true;
  }

  const say = (text) => { $('announce').textContent = text; };
  const find = (id) => log.querySelector(`.msg[data-id="${Number(id)}"]`);
  const messages = () => [...log.querySelectorAll('.msg')];

  /** "No messages yet" when the log holds none and there are no older ones to load. */
  const showEmpty = () => { $('empty').hidden = Boolean(log.querySelector('.msg')) || !older.hidden; };

  /** Takes a message out of the log (deleted, or cleared). */
  function gone(li) {
    leaving(li);
    const hadFocus = li.contains(document.activeElement);
    li.remove();
    showEmpty();
    if (hadFocus) focusHome();
  }

  function notice(text) {
    const stick = atBottom();
    const li = document.createElement('li');
    li.className = 'notice';
    li.textContent = text;
    log.append(li);
    if (stick) toBottom();
    return li;
  }

  scroller.addEventListener('scroll', () => { if (atBottom()) jump.hidden = true; }, { passive: true });
  jump.addEventListener('click', () => {
    toBottom();
    jump.hidden = true;
    focusHome();
  });

  // Relative times drift; refresh them all now and then (and close edit windows).
  const refreshTimes = () => {
    const now = Date.now();
    for (const time of log.querySelectorAll('time')) refreshTime(time, now);
    for (const li of messages()) refresh(li);
  };
  setInterval(refreshTimes, REFRESH_MS);

  // ---------------------------------------------------------------- load older

  /** Where the next older page ends: the lowest id the log covers. The server rendered
   * the newest ids from data-before on, messages or not: deleted messages and moderation
   * events take ids too, so a page may hold no message at all and reading goes on. */
  let olderBefore = Number(older.dataset.before) || 1;

  /** Loads the next older page(s) (until one holds a message). */
  async function loadOlder() {
    if (older.disabled) return;
    older.disabled = true;
    older.textContent = 'Loading…';
    try {
      // Keep what the reader is looking at in place while content grows above it.
      const fromBottom = scroller.scrollHeight - scroller.scrollTop;
      let found = 0;
      for (let pages = 0; pages < OLDER_PAGES_MAX && !found && olderBefore > 1; pages += 1) {
        const res = await fetch(`${base}/messages/?before=${olderBefore}&limit=${OLDER_PAGE}`);
        const body = await res.json();
        if (!res.ok) throw new Error(body.message || res.statusText);
        for (const m of body.messages) insert(m);
        found = body.messages.length;
        olderBefore = Math.max(1, olderBefore - OLDER_PAGE);
      }
      scroller.scrollTop = scroller.scrollHeight - fromBottom;
      older.textContent = 'Load older messages';
      if (olderBefore <= 1) {
        older.hidden = true;
        showEmpty();
        scroller.focus(); // rather than losing focus with the button
      }
    } catch (e) {
      older.textContent = 'Could not load older messages: try again';
    } finally {
      older.disabled = false;
    }
  }
  older.addEventListener('click', loadOlder);

  /** Nothing older is left (the room was cleared). */
  function noOlder() {
    older.hidden = true;
    olderBefore = 1;
  }

  return {
    el: log, insert, arrive, say, find, messages, gone, notice, showEmpty, noOlder,
    refreshTimes, toBottom, loadOlder, hasOlder: () => !older.hidden,
  };
}
