// Chat page. The server already rendered the newest messages and the id of the newest
// one (data-last-event-id); this script takes over from there:
//   live     live.js over the transport picked (SSE by default, WebSocket or long-poll),
//            resuming after the last id we have, with a bounded backoff;
//   presence who is here and who is typing (presence.js); your rooms (roomlist.js);
//   log      one <li> per message id, whichever way it arrived (page, stream, our own
//            POST's response, "load older"), kept in id order;
//   composer posts the form fields `from` and `text`, keeps the text until it is stored;
//            a 429 shows a "slow down" notice for Retry-After seconds.
//   moderate (passkey mode) delete and edit your own messages, Up arrow in an empty
//            composer edits your last one; an admin (data-admin) deletes any and clears
//            the room. Changes arrive as `delete`/`edit`/`clear` events in every page.

import {
  api, el, nick, lastRoom, length, messageElement, refreshTime, stored, toSignIn, wireSignOut,
  FROM_MAX,
  TEXT_MAX,
} from './lib.js';
import { formatAll, setText, textOf } from './format.js';
import { openLive } from './live.js';
import { startPresence } from './presence.js';
import { startRoomList } from './roomlist.js';

const $ = (id) => document.getElementById(id);
const chat = $('chat');
const room = chat.dataset.room;
const base = `/rooms/${encodeURIComponent(room)}`;
const scroller = $('scroller');
const log = $('log');
const status = $('status');
const composer = $('composer');
const fields = $('composer-fields');
const input = $('text');
const sendButton = $('send');
const counter = $('count');
const sendError = $('send-error');
const nickForm = $('nick-form');
const older = $('older');
const jump = $('jump');
/** Passkey mode: the page is for the signed-in person, who every message is from. */
const signedIn = chat.dataset.auth === 'passkey';
/** Passkey mode, one of config `admins`: may delete any message and clear the room. */
const admin = 'admin' in chat.dataset;
/** How long after posting its author may edit a message. */
const EDIT_MS = (Number(chat.dataset.editSecs) || 0) * 1000;

/** Newest id received from the stream (or rendered by the server): where a new
 * stream resumes. Messages we only know from our own POST do not move it. */
let streamId = Number(chat.dataset.lastEventId) || 0;
/** Every message id in the log. */
const shown = new Set([...log.querySelectorAll('.msg')].map((li) => Number(li.dataset.id)));
let me = '';

// ------------------------------------------------------------------ who am I

function setNick(name) {
  me = name;
  if (!signedIn) nick(name);
  $('me').textContent = name;
  $('who').hidden = false;
  nickForm.hidden = true;
  composer.hidden = false;
  fields.disabled = false;
  for (const li of log.querySelectorAll('.msg')) {
    li.classList.toggle('own', li.dataset.from === me);
  }
  presence.renamed();
}

function askNick() {
  composer.hidden = true;
  nickForm.hidden = false;
  nickForm.elements.user.value = me;
  nickForm.elements.user.focus();
}

nickForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = nickForm.elements.user.value.trim();
  if (!name || [...name].length > FROM_MAX) return;
  setNick(name);
  input.focus();
});
$('rename')?.addEventListener('click', askNick);
wireSignOut();

// ------------------------------------------------------------------ the log

const atBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 48;
const toBottom = () => { scroller.scrollTop = scroller.scrollHeight; };

/** Puts a message in id order unless it is already shown. Returns its element or null. */
function insert(m) {
  if (shown.has(m.id)) return null;
  shown.add(m.id);
  $('empty').hidden = true;
  const li = messageElement(m, me);
  decorate(li);
  // Walk back from the end: nearly every message is the newest. A notice is a
  // boundary in time, so nothing is placed above one.
  let after = log.lastElementChild;
  while (after && after.classList.contains('msg') && Number(after.dataset.id) > m.id) {
    after = after.previousElementSibling;
  }
  if (after) after.after(li); else log.prepend(li);
  return li;
}

/** A message that arrived while the page is open (stream or our own POST). */
function arrive(m) {
  const stick = atBottom();
  if (!insert(m)) return;
  if (m.from === me || stick) {
    toBottom();
  } else {
    jump.hidden = false;
  }
  if (m.from !== me) say(`${m.from}: ${m.text}`);
  rooms.seen(m.id);
}

const say = (text) => { $('announce').textContent = text; };
const find = (id) => log.querySelector(`.msg[data-id="${Number(id)}"]`);

/** Takes a message out of the log (deleted, or cleared). */
function gone(li) {
  if (editing?.li === li) stopEdit(false);
  const hadFocus = li.contains(document.activeElement);
  li.remove();
  showEmpty();
  if (hadFocus) input.focus();
}

/** "No messages yet" when the log holds none and there are no older ones to load. */
const showEmpty = () => { $('empty').hidden = Boolean(log.querySelector('.msg')) || !older.hidden; };

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
  input.focus();
});

// Relative times drift; refresh them all now and then (and close edit windows).
const refreshTimes = () => {
  const now = Date.now();
  for (const time of log.querySelectorAll('time')) refreshTime(time, now);
  for (const b of log.querySelectorAll('[data-act="edit"]')) {
    if (b !== document.activeElement) b.hidden = !canEdit(b.closest('.msg'));
  }
};
setInterval(refreshTimes, 15000);

// ------------------------------------------------------------------ load older

/** Where the next older page ends: the lowest id the log covers. The server rendered
 * the newest ids from data-before on, messages or not: deleted messages and moderation
 * events take ids too, so a page may hold no message at all and reading goes on. */
let olderBefore = Number(older.dataset.before) || 1;
const OLDER_PAGE = 50;

older.addEventListener('click', async () => {
  if (older.disabled) return;
  older.disabled = true;
  older.textContent = 'Loading…';
  try {
    // Keep what the reader is looking at in place while content grows above it.
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    let found = 0;
    for (let pages = 0; pages < 5 && !found && olderBefore > 1; pages += 1) {
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
});

// ------------------------------------------------------------------ live updates

const STATES = {
  connecting: 'Connecting…',
  live: 'Connected',
  reconnecting: 'Reconnecting…',
  offline: 'Offline: waiting for the network',
};
/** Fanout sends a keep-alive after this long without events. A connection that stays
 * silent much longer is dead without having said so (a phone switching networks, a
 * stalled proxy): no error event ever comes, so we have to notice ourselves. */
const QUIET_MAX_MS = ((Number(chat.dataset.keepAlive) || 20) * 2.5 + 5) * 1000;
const TRANSPORT_KEY = 'edge-chat:transport';
const TRANSPORTS = ['sse', 'ws', 'poll'];

function setStatus(state, text = STATES[state], failures = 0) {
  if (status.dataset.state === state && status.textContent === text) return;
  status.dataset.state = state;
  status.textContent = text;
  // EventSource hides the status of a refused stream: ask whether the session ended.
  if (signedIn && failures >= 2) {
    fetch('/auth/me').then((res) => { if (res.status === 401) toSignIn(); }, () => {});
  }
}

const presence = startPresence({
  base,
  heartbeatSecs: Number(chat.dataset.heartbeat) || 30,
  who: () => me,
  signedIn,
  els: { bar: $('presence'), count: $('here-count'), list: $('here-list'), typing: $('typing'), note: $('presence-note') },
});
const rooms = startRoomList({ room, newest: streamId, els: { nav: $('rooms'), list: $('room-list') } });

/** What every transport delivers, by event name. */
const handlers = {
  message(m, id) {
    streamId = Math.max(streamId, Number(id) || m.id);
    arrive(m);
    presence.spoke(m.from);
  },
  'stream-reset'(data) {
    streamId = Number(data['last-event-id']) || streamId;
    notice(`Some messages could not be loaded (${data.text}) Showing new messages from here on.`);
  },
  delete(data, id) {
    seen(id);
    const li = find(data.id);
    if (li) {
      gone(li);
      say('A message was deleted.');
    }
  },
  edit(m, id) {
    seen(id);
    if (edited(m) && m.from !== me) say(`${m.from} edited a message: ${m.text}`);
  },
  clear(data, id) {
    const n = seen(id);
    if (!clears.has(n)) clears.set(n, cleared(data));
  },
  presence: (data) => presence.presence(data),
  typing: (data) => presence.typing(data),
};
/** A moderation event moves the stream's position like a message. */
function seen(id) {
  const n = Number(id);
  streamId = Math.max(streamId, n);
  return n;
}

const picker = $('transport');
const chosen = new URLSearchParams(location.search).get('transport') || stored(TRANSPORT_KEY);
picker.value = TRANSPORTS.includes(chosen) ? chosen : 'sse';
picker.closest('label').hidden = false;
let live = null;
function goLive() {
  live?.stop();
  live = openLive({
    transport: picker.value, base, after: () => streamId, handlers, onState: setStatus, quietMs: QUIET_MAX_MS,
  });
}
picker.addEventListener('change', () => {
  stored(TRANSPORT_KEY, picker.value);
  goLive();
});

// ------------------------------------------------------------------ composer

function updateCount() {
  const n = length(input.value);
  counter.textContent = `${n} / ${TEXT_MAX}`;
  const over = n > TEXT_MAX;
  counter.classList.toggle('over', over);
  input.setAttribute('aria-invalid', String(over));
}

input.addEventListener('input', () => {
  updateCount();
  sendError.textContent = '';
  if (input.value.trim()) presence.typed();
});
input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    composer.requestSubmit();
  } else if (event.key === 'ArrowUp' && !input.value && signedIn) {
    // Up in an empty composer edits your last message, as in most chat apps.
    const last = [...log.querySelectorAll('.msg.own')].reverse().find(canEdit);
    if (last) {
      event.preventDefault();
      last.scrollIntoView({ block: 'nearest' });
      startEdit(last, input);
    }
  }
});

const pause = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });
/** Waits before retrying a post that did not reach the store. */
const SEND_RETRIES_MS = [1000, 3000];

let sending = false;

composer.addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = input.value;
  if (sending || !me || !text.trim()) return;
  if (length(text) > TEXT_MAX) {
    sendError.textContent = `Messages are at most ${TEXT_MAX} characters.`;
    return;
  }
  sending = true;
  sendButton.disabled = true;
  input.readOnly = true;
  sendError.textContent = '';
  const body = new URLSearchParams({ from: me, text });
  try {
    for (let attempt = 0; ; attempt += 1) {
      let res;
      try {
        res = await fetch(`${base}/messages/`, { method: 'POST', body });
      } catch {
        res = null; // network error: the message may not have left
      }
      if (res && res.ok) {
        arrive(await res.json());
        input.value = '';
        sendError.textContent = '';
        updateCount();
        return;
      }
      let message = 'Could not reach the server.';
      if (res) {
        message = `The server answered ${res.status}.`;
        try { message = (await res.json()).message || message; } catch {}
      }
      if (res?.status === 401 && signedIn) {
        toSignIn();
        return;
      }
      if (res?.status === 429) {
        slowDown(sendError, Number(res.headers.get('Retry-After')) || 1);
        return;
      }
      // 4xx: the message itself was refused; retrying would not help.
      const retriable = !res || res.status >= 500;
      if (!retriable || attempt >= SEND_RETRIES_MS.length) {
        sendError.textContent = retriable
          ? `${message} Your message was not sent; press Enter to try again.`
          : message;
        return;
      }
      sendError.textContent = `${message} Retrying…`;
      await pause(SEND_RETRIES_MS[attempt]);
    }
  } finally {
    sending = false;
    sendButton.disabled = false;
    input.readOnly = false;
    input.focus();
  }
});

// ------------------------------------------------------------------ moderation
// Passkey mode only (open mode has no authors, and its admins are scripts with the admin
// key). Every change is also an event in the room's stream, which every page applies
// (above); this page applies its own at once too, which is harmless twice.

/** Clears applied here, by event id, with their notice: whichever comes first, the
 * stream's event or this page's own answer, applies it; the other only words it. */
const clears = new Map();

/** A 429's notice, for as long as Retry-After says. */
function slowDown(where, seconds) {
  const text = `Slow down: try again in ${seconds} s.`;
  where.textContent = text;
  setTimeout(() => { if (where.textContent === text) where.textContent = ''; }, seconds * 1000);
}

/** Shows why a request was refused, or goes to sign in if the session ended. */
function refused(where, error) {
  if (error.status === 401) toSignIn();
  else if (error.status === 429) slowDown(where, error.retryAfter);
  else where.textContent = error.message;
}

const messagePath = (li) => `${base}/messages/${li.dataset.id}`;
const canEdit = (li) => li.classList.contains('own')
  && Date.now() - Date.parse(li.querySelector('time').dateTime) < EDIT_MS;

/** Adds the controls this person may use on a message: edit and delete their own, delete
 * anyone's as an admin. */
function decorate(li) {
  const own = li.dataset.from === me;
  if (!signedIn || !(own || admin) || li.querySelector('.acts')) return;
  const acts = el('span', 'acts');
  for (const [act, label] of [['edit', 'Edit message'], ['delete', 'Delete message']]) {
    if (act === 'edit' && !own) continue;
    const b = el('button', 'link', act);
    b.type = 'button';
    b.dataset.act = act;
    b.setAttribute('aria-label', label);
    b.hidden = act === 'edit' && !canEdit(li);
    acts.append(b);
  }
  li.querySelector('.meta').append(acts);
}

log.addEventListener('click', (event) => {
  const button = event.target.closest('.acts button');
  const li = button?.closest('.msg');
  if (!li) return;
  if (button.dataset.act === 'edit') startEdit(li, button); else remove(li);
});

async function remove(li) {
  const whose = li.dataset.from === me ? 'your message' : `this message from ${li.dataset.from}`;
  if (!confirm(`Delete ${whose}? This cannot be undone.`)) return;
  // Focus stays in the log: on the next message's controls, else the previous one's.
  // Found now: the stream's delete event may take the message out before we hear back.
  const near = [li.nextElementSibling, li.previousElementSibling]
    .map((n) => n?.querySelector('.acts button:not([hidden])')).find(Boolean);
  try {
    await api(messagePath(li), { method: 'DELETE' });
  } catch (error) {
    // 404: deleted already (by someone else, or another tab).
    if (error.status !== 404) return refused(sendError, error);
  }
  gone(li);
  (near?.isConnected ? near : input).focus();
}

/** Shows a message's new text and its "edited" mark; false if it is not in the log. */
function edited(m) {
  const li = find(m.id);
  if (!li) return false;
  const fresh = messageElement(m, me);
  setText(li.querySelector('.text'), m.text);
  const mark = fresh.querySelector('.edited');
  const old = li.querySelector('.edited');
  if (old) old.replaceWith(mark); else li.querySelector('time').after(' ', mark);
  return true;
}

/** The message being edited in place: { li, form, back (where focus returns) }. */
let editing = null;

function startEdit(li, back) {
  if (editing) stopEdit(false);
  const text = li.querySelector('.text');
  const form = el('form', 'edit');
  const box = el('textarea');
  box.value = textOf(text);
  box.setAttribute('aria-label', 'Edit message');
  const save = el('button', '', 'Save');
  const cancel = el('button', 'quiet', 'Cancel');
  cancel.type = 'button';
  const error = el('span', 'error');
  error.setAttribute('role', 'alert');
  const hint = el('p', 'hint', 'Enter saves, Escape cancels. ');
  hint.append(error);
  const row = el('div', 'row');
  row.append(save, cancel);
  form.append(box, row, hint);
  text.hidden = true;
  text.after(form);
  editing = { li, form, back };
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
  box.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      stopEdit();
    } else if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  cancel.addEventListener('click', () => stopEdit());
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (save.disabled) return;
    if (box.value.trim() === textOf(text).trim()) return stopEdit();
    save.disabled = true;
    try {
      const m = await api(messagePath(li), { method: 'PATCH', body: { text: box.value } });
      edited(m);
      if (editing?.form === form) stopEdit();
    } catch (e) {
      refused(error, e);
      save.disabled = false;
      box.focus();
    }
  });
}

/** Ends the edit in place, and hands focus back to where it began unless `refocus` is false. */
function stopEdit(refocus = true) {
  const { li, form, back } = editing;
  editing = null;
  form.remove();
  li.querySelector('.text').hidden = false;
  if (refocus) (back.isConnected && !back.hidden ? back : input).focus();
}

/** Applies a clear: every message before event `before` (only those `from` someone). */
function cleared({ before, from }, text) {
  if (from == null) {
    older.hidden = true; // nothing older is left
    olderBefore = 1;
  }
  for (const li of [...log.querySelectorAll('.msg')]) {
    if (Number(li.dataset.id) < before && (from == null || li.dataset.from === from)) gone(li);
  }
  showEmpty();
  say(text || 'Messages were removed by an admin.');
  return notice(text || (from == null ? 'An admin cleared the room.'
    : `An admin removed the messages of ${from}.`));
}

if (admin) {
  const button = el('button', 'link', 'clear room');
  button.type = 'button';
  $('who').append(' · ', button);
  button.addEventListener('click', async () => {
    if (!confirm(`Remove every message in #${room} for everyone? This cannot be undone.`)) return;
    try {
      const done = await api(`${base}/messages/`, { method: 'DELETE' });
      const id = Number(done['last-event-id']);
      const n = done.cleared;
      const text = `You cleared the room: ${n} message${n === 1 ? '' : 's'} removed.`;
      if (clears.has(id)) clears.get(id).textContent = text;
      else clears.set(id, cleared({ before: id, from: null }, text));
    } catch (error) {
      refused(sendError, error);
    }
    button.focus();
  });
}

// ------------------------------------------------------------------ start

{
  const fromUrl = new URLSearchParams(location.search).get('user')?.trim();
  const known = signedIn ? $('me').textContent : fromUrl || nick();
  if (known && [...known].length <= FROM_MAX) setNick(known); else askNick();
  formatAll(log);
  for (const li of log.querySelectorAll('.msg')) decorate(li);
  for (const li of log.querySelectorAll('.msg')) presence.spoke(li.dataset.from, Date.parse(li.querySelector('time').dateTime));
  lastRoom(room);
  updateCount();
  refreshTimes();
  toBottom();
  if (me) input.focus();
  goLive();
}
