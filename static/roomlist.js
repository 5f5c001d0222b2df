// The rooms you joined, with unread counts. The list lives in localStorage (room and
// the newest id you have seen there); one multi-room stream (/events/?channel=…) for
// the other rooms resumes from those ids with a composite Last-Event-ID, so what
// arrived while you were away is counted too, and nothing twice.

const KEY = 'edge-chat:rooms';
const MAX = 10; // the stream carries at most 10 rooms: the other rooms shown

function load() {
  try {
    const list = JSON.parse(localStorage.getItem(KEY) || '[]');
    return Array.isArray(list) ? list.filter((r) => typeof r.room === 'string') : [];
  } catch {
    return [];
  }
}

function save(list) {
  try { localStorage.setItem(KEY, JSON.stringify(list)); } catch {}
}

function mentionBadge(n) {
  const badge = document.createElement('span');
  badge.className = 'mention-badge';
  badge.textContent = `@${n > 99 ? '99+' : n}`;
  badge.title = `${n} mention${n === 1 ? '' : 's'} of you`;
  badge.setAttribute('aria-label', badge.title);
  return badge;
}

/** mentions(r): unseen mentions of you in room r (mentions.js), shown as a badge. */
export function startRoomList({ room, newest, els, mentions = () => 0 }) {
  let list = load().filter((r) => r.room !== room);
  const mine = load().find((r) => r.room === room);
  list.unshift({ room, seen: Math.max(newest, mine?.seen || 0) });
  list = list.slice(0, MAX + 1);
  save(list);
  const unread = new Map(); // room -> Set of unread ids
  let source = null;

  function render() {
    els.list.replaceChildren(...list.map(({ room: r }) => {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = `/${r}`;
      a.textContent = `#${r}`;
      if (r === room) a.setAttribute('aria-current', 'page');
      li.append(a);
      const n = unread.get(r)?.size || 0;
      if (n) {
        const badge = document.createElement('span');
        badge.className = 'unread';
        badge.textContent = n > 99 ? '99+' : String(n);
        badge.title = `${n} unread`;
        li.append(' ', badge);
      }
      const at = r === room ? 0 : mentions(r);
      if (at) li.append(' ', mentionBadge(at));
      if (r !== room) {
        const leave = document.createElement('button');
        leave.type = 'button';
        leave.className = 'link';
        leave.textContent = '×';
        leave.setAttribute('aria-label', `Remove #${r} from your rooms`);
        leave.addEventListener('click', () => {
          list = list.filter((x) => x.room !== r);
          save(list);
          unread.delete(r);
          listen();
        });
        li.append(' ', leave);
      }
      return li;
    }));
    els.nav.hidden = list.length < 2;
  }

  function listen() {
    if (source) source.close();
    source = null;
    render();
    const others = list.filter((r) => r.room !== room);
    if (others.length === 0) return;
    const channels = others.map((r) => `channel=${encodeURIComponent(r.room)}`).join('&');
    const id = others.map((r) => `${r.room}:${r.seen || 0}`).join(',');
    source = new EventSource(`/events/?${channels}&lastEventId=${encodeURIComponent(id)}`);
    source.addEventListener('message', (e) => {
      const m = JSON.parse(e.data);
      const seen = list.find((r) => r.room === m.room)?.seen || 0;
      if (m.id <= seen) return;
      if (!unread.has(m.room)) unread.set(m.room, new Set());
      unread.get(m.room).add(m.id);
      render();
    });
  }

  listen();
  return {
    /** A mention of you in room `r` (not this one), in message `id`: its badge, and
     * the room listed (unread from that message on). No room: shows the counts again. */
    mentioned(r, id) {
      if (!r || list.some((x) => x.room === r)) return render();
      list.splice(1, 0, { room: r, seen: Math.max(0, id - 1) });
      list = list.slice(0, MAX + 1);
      save(list);
      listen();
    },
    /** The newest id shown in this room. */
    seen(id) {
      const entry = list.find((r) => r.room === room);
      if (!entry || id <= entry.seen) return;
      entry.seen = id;
      const stored = load();
      const here = stored.find((r) => r.room === room);
      if (here) here.seen = Math.max(here.seen || 0, id);
      save(here ? stored : list);
    },
  };
}
