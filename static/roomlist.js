// The rooms you joined, with unread counts. Public rooms live in localStorage (room and
// the newest id you have seen there); in passkey mode your private rooms and direct
// messages come from the server (GET /me/rooms), the same on every device, with the
// newest id seen on this device kept locally too. One multi-room stream
// (/events/?channel=…) for the other rooms resumes from those ids with a composite
// Last-Event-ID, so what arrived while you were away is counted too, and nothing twice.
// A private room this device never saw counts from its `newest` when listed.

import { el } from './lib.js';

const KEY = 'edge-chat:rooms';
const SEEN_KEY = 'edge-chat:private-seen';
const MAX = 10; // the stream carries at most 10 rooms: the other rooms shown
/** After the stream is refused (a private room in it is no longer yours: the whole
 * stream is 404), the list is fetched again this much later, not in a tight loop. */
const RELIST_MS = 10000;
/** Private room and direct message ids (src/model/membership.rs). */
const isPrivate = (room) => room.startsWith('p_') || room.startsWith('dm_');

function read(key, fallback) {
  try {
    const value = JSON.parse(localStorage.getItem(key) || 'null');
    return value && typeof value === 'object' ? value : fallback;
  } catch {
    return fallback;
  }
}

function load() {
  const list = read(KEY, []);
  return Array.isArray(list) ? list.filter((r) => typeof r.room === 'string' && !isPrivate(r.room)) : [];
}

function save(key, value) {
  try { localStorage.setItem(key, JSON.stringify(value)); } catch {}
}

function mentionBadge(n) {
  const badge = el('span', 'mention-badge', `@${n > 99 ? '99+' : n}`);
  badge.title = `${n} mention${n === 1 ? '' : 's'} of you`;
  badge.setAttribute('aria-label', badge.title);
  return badge;
}

/**
 * room: this page's; newest: its newest id; signedIn: passkey mode (private rooms);
 * titled(title): this page's private room has a title; mentions(r): unseen mentions of
 * you in room r (mentions.js), shown as a badge; els: {nav, list}.
 */
export function startRoomList({ room, newest, signedIn, titled, els, mentions = () => 0 }) {
  const here = isPrivate(room);
  let list = load().filter((r) => r.room !== room);
  if (!here) {
    const mine = load().find((r) => r.room === room);
    list.unshift({ room, seen: Math.max(newest, mine?.seen || 0) });
    list = list.slice(0, MAX + 1);
    save(KEY, list);
  }
  /** Private rooms and DMs: {room, title, dm, seen}, this page's first. */
  let privates = [];
  const unread = new Map(); // room -> Set of unread ids
  let source = null;

  const seenPrivate = () => read(SEEN_KEY, {});
  function notePrivate(r, id) {
    const seen = seenPrivate();
    if ((seen[r] || 0) >= id) return;
    seen[r] = id;
    save(SEEN_KEY, seen);
  }
  if (here) notePrivate(room, newest);

  function item({ room: r, title, dm }) {
    const li = document.createElement('li');
    const a = el('a', '', title === undefined ? `#${r}` : title || r);
    a.href = `/${r}`;
    if (r === room) a.setAttribute('aria-current', 'page');
    li.append(a);
    if (title !== undefined) li.append(' ', el('span', 'note', dm ? '(DM)' : '(private)'));
    const n = unread.get(r)?.size || 0;
    if (n) {
      const badge = el('span', 'unread', n > 99 ? '99+' : String(n));
      badge.title = `${n} unread`;
      li.append(' ', badge);
    }
    const at = r === room ? 0 : mentions(r);
    if (at) li.append(' ', mentionBadge(at));
    if (r !== room && title === undefined) {
      const leave = el('button', 'link', '×');
      leave.type = 'button';
      leave.setAttribute('aria-label', `Remove #${r} from your rooms`);
      leave.addEventListener('click', () => {
        list = list.filter((x) => x.room !== r);
        save(KEY, list);
        unread.delete(r);
        listen();
      });
      li.append(' ', leave);
    }
    return li;
  }

  function render() {
    els.list.replaceChildren(...privates.map(item), ...list.map(item));
    els.nav.hidden = !signedIn && list.length < 2;
  }

  function listen() {
    if (source) source.close();
    source = null;
    render();
    const others = [...privates, ...list].filter((r) => r.room !== room).slice(0, MAX);
    if (others.length === 0) return;
    const channels = others.map((r) => `channel=${encodeURIComponent(r.room)}`).join('&');
    const id = others.map((r) => `${r.room}:${r.seen || 0}`).join(',');
    source = new EventSource(`/events/?${channels}&lastEventId=${encodeURIComponent(id)}`);
    source.addEventListener('message', (e) => {
      const m = JSON.parse(e.data);
      const seen = others.find((r) => r.room === m.room)?.seen || 0;
      if (m.id <= seen) return;
      if (!unread.has(m.room)) unread.set(m.room, new Set());
      unread.get(m.room).add(m.id);
      render();
    });
    source.addEventListener('error', (e) => {
      if (signedIn && e.target.readyState === EventSource.CLOSED) setTimeout(fetchPrivate, RELIST_MS);
    });
  }

  /** Your private rooms and DMs, as the server lists them. */
  async function fetchPrivate() {
    let rooms = [];
    try {
      const res = await fetch('/me/rooms');
      if (res.ok) rooms = (await res.json()).rooms;
    } catch {}
    // A room this device never saw counts from its newest message when first listed.
    const seen = seenPrivate();
    privates = rooms.map((r) => ({
      room: r.id, title: r.title, dm: r.dm, seen: seen[r.id] ?? (Number(r.newest) || 0),
    }));
    for (const r of privates) seen[r.room] = r.seen;
    save(SEEN_KEY, seen);
    const mine = privates.findIndex((r) => r.room === room);
    if (mine > 0) privates.unshift(...privates.splice(mine, 1));
    if (mine >= 0) titled?.(privates[0].title, privates[0].dm);
    listen();
  }

  // Loaded on demand: open mode has no private rooms.
  if (signedIn) import('./newroom.js').then(({ newRoomControl }) => els.nav.append(newRoomControl()));
  listen();
  if (signedIn) fetchPrivate();
  return {
    /** A mention of you in room `r` (not this one), in message `id`: its badge, and
     * the room listed (unread from that message on); a private room comes with the
     * server's list. No room: shows the counts again. */
    mentioned(r, id) {
      if (!r || list.some((x) => x.room === r) || privates.some((x) => x.room === r)) return render();
      if (isPrivate(r)) return fetchPrivate();
      list.splice(here ? 0 : 1, 0, { room: r, seen: Math.max(0, id - 1) });
      list = list.slice(0, MAX + 1);
      save(KEY, list);
      listen();
    },
    /** The newest id shown in this room. */
    seen(id) {
      if (here) return notePrivate(room, id);
      const entry = list.find((r) => r.room === room);
      if (!entry || id <= entry.seen) return;
      entry.seen = id;
      const stored = load();
      const mine = stored.find((r) => r.room === room);
      if (mine) mine.seen = Math.max(mine.seen || 0, id);
      save(KEY, mine ? stored : list);
    },
    /** This page's room is no longer yours: stop counting others as if it were. */
    forget() {
      privates = privates.filter((r) => r.room !== room);
      render();
    },
  };
}
