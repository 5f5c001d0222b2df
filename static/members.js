// A private room's people, on its page (passkey mode): who is a member and with what
// role; the owner (or a site admin) removes members and adds them by name, and makes or
// revokes invite links; a member leaves. A direct message only lists its two people:
// nobody is added or removed there. The server decides every change again
// (src/http/api/private/rooms.rs); this only offers what the reader may do.

import { api, el } from './lib.js';

/** A labelled button. */
function button(text, className = '') {
  const b = el('button', className, text);
  b.type = 'button';
  return b;
}

/**
 * base: "/rooms/<room>"; me: the signed-in name; admin: one of config `admins`; dm: a
 * direct message; left(): after leaving. Returns the panel (a <details>) and reload().
 */
export function startMembers({ base, me, admin, dm, left }) {
  const panel = el('details', 'members');
  const summary = el('summary', '', 'Members');
  const list = el('ul', 'member-list');
  const error = el('p', 'error');
  error.setAttribute('role', 'alert');
  const tools = el('div', 'member-tools');
  panel.append(summary, list, tools, error);
  // Opened, it shows who is a member now: people join by invite links meanwhile.
  panel.addEventListener('toggle', () => { if (panel.open) reload(); });

  const fail = (e) => { error.textContent = e.message; };
  const path = (name) => `${base}/members/${encodeURIComponent(name)}`;

  function render(members) {
    error.textContent = '';
    summary.textContent = `Members (${members.length})`;
    const owner = members.some((m) => m.name === me && m.role === 'owner');
    const manages = !dm && (owner || admin);
    list.replaceChildren(...members.map((m) => {
      const li = el('li', '', m.name);
      if (m.role === 'owner') li.append(' ', el('span', 'note', '(owner)'));
      if (m.name === me) li.append(' ', el('span', 'note', '(you)'));
      if (manages && m.role !== 'owner' && m.name !== me) {
        const remove = button('Remove', 'link');
        remove.setAttribute('aria-label', `Remove ${m.name}`);
        remove.addEventListener('click', async () => {
          if (!confirm(`Remove ${m.name} from this room?`)) return;
          try { render((await api(path(m.name), { method: 'DELETE' })).members); } catch (e) { fail(e); }
        });
        li.append(' ', remove);
      }
      return li;
    }));
    tools.replaceChildren();
    if (manages) tools.append(addForm());
    if (owner && !dm) tools.append(...inviteTools());
    if (!owner && !dm && members.some((m) => m.name === me)) tools.append(leaveButton());
  }

  function addForm() {
    const form = el('form', 'row');
    const input = el('input');
    input.id = 'member-name';
    input.required = true;
    input.autocomplete = 'off';
    const label = el('label', 'sr-only', 'Add a member by name');
    label.htmlFor = input.id;
    form.append(label, input, el('button', '', 'Add'));
    input.placeholder = 'Name';
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      try {
        render((await api(`${base}/members/`, { method: 'POST', body: { name: input.value.trim() } })).members);
        document.getElementById('member-name')?.focus();
      } catch (e) { fail(e); }
    });
    return form;
  }

  function inviteTools() {
    const copy = button('Copy invite link');
    const revoke = button('Revoke invite links', 'quiet');
    const out = el('p', 'hint');
    out.setAttribute('aria-live', 'polite');
    copy.addEventListener('click', async () => {
      try {
        const { url, expires } = await api(`${base}/invites/`, { method: 'POST' });
        const until = new Date(expires).toLocaleString();
        let copied = false;
        try {
          await navigator.clipboard.writeText(url);
          copied = true;
        } catch {}
        // Shown either way: where the clipboard is refused, it is copied by hand.
        const field = el('input', 'invite-url');
        field.readOnly = true;
        field.value = url;
        field.setAttribute('aria-label', 'Invite link');
        field.addEventListener('focus', () => field.select());
        out.replaceChildren(
          copied ? `Invite link copied. It works until ${until}. ` : `Copy this invite link; it works until ${until}. `,
          field,
        );
        if (!copied) field.focus();
      } catch (e) { fail(e); }
    });
    revoke.addEventListener('click', async () => {
      if (!confirm('Stop every invite link to this room from working?')) return;
      try {
        await api(`${base}/invites/`, { method: 'DELETE' });
        out.textContent = 'Every invite link made so far no longer works.';
      } catch (e) { fail(e); }
    });
    const row = el('div', 'row');
    row.append(copy, revoke);
    return [row, out];
  }

  function leaveButton() {
    const leave = button('Leave room', 'quiet');
    leave.addEventListener('click', async () => {
      if (!confirm('Leave this room? You will need a new invite to come back.')) return;
      try {
        await api(path(me), { method: 'DELETE' });
        left();
      } catch (e) { fail(e); }
    });
    return leave;
  }

  async function reload() {
    try { render((await api(`${base}/members/`)).members); } catch (e) { fail(e); }
  }

  return { panel, reload };
}
