// Chat page. The server already rendered the newest messages and the id of the newest
// one (data-last-event-id); this script takes over from there:
//   live     EventSource on /rooms/<room>/events/, resuming after the last id we have,
//            with our own bounded backoff once the browser gives up (it does after any
//            non-200 answer, e.g. a 503 while Fanout is unreachable);
//   log      one <li> per message id, whichever way it arrived (page, stream, our own
//            POST's response, "load older"), kept in id order;
//   composer posts the form fields `from` and `text`, keeps the text until it is stored.

import {
  nick, lastRoom, length, messageElement, refreshTime, toSignIn, wireSignOut, FROM_MAX, TEXT_MAX,
} from './lib.js';

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
  if (m.from !== me) $('announce').textContent = `${m.from}: ${m.text}`;
}

function notice(text) {
  const stick = atBottom();
  const li = document.createElement('li');
  li.className = 'notice';
  li.textContent = text;
  log.append(li);
  if (stick) toBottom();
}

scroller.addEventListener('scroll', () => { if (atBottom()) jump.hidden = true; }, { passive: true });
jump.addEventListener('click', () => {
  toBottom();
  jump.hidden = true;
  input.focus();
});

// Relative times drift; refresh them all now and then.
const refreshTimes = () => {
  const now = Date.now();
  for (const time of log.querySelectorAll('time')) refreshTime(time, now);
};
setInterval(refreshTimes, 15000);

// ------------------------------------------------------------------ load older

older.addEventListener('click', async () => {
  const first = log.querySelector('.msg');
  if (!first || older.disabled) return;
  older.disabled = true;
  older.textContent = 'Loading…';
  try {
    const res = await fetch(`${base}/messages/?before=${first.dataset.id}&limit=50`);
    const body = await res.json();
    if (!res.ok) throw new Error(body.message || res.statusText);
    // Keep what the reader is looking at in place while content grows above it.
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    for (const m of body.messages) insert(m);
    scroller.scrollTop = scroller.scrollHeight - fromBottom;
    const oldest = log.querySelector('.msg');
    older.textContent = 'Load older messages';
    if (body.messages.length === 0 || Number(oldest.dataset.id) <= 1) {
      older.hidden = true;
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
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 10000;
/** Fanout sends a keep-alive after this long without events. A connection that stays
 * silent much longer is dead without having said so (a phone switching networks, a
 * stalled proxy): no error event ever comes, so we have to notice ourselves. */
const QUIET_MAX_MS = ((Number(chat.dataset.keepAlive) || 20) * 2.5 + 5) * 1000;

let source = null;
let retryTimer = 0;
let quietTimer = 0;
let failures = 0;

function setStatus(state, text = STATES[state]) {
  if (status.dataset.state === state && status.textContent === text) return;
  status.dataset.state = state;
  status.textContent = text;
}

function connect() {
  clearTimeout(retryTimer);
  retryTimer = 0;
  if (source) source.close();
  if (!navigator.onLine) {
    setStatus('offline');
    return;
  }
  setStatus(failures ? 'reconnecting' : 'connecting');
  // The browser resends the last id it saw as Last-Event-ID when it reconnects by
  // itself; the query carries where we are for a stream we open ourselves.
  const es = new EventSource(`${base}/events/?lastEventId=${streamId}`);
  source = es;
  const heard = () => {
    clearTimeout(quietTimer);
    quietTimer = setTimeout(() => { if (source === es) retry(); }, QUIET_MAX_MS);
  };
  for (const type of ['open', 'stream-open', 'keep-alive', 'message', 'stream-reset']) {
    es.addEventListener(type, heard);
  }
  heard(); // a connection attempt that hangs counts as silence too
  es.addEventListener('open', () => {
    failures = 0;
    setStatus('live');
  });
  es.addEventListener('message', (event) => {
    const m = JSON.parse(event.data);
    streamId = Math.max(streamId, m.id);
    arrive(m);
  });
  es.addEventListener('stream-reset', (event) => {
    const data = JSON.parse(event.data);
    streamId = Number(data['last-event-id']) || streamId;
    notice(`Some messages could not be loaded (${data.text}) Showing new messages from here on.`);
  });
  es.addEventListener('stream-error', (event) => {
    es.close();
    source = null;
    clearTimeout(quietTimer);
    let text = 'the stream ended';
    try { text = JSON.parse(event.data).text; } catch {}
    setStatus('error', `Disconnected: ${text}`);
  });
  es.addEventListener('error', () => {
    if (source !== es) return;
    if (es.readyState === EventSource.CLOSED) {
      retry();
    } else {
      // The browser is already reconnecting on its own.
      setStatus('reconnecting');
    }
  });
}

/** Opens a new stream after a growing, jittered pause (1 s, 2 s, 4 s … 10 s). */
function retry() {
  if (source) source.close();
  source = null;
  clearTimeout(quietTimer);
  failures += 1;
  if (!navigator.onLine) {
    setStatus('offline');
    return;
  }
  // EventSource hides the status of a refused stream: ask whether the session ended.
  if (signedIn && failures >= 2) {
    fetch('/auth/me').then((res) => { if (res.status === 401) toSignIn(); }, () => {});
  }
  setStatus('reconnecting');
  const ceiling = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (failures - 1));
  retryTimer = setTimeout(connect, ceiling / 2 + Math.random() * ceiling / 2);
}

window.addEventListener('offline', () => {
  if (source) source.close();
  source = null;
  clearTimeout(retryTimer);
  clearTimeout(quietTimer);
  setStatus('offline');
});
window.addEventListener('online', connect);
// Phones suspend background tabs: come back at once rather than after a backoff.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && !source && status.dataset.state !== 'error') {
    connect();
  }
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
});
input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    composer.requestSubmit();
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

// ------------------------------------------------------------------ start

{
  const fromUrl = new URLSearchParams(location.search).get('user')?.trim();
  const known = signedIn ? $('me').textContent : fromUrl || nick();
  if (known && [...known].length <= FROM_MAX) setNick(known); else askNick();
  lastRoom(room);
  updateCount();
  refreshTimes();
  toBottom();
  if (me) input.focus();
  connect();
}
