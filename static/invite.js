// An invite link's page (GET /invites/{token}), signed in: "Join <title>" joins the room
// (POST /invites/{token}) and goes there. Signed out, the page links to sign-in instead.

import { api } from './lib.js';

const box = document.getElementById('invite');
const accept = document.getElementById('accept');
const error = document.getElementById('invite-error');

accept?.addEventListener('click', async () => {
  accept.disabled = true;
  error.textContent = '';
  try {
    const { id } = await api(`/invites/${encodeURIComponent(box.dataset.token)}`, { method: 'POST' });
    location.assign(`/${id}`);
  } catch (e) {
    error.textContent = e.message;
    accept.disabled = false;
  }
});
accept?.focus();
