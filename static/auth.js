// Sign-in and account pages (passkey mode). Options and responses travel in WebAuthn
// Level 3's JSON forms: the server's options go to PublicKeyCredential.parse…FromJSON
// as they are, and credential.toJSON() goes back, so no byte juggling happens here.

import { api, wireSignOut } from './lib.js';

const $ = (id) => document.getElementById(id);
const errorBox = $('auth-error');
const PK = window.PublicKeyCredential;
const supported = Boolean(PK?.parseCreationOptionsFromJSON && PK?.parseRequestOptionsFromJSON);

function showError(text) {
  errorBox.textContent = text;
  errorBox.hidden = !text;
}

/** A sentence for a failed ceremony: the server's, or what the browser's error means. */
function explain(error) {
  if (error.name === 'NotAllowedError') return 'The passkey prompt was closed or timed out. Try again.';
  if (error.name === 'InvalidStateError') return 'This device already holds a passkey for this account.';
  if (error.name === 'AbortError') return '';
  return error.message || 'Something went wrong. Try again.';
}

async function createPasskey(optionsPath, verifyPath, body) {
  const options = await api(optionsPath, { method: 'POST', body });
  const credential = await navigator.credentials.create({ publicKey: PK.parseCreationOptionsFromJSON(options) });
  return api(verifyPath, { method: 'POST', body: credential.toJSON() });
}

/** Runs `work` with the page's buttons disabled and its errors shown. */
async function busy(work) {
  const buttons = [...document.querySelectorAll('main button')];
  buttons.forEach((b) => { b.disabled = true; });
  showError('');
  try {
    await work();
  } catch (error) {
    showError(explain(error));
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

// ------------------------------------------------------------------ sign-in page

function signInPage(root) {
  const next = root.dataset.next || '/';
  let autofill = null;

  async function signIn(name, conditional) {
    const options = await api('/auth/login/options', { method: 'POST', body: name ? { name } : {} });
    const request = { publicKey: PK.parseRequestOptionsFromJSON(options) };
    if (conditional) {
      autofill = new AbortController();
      request.mediation = 'conditional';
      request.signal = autofill.signal;
    }
    const credential = await navigator.credentials.get(request);
    await api('/auth/login/verify', { method: 'POST', body: credential.toJSON() });
    location.assign(next);
  }

  /** The name field offers this site's passkeys as autofill, where the browser can. */
  async function offerAutofill() {
    if (!(await PK.isConditionalMediationAvailable?.())) return;
    signIn('', true).catch((error) => { if (error.name !== 'AbortError') showError(explain(error)); });
  }

  const stopAutofill = () => { autofill?.abort(); autofill = null; };

  $('signin').addEventListener('submit', (event) => {
    event.preventDefault();
    stopAutofill();
    busy(() => signIn($('signin-name').value.trim(), false)).finally(offerAutofill);
  });
  $('signup').addEventListener('submit', (event) => {
    event.preventDefault();
    stopAutofill();
    const name = $('signup-name').value.trim();
    busy(async () => {
      await createPasskey('/auth/register/options', '/auth/register/verify', { name });
      location.assign(next);
    }).finally(offerAutofill);
  });
  offerAutofill();
}

// ------------------------------------------------------------------ account page

const day = (date) => (date ? new Date(date).toLocaleString() : 'never');

function item(text, buttonLabel, onClick) {
  const li = document.createElement('li');
  const span = document.createElement('span');
  span.textContent = text;
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'quiet';
  button.textContent = buttonLabel;
  button.addEventListener('click', onClick);
  li.append(span, button);
  return li;
}

function accountPage() {
  async function load() {
    const [me, keys] = await Promise.all([api('/auth/me'), api('/auth/api-keys')]);
    $('passkeys').replaceChildren(...me.passkeys.map((p, n) => item(
      `Passkey ${n + 1} (…${p.id.slice(-6)}): added ${day(p.created)}, last used ${day(p.last_used)}`,
      'Remove',
      () => confirm('Remove this passkey? You cannot sign in with it afterwards.')
        && busy(async () => { await api(`/auth/passkeys/${encodeURIComponent(p.id)}`, { method: 'DELETE' }); await load(); }),
    )));
    $('api-keys').replaceChildren(...keys.api_keys.map((k) => item(
      `${k.name}: created ${day(k.created)}`,
      'Revoke',
      () => confirm(`Revoke the key "${k.name}"? Programs using it stop working at once.`)
        && busy(async () => { await api(`/auth/api-keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' }); await load(); }),
    )));
  }

  $('add-passkey').addEventListener('click', () => busy(async () => {
    await createPasskey('/auth/passkeys/options', '/auth/passkeys/verify');
    await load();
  }));
  $('new-key').addEventListener('submit', (event) => {
    event.preventDefault();
    busy(async () => {
      const created = await api('/auth/api-keys', { method: 'POST', body: { name: $('key-name').value.trim() } });
      $('new-key-secret').textContent = created.key;
      $('new-key-shown').hidden = false;
      $('key-name').value = '';
      await load();
    });
  });
  $('copy-key').addEventListener('click', async () => {
    await navigator.clipboard?.writeText($('new-key-secret').textContent);
    $('copy-key').textContent = 'Copied';
  });
  busy(load);
}

// ------------------------------------------------------------------ start

wireSignOut();
if (!supported) {
  showError('This browser cannot use passkeys here. Try a recent Chrome, Edge, Safari or Firefox.');
  document.querySelectorAll('main form button, #add-passkey').forEach((b) => { b.disabled = true; });
} else if ($('auth')) {
  signInPage($('auth'));
} else if ($('account')) {
  accountPage();
}
