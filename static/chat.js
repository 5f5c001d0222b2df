// Chat page. The server already rendered the newest messages and the id of the newest
// one (data-last-event-id); this script takes over from there:
//   live      live.js over the transport picked (SSE by default, WebSocket or long-poll),
//             resuming after the last id we have, with a bounded backoff;
//   presence  who is here and who is typing (presence.js); your rooms (roomlist.js);
//   log       the messages, in id order, and "load older" (log.js);
//   composer  posting (composer.js);
//   moderate  (passkey mode) editing and deleting, an admin's clear (moderate.js).
// This file knows who you are and applies each stream event to the modules above.

import { api, nick, lastRoom, stored, toSignIn, wireSignOut, FROM_MAX } from './lib.js';
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
  decorate: (li, m) => { moderation.decorate(li); convo.decorate(li, m); },
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
  els: { bar: $('presence'), count: $('here-count'), names: $('here-names'), typing: $('typing'), note: $('presence-note') },
});
const rooms = startRoomList({
  room, newest: streamId, els: { nav: $('rooms'), list: $('room-list') }, mentions: (r) => convo.mentions(r),
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
  });
}
picker.addEventListener('change', () => {
  stored(TRANSPORT_KEY, picker.value);
  goLive();
});

// ------------------------------------------------------------------ start

{
  const fromUrl = new URLSearchParams(location.search).get('user')?.trim();
  const known = signedIn ? $('me').textContent : fromUrl || nick();
  if (known && [...known].length <= FROM_MAX) setNick(known); else askNick();
  for (const li of log.messages()) moderation.decorate(li);
  convo.start();
  lastRoom(room);
  composer.updateCount();
  log.refreshTimes();
  log.toBottom();
  if (me) composer.input.focus();
  goLive();
}
