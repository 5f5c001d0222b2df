// Join page: fills in the nickname and room used last time and remembers new ones.
// The form itself is a plain GET to / (which redirects into the room), so it works
// without this script too. Signed in (passkey mode), there is no nickname to ask, and
// a private room can be made (newroom.js).

import { nick, lastRoom, wireSignOut } from './lib.js';

const form = document.getElementById('join');
const user = form.elements.user;
const room = form.elements.room;

if (user && !user.value) user.value = nick();
// The server fills the room from ?room=; otherwise it shows the default.
if (!form.dataset.roomGiven && lastRoom()) room.value = lastRoom();
(user && !user.value ? user : room).focus();

form.addEventListener('submit', () => {
  room.value = room.value.trim();
  lastRoom(room.value);
  if (user) {
    user.value = user.value.trim();
    nick(user.value);
  }
});
wireSignOut();
if (document.getElementById('me')) {
  import('./newroom.js').then(({ newRoomControl }) => form.after(newRoomControl()));
}
