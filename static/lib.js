// Shared by the join and chat pages. Everything that turns untrusted text into DOM
// lives here and in format.js, and only ever uses text nodes and properties: never HTML
// strings.
// src/web/templates/chat.rs renders the same message markup on the server; keep the two
// in step.

import { setText } from './format.js';

const NICK_KEY = 'edge-chat:nick';
const ROOM_KEY = 'edge-chat:room';

/** localStorage can be missing or throw (privacy modes); then we simply forget. */
export function stored(key, value) {
  try {
    if (value === undefined) return localStorage.getItem(key) || '';
    localStorage.setItem(key, value);
  } catch {}
  return value || '';
}

export const nick = (value) => stored(NICK_KEY, value);
export const lastRoom = (value) => stored(ROOM_KEY, value);

/** Longest nickname and message, as the server enforces them (src/model.rs). */
export const FROM_MAX = 64;
export const TEXT_MAX = 1000;

/** Characters as the server counts them: Unicode scalar values, after trimming. */
export const length = (text) => [...text.replace(/\r\n/g, '\n').trim()].length;

// ------------------------------------------------------------------ time

/** "just now", "5 min ago", "3 h ago", "2 d ago", then the date. */
export function ago(date, now = Date.now()) {
  const secs = Math.max(0, Math.floor((now - date.getTime()) / 1000));
  if (secs < 45) return 'just now';
  if (secs < 3600) return `${Math.max(1, Math.floor(secs / 60))} min ago`;
  if (secs < 86400) return `${Math.floor(secs / 3600)} h ago`;
  if (secs < 7 * 86400) return `${Math.floor(secs / 86400)} d ago`;
  return date.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

const FULL_DATE = { dateStyle: 'full', timeStyle: 'medium' };

/** Sets a <time datetime> element's relative text and its full local date on hover. */
export function refreshTime(time, now) {
  const date = new Date(time.dateTime);
  if (Number.isNaN(date.getTime())) return;
  time.textContent = ago(date, now);
  time.title = date.toLocaleString(undefined, FULL_DATE);
}

// ------------------------------------------------------------------ messages

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** <li class="msg [own]" data-id data-from> meta (sender, time[, "edited"]) and text
 * (formatted: format.js). */
export function messageElement(m, me) {
  const li = el('li', m.from === me ? 'msg own' : 'msg');
  li.dataset.id = String(m.id);
  li.dataset.from = m.from;
  const meta = el('div', 'meta');
  const time = document.createElement('time');
  time.dateTime = m.date;
  refreshTime(time);
  meta.append(el('span', 'from', m.from), ' ', time);
  if (m.edited) {
    const mark = el('span', 'edited', 'edited');
    const when = new Date(m.edited);
    mark.title = `Edited ${Number.isNaN(when.getTime()) ? m.edited : when.toLocaleString(undefined, FULL_DATE)}`;
    meta.append(' ', mark);
  }
  const text = el('div', 'text');
  setText(text, m.text);
  li.append(meta, text);
  return li;
}

// ------------------------------------------------------------------ accounts

/** JSON to or from the API; a refusal throws an Error carrying the server's sentence
 * and status. */
export async function api(path, { method = 'GET', body, signal } = {}) {
  const init = { method, headers: {}, signal };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new Error('Could not reach the server. Check the connection and try again.');
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) {
    const error = new Error(data?.message || `The server answered ${res.status}.`);
    error.status = res.status;
    error.code = data?.error;
    error.retryAfter = Number(res.headers.get('Retry-After')) || 1;
    throw error;
  }
  return data;
}

/** A page whose session has ended goes through the sign-in page and back. */
export function toSignIn() {
  location.assign(`/?next=${encodeURIComponent(location.pathname)}`);
}

/** The "sign out" button ends this session, "End all sessions" (the account page) every
 * session of the account; then the front door. Should that fail, the button says so
 * rather than leaving someone signed in unawares. */
export function wireSignOut() {
  for (const [id, body] of [['sign-out', undefined], ['sign-out-everywhere', { everywhere: true }]]) {
    const button = document.getElementById(id);
    button?.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await api('/auth/logout', { method: 'POST', body });
        location.assign('/');
      } catch {
        button.textContent = 'sign out failed: try again';
        button.disabled = false;
      }
    });
  }
}
