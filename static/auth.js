// Sign-in and account pages (passkey mode). Options and responses travel in WebAuthn
// Level 3's JSON forms: the server's options go to PublicKeyCredential.parse…FromJSON
// as they are, and credential.toJSON() goes back, so no byte juggling happens here.

import { api, toSignIn, wireSignOut } from './lib.js';

const $ = (id) => document.getElementById(id);
const errorBox = $('auth-error');
const PK = window.PublicKeyCredential;
const supported = Boolean(PK?.parseCreationOptionsFromJSON && PK?.parseRequestOptionsFromJSON);
/** Shown when there is no other error: why passkeys cannot be used here. */
const standing = supported ? ''
  : 'This browser cannot use passkeys here. Try a recent Chrome, Edge, Safari or Firefox.';

function showError(text) {
  text ||= standing;
  errorBox.textContent = text;
  errorBox.hidden = !text;
}

/** A sentence for a failed ceremony: the server's, or what the browser's error means. */
function explain(error) {
  switch (error.name) {
    case 'NotAllowedError':
      return 'No passkey was used: the prompt was closed or timed out, or this device has none for this site. Try again.';
    case 'InvalidStateError':
      return 'This device already holds a passkey for this account: add one from another device or security key.';
    case 'SecurityError':
      return `Passkeys do not work at ${location.host}: open this site by its name, not its IP address.`;
    default:
      return error.message || 'Something went wrong. Try again.';
  }
}

async function createPasskey(optionsPath, verifyPath, body) {
  const options = await api(optionsPath, { method: 'POST', body });
  const credential = await navigator.credentials.create({ publicKey: PK.parseCreationOptionsFromJSON(options) });
  return api(verifyPath, { method: 'POST', body: credential.toJSON() });
}

/** Runs `work` with the page's buttons disabled; shows why it failed. True if it did not. */
async function busy(work) {
  const buttons = [...document.querySelectorAll('main button:enabled')];
  buttons.forEach((b) => { b.disabled = true; });
  showError('');
  try {
    await work();
    return true;
  } catch (error) {
    if (error.status === 401) toSignIn();
    showError(explain(error));
    return false;
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

// ------------------------------------------------------------------ sign-in page

function signInPage(root) {
  const { next } = root.dataset;
  /** Withdraws the pending autofill request (conditional mediation), if any. */
  let autofill = null;

  /** A passkey from the browser's prompt, or with `signal` one picked from the name
   * field's autofill; then the session. */
  async function signIn(name, signal) {
    const options = await api('/auth/login/options', { method: 'POST', body: name ? { name } : {}, signal });
    const request = { publicKey: PK.parseRequestOptionsFromJSON(options) };
    if (signal) Object.assign(request, { mediation: 'conditional', signal });
    const credential = await navigator.credentials.get(request);
    await api('/auth/login/verify', { method: 'POST', body: credential.toJSON() });
  }

  /** The name field offers this site's passkeys as autofill, where the browser can. It
   * is not offered again after it fails: a device answering by itself would loop. */
  async function offerAutofill() {
    const controller = new AbortController();
    autofill = controller;
    try {
      if (!(await PK.isConditionalMediationAvailable?.())) return;
      await signIn('', controller.signal);
      location.assign(next);
    } catch (error) {
      if (!controller.signal.aborted && error.name !== 'NotAllowedError') showError(explain(error));
    }
  }

  /** A ceremony the person asked for. A page has one WebAuthn request at a time, so the
   * autofill one is withdrawn first, and offered again if this one fails. */
  async function ceremony(event, field, work) {
    event.preventDefault();
    autofill?.abort();
    if (await busy(work)) {
      location.assign(next);
    } else {
      field.focus();
      offerAutofill();
    }
  }

  const signInName = $('signin-name');
  const signUpName = $('signup-name');
  $('signin').addEventListener('submit', (event) => ceremony(event, signInName,
    () => signIn(signInName.value.trim())));
  $('signup').addEventListener('submit', (event) => ceremony(event, signUpName,
    () => createPasskey('/auth/register/options', '/auth/register/verify', { name: signUpName.value.trim() })));
  offerAutofill();
}

// ------------------------------------------------------------------ account page

const WHEN = { dateStyle: 'medium', timeStyle: 'short' };
const day = (date) => (date ? new Date(date).toLocaleString(undefined, WHEN) : 'never');

/** A list item: its text, and a button (`action`, named for `what` to screen readers). */
function item(text, action, what, onClick) {
  const li = document.createElement('li');
  const span = document.createElement('span');
  span.textContent = text;
  li.append(span);
  if (action) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'quiet';
    button.textContent = action;
    button.setAttribute('aria-label', `${action} ${what}`);
    button.addEventListener('click', onClick);
    li.append(button);
  }
  return li;
}

/** The signed-in person's passkey, asked for again (step-up): a fresh session. */
async function reauthenticate() {
  const options = await api('/auth/reauth/options', { method: 'POST' });
  const credential = await navigator.credentials.get({ publicKey: PK.parseRequestOptionsFromJSON(options) });
  await api('/auth/reauth/verify', { method: 'POST', body: credential.toJSON() });
}

/** Runs an account change; when the server wants a recent passkey check first
 * (403 reauth_required), asks for the passkey and then carries on with the change. */
async function withStepUp(change) {
  try {
    return await change();
  } catch (error) {
    if (error.code !== 'reauth_required') throw error;
    await reauthenticate();
    return change();
  }
}

function accountPage() {
  const shown = $('new-key-shown');
  const secret = $('new-key-secret');
  const copy = $('copy-key');
  let shownId = '';

  const remove = (question, path, after) => confirm(question) && busy(async () => {
    await withStepUp(() => api(path, { method: 'DELETE' }));
    after?.();
    await load();
  });

  async function load() {
    const [me, keys] = await Promise.all([api('/auth/me'), api('/auth/api-keys')]);
    const several = me.passkeys.length > 1;
    $('passkeys').replaceChildren(...me.passkeys.map((p, n) => item(
      `Passkey ${n + 1} (…${p.id.slice(-6)}): added ${day(p.created)}, last used ${day(p.last_used)}`,
      several && 'Remove',
      `passkey ${n + 1}`,
      () => remove('Remove this passkey? You cannot sign in with it afterwards.',
        `/auth/passkeys/${encodeURIComponent(p.id)}`),
    )));
    $('api-keys').replaceChildren(...keys.api_keys.map((k) => item(
      `${k.name}: created ${day(k.created)}`,
      'Revoke',
      `key ${k.name}`,
      () => remove(`Revoke the key "${k.name}"? Programs using it stop working at once.`,
        `/auth/api-keys/${encodeURIComponent(k.id)}`,
        () => { if (k.id === shownId) shown.hidden = true; }),
    )));
  }

  $('add-passkey').addEventListener('click', () => busy(async () => {
    await withStepUp(() => createPasskey('/auth/passkeys/options', '/auth/passkeys/verify'));
    await load();
  }));
  $('new-key').addEventListener('submit', (event) => {
    event.preventDefault();
    busy(async () => {
      const body = { name: $('key-name').value.trim() };
      const created = await withStepUp(() => api('/auth/api-keys', { method: 'POST', body }));
      shownId = created.id;
      secret.textContent = created.key;
      copy.textContent = 'Copy';
      shown.hidden = false;
      $('new-key').reset(); // empty, and not marked invalid for it
      await load();
    }).then((done) => done && copy.focus());
  });
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(secret.textContent);
      copy.textContent = 'Copied';
    } catch {
      getSelection().selectAllChildren(secret);
      copy.textContent = 'Selected: copy it now';
    }
  });
  busy(load);
}

// ------------------------------------------------------------------ start

wireSignOut();
if (!supported) {
  showError(standing);
  document.querySelectorAll('#auth button, #add-passkey').forEach((b) => { b.disabled = true; });
} else if ($('auth')) {
  signInPage($('auth'));
}
if ($('account')) accountPage();
