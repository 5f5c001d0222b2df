// Join page: fills in the nickname and room used last time and remembers new ones.
// The form itself is a plain GET to / (which redirects into the room), so it works
// without this script too.

import { nick, lastRoom } from './lib.js';

const form = document.getElementById('join');
const user = form.elements.user;
const room = form.elements.room;

if (!user.value) user.value = nick();
// The server fills the room from ?room=; otherwise it shows the default.
if (!form.dataset.roomGiven && lastRoom()) room.value = lastRoom();
(user.value ? room : user).focus();

form.addEventListener('submit', () => {
  user.value = user.value.trim();
  room.value = room.value.trim();
  nick(user.value);
  lastRoom(room.value);
});
