// Moderation on the chat page, passkey mode only (open mode has no authors, and its
// admins are scripts with the admin key): delete and edit your own messages, Up arrow in
// an empty composer edits your last one; an admin (data-admin) deletes any and clears the
// room. Every change is also an event in the room's stream, which every page applies
// (chat.js); this page applies its own at once too, which is harmless twice.

import { api, el, messageElement, toSignIn } from './lib.js';
import { setText, textOf } from './format.js';

/** A 429's notice, for as long as Retry-After says. */
export function slowDown(where, seconds) {
  const text = `Slow down: try again in ${seconds} s.`;
  where.textContent = text;
  setTimeout(() => { if (where.textContent === text) where.textContent = ''; }, seconds * 1000);
}

/** Shows why a request was refused, or goes to sign in if the session ended. */
export function refused(where, error) {
  if (error.status === 401) toSignIn();
  else if (error.status === 429) slowDown(where, error.retryAfter);
  else where.textContent = error.message;
}

/**
 * base, room; log: startLog's; me(); signedIn, admin; editMs: how long after posting its
 * author may edit a message; input: the composer's box (focus goes back there);
 * errors: where refusals are shown; who: the "Signed in as" line (the admin's clear).
 */
export function startModeration({ base, room, log, me, signedIn, admin, editMs, input, errors, who }) {
  /** Clears applied here, by event id, with their notice: whichever comes first, the
   * stream's event or this page's own answer, applies it; the other only words it. */
  const clears = new Map();
  /** The message being edited in place: { li, form, back (where focus returns) }. */
  let editing = null;

  const messagePath = (li) => `${base}/messages/${li.dataset.id}`;
  const canEdit = (li) => li.classList.contains('own')
    && Date.now() - Date.parse(li.querySelector('time').dateTime) < editMs;

  /** Adds the controls this person may use on a message: edit and delete their own,
   * delete anyone's as an admin. */
  function decorate(li) {
    const own = li.dataset.from === me();
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

  /** Edit windows close with time. */
  function refresh(li) {
    const b = li.querySelector('[data-act="edit"]');
    if (b && b !== document.activeElement) b.hidden = !canEdit(li);
  }

  log.el.addEventListener('click', (event) => {
    const button = event.target.closest('.acts button');
    const li = button?.closest('.msg');
    if (!li) return;
    if (button.dataset.act === 'edit') startEdit(li, button); else remove(li);
  });

  async function remove(li) {
    const whose = li.dataset.from === me() ? 'your message' : `this message from ${li.dataset.from}`;
    if (!confirm(`Delete ${whose}? This cannot be undone.`)) return;
    // Focus stays in the log: on the next message's controls, else the previous one's.
    // Found now: the stream's delete event may take the message out before we hear back.
    const near = [li.nextElementSibling, li.previousElementSibling]
      .map((n) => n?.querySelector('.acts button:not([hidden])')).find(Boolean);
    try {
      await api(messagePath(li), { method: 'DELETE' });
    } catch (error) {
      // 404: deleted already (by someone else, or another tab).
      if (error.status !== 404) return refused(errors, error);
    }
    log.gone(li);
    (near?.isConnected ? near : input).focus();
  }

  /** Shows a message's new text and its "edited" mark; false if it is not in the log. */
  function edited(m) {
    const li = log.find(m.id);
    if (!li) return false;
    const fresh = messageElement(m, me());
    setText(li.querySelector('.text'), m.text);
    const mark = fresh.querySelector('.edited');
    const old = li.querySelector('.edited');
    if (old) old.replaceWith(mark); else li.querySelector('time').after(' ', mark);
    return true;
  }

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

  /** Up in an empty composer edits your last message, as in most chat apps: true if so. */
  function editLast() {
    const last = log.messages().filter((li) => li.classList.contains('own')).reverse().find(canEdit);
    if (!last) return false;
    last.scrollIntoView({ block: 'nearest' });
    startEdit(last, input);
    return true;
  }

  /** Applies a clear: every message before event `before` (only those `from` someone). */
  function cleared({ before, from }, text) {
    if (from == null) log.noOlder(); // nothing older is left
    for (const li of log.messages()) {
      if (Number(li.dataset.id) < before && (from == null || li.dataset.from === from)) log.gone(li);
    }
    log.showEmpty();
    log.say(text || 'Messages were removed by an admin.');
    return log.notice(text || (from == null ? 'An admin cleared the room.'
      : `An admin removed the messages of ${from}.`));
  }

  if (admin) {
    const button = el('button', 'link', 'clear room');
    button.type = 'button';
    who.append(' · ', button);
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
        refused(errors, error);
      }
      button.focus();
    });
  }

  return {
    decorate,
    refresh,
    editLast,
    /** Before a message leaves the log: an edit in it ends. */
    leaving(li) { if (editing?.li === li) stopEdit(false); },
    /** The room's `edit` event: true if the message is shown. */
    edited,
    /** The room's `clear` event, `id` its event id. */
    clear(data, id) { if (!clears.has(id)) clears.set(id, cleared(data)); },
  };
}
