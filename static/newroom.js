// "New private room" (passkey mode), on the join page and beside the chat page's room
// list: asks for a title, makes the room (POST /rooms/, the service picks its id and the
// maker owns it) and goes there.

import { api, el } from './lib.js';

/** Longest title, as the server enforces it (src/model/membership.rs TITLE_MAX). */
const TITLE_MAX = 64;

/** The control: a disclosure holding the title form. */
export function newRoomControl() {
  const box = el('details', 'new-room');
  const form = el('form');
  const input = el('input');
  input.id = 'new-room-title';
  input.required = true;
  input.maxLength = TITLE_MAX;
  input.autocomplete = 'off';
  const label = el('label', '', 'Title');
  label.htmlFor = input.id;
  const error = el('p', 'error');
  error.setAttribute('role', 'alert');
  const row = el('div', 'row');
  row.append(input, el('button', '', 'Create'));
  form.append(label, row, el('p', 'hint', 'Only people you add or invite can read it.'), error);
  box.append(el('summary', '', 'New private room'), form);
  box.addEventListener('toggle', () => { if (box.open) input.focus(); });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const { id } = await api('/rooms/', { method: 'POST', body: { title: input.value.trim(), private: true } });
      location.assign(`/${id}`);
    } catch (e) {
      error.textContent = e.message;
    }
  });
  return box;
}
