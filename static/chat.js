// Chat page. The server already rendered the newest messages and the id of the newest
// one (data-last-event-id); this script takes over from there:
//   live      live.js over the transport picked (SSE by default, WebSocket or long-poll),
//             resuming after the last id we have, with a bounded backoff;
//   presence  who is here and who is typing (presence.js); your rooms (roomlist.js);
//   log       the messages, in id order, and "load older" (log.js);
//   composer  posting (composer.js);
//   moderate  (passkey mode) editing and deleting, an admin's clear (moderate.js);
//   private   (passkey mode) a private room's members (members.js), "Message <name>"
//             from an author's name (dm.js), and saying so when access is lost.
// This file knows who you are and applies each stream event to the modules above.

import { api, el, nick, lastRoom, stored, toSignIn, wireSignOut, FROM_MAX } from './lib.js';
import { formatAll } from './format.js';
import { openLive } from './live.js';
import { startPresence } from './presence.js';
import { startRoomList } from './roomlist.js';
import { startLog } from './log.js';
import { startComposer } from './composer.js';
import { startModeration } from './moderate.js';
import { startConversation } from './conversation.js';

const $ = (id) => document.getElementById(id);
const chat = $('chat');
const room = chat.dataset.room;
const base = `/rooms/${encodeURIComponent(room)}`;
const status = $('status');
const nickForm = $('nick-form');
/** Passkey mode: the page is for the signed-in person, who every message is from. */
const signedIn = chat.dataset.auth === 'passkey';
/** Passkey mode, one of config `admins`: may delete any message and clear the room. */
const admin = 'admin' in chat.dataset;
/** Passkey mode: "room" for a private room, "dm" for a direct message, else public. */
const kind = chat.dataset.private;

/** Newest id received from the stream (or rendered by the server): where a new
 * stream resumes. Messages we only know from our own POST do not move it. */
let streamId = Number(chat.dataset.lastEventId) || 0;
let me = '';
const who = () => me;
/** Passkey mode: the people you block (/me/blocks/). The server left their messages out
 * of the page; the log leaves out the ones that arrive later. */
const blocked = new Set();
if (signedIn) {
  api('/me/blocks/').then(({ blocks }) => blocks.forEach((name) => blocked.add(name)), () => {});
}

const log = startLog({
  base,
  me: who,
  hides: (from) => blocked.has(from),
  decorate: (li, m) => { moderation.decorate(li); person(li); convo.decorate(li, m); },
  refresh: (li) => moderation.refresh(li),
  leaving: (li) => moderation.leaving(li),
  focusHome: () => composer.input.focus(),
});
const composer = startComposer({
  base,
  me: who,
  signedIn,
  sent: (m) => { convo.sent(); arrive(m); },
  fields: () => convo.fields(),
  typed: () => presence.typed(),
  editLast: () => moderation.editLast(),
});
const moderation = startModeration({
  base,
  room,
  log,
  me: who,
  signedIn,
  admin,
  editMs: (Number(chat.dataset.editSecs) || 0) * 1000,
  input: composer.input,
  errors: composer.errors,
  who: $('who'),
});
// Reactions, replies, mentions (conversation.js).
const convo = startConversation({
  base, room, log, me: who, signedIn, input: composer.input, errors: composer.errors,
  here: () => presence.names(), mentioned: (r, id) => rooms.mentioned(r, id),
});

// ------------------------------------------------------------------ who am I

function setNick(name) {
  me = name;
  if (!signedIn) nick(name);
  $('me').textContent = name;
  $('who').hidden = false;
  nickForm.hidden = true;
  $('composer').hidden = false;
  $('composer-fields').disabled = false;
  for (const li of log.messages()) {
    li.classList.toggle('own', li.dataset.from === me);
  }
  presence.renamed();
}

function askNick() {
  $('composer').hidden = true;
  nickForm.hidden = false;
  nickForm.elements.user.value = me;
  nickForm.elements.user.focus();
}

nickForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = nickForm.elements.user.value.trim();
  if (!name || [...name].length > FROM_MAX) return;
  setNick(name);
  composer.input.focus();
});
$('rename')?.addEventListener('click', askNick);
wireSignOut();

/** A message that arrived while the page is open (stream or our own POST). */
function arrive(m) {
  if (log.arrive(m)) rooms.seen(m.id);
}

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
  who,
  signedIn,
  // Passkey mode, outside a DM: "Message <name>" beside each person here (dm.js).
  onPerson: signedIn && kind !== 'dm' ? (name) => dm?.openDm(name) : undefined,
  els: { bar: $('presence'), count: $('here-count'), list: $('here-list'), typing: $('typing'), note: $('presence-note') },
});
const rooms = startRoomList({
  room, newest: streamId, signedIn, titled, els: { nav: $('rooms'), list: $('room-list') },
  mentions: (r) => convo.mentions(r),
});

/** What every transport delivers, by event name. */
const handlers = {
  message(m, id) {
    streamId = Math.max(streamId, Number(id) || m.id);
    arrive(m);
    presence.spoke(m.from);
  },
  'stream-reset'(data) {
    streamId = Number(data['last-event-id']) || streamId;
    log.notice(`Some messages could not be loaded (${data.text}) Showing new messages from here on.`);
  },
  delete(data, id) {
    seen(id);
    convo.deleted(data.id);
    const li = log.find(data.id);
    if (li) {
      log.gone(li);
      log.say('A message was deleted.');
    }
  },
  edit(m, id) {
    seen(id);
    if (moderation.edited(m) && m.from !== me) log.say(`${m.from} edited a message: ${m.text}`);
    convo.edited(m);
  },
  reaction(data, id) {
    seen(id);
    convo.reaction(data);
  },
  clear(data, id) {
    moderation.clear(data, seen(id));
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
    onEnded,
  });
}
picker.addEventListener('change', () => {
  stored(TRANSPORT_KEY, picker.value);
  goLive();
});

// ------------------------------------------------------------------ private rooms

// Loaded on demand, so that open mode's pages never fetch them.
let members = null;
let dm = null;
async function startPrivate() {
  if (!signedIn) return;
  if (kind !== 'dm') {
    dm = await import('./dm.js');
    for (const li of log.messages()) person(li);
  }
  if (!kind) return;
  const { startMembers } = await import('./members.js');
  if ($('lost')) return;
  members = startMembers({
    base, me, admin, dm: kind === 'dm', left: () => location.assign('/'),
  });
  $('who').after(members.panel);
  members.reload();
}

/** The room list knows this private room's title (a DM's: the other person's name). */
function titled(title, dm) {
  const heading = dm ? `Direct message with ${title}` : title;
  document.querySelector('.bar h1').textContent = heading;
  document.title = `${heading} · edge-chat`;
  composer.input.placeholder = `Message ${dm ? title : heading}`;
}

/** Passkey mode: someone else's name in a message offers "Message <name>". */
function person(li) {
  const span = li.querySelector('.from');
  if (dm && li.dataset.from !== me && !span.hasAttribute('role')) dm.dmTarget(span);
}
const offer = (event) => {
  const span = event.target.closest('.from[role="button"]');
  if (span) dm.offerDm(span, span.closest('.msg').dataset.from);
  return Boolean(span);
};
log.el.addEventListener('click', offer);
log.el.addEventListener('keydown', (event) => {
  if ((event.key === 'Enter' || event.key === ' ') && offer(event)) event.preventDefault();
});

/** The server ended the stream: in a private room, most likely because you were removed. */
function onEnded(condition) {
  if (condition === 'removed' || condition === 'not-found') return lostAccess();
  if (kind) fetch(`${base}/members/`).then((res) => { if (res.status === 404) lostAccess(); }, () => {});
}

function lostAccess() {
  if ($('lost')) return;
  live?.stop();
  me = ''; // nothing more is posted or announced as here
  const note = el('p', 'lost', 'You no longer have access to this room. ');
  note.id = 'lost';
  note.setAttribute('role', 'alert');
  const home = el('a', '', 'Go to your rooms');
  home.href = '/';
  note.append(home);
  $('composer').before(note);
  $('composer-fields').disabled = true;
  members?.panel.remove();
  rooms.forget();
}

// ------------------------------------------------------------------ start

{
  const fromUrl = new URLSearchParams(location.search).get('user')?.trim();
  const known = signedIn ? $('me').textContent : fromUrl || nick();
  if (known && [...known].length <= FROM_MAX) setNick(known); else askNick();
  formatAll($('log'));
  for (const li of log.messages()) {
    moderation.decorate(li);
    person(li);
    presence.spoke(li.dataset.from, Date.parse(li.querySelector('time').dateTime));
  }
  convo.start();
  if (!kind) lastRoom(room); // the join page offers public rooms only
  composer.updateCount();
  log.refreshTimes();
  log.toBottom();
  if (me) composer.input.focus();
  goLive();
  startPrivate();
}
