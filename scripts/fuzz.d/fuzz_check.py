"""Before and after the fuzz: seed rooms, then prove every stored message is what it should be.

Seeded rooms get ordinary posts first. Fuzz requests may post to them too (and to other
rooms), so afterwards each room that matters is read back in full and must be exactly:
ids 1..N without gaps or repeats; the seeded messages unchanged at their ids; every other
message one that a fuzz POST was answered 2xx for (same id, sender, text and date); and
every 2xx POST whose path names its room literally found in that room. A message nobody
was told about is traced by the "[s17]" tag in its text to the request that stored it.

These requests are ordinary ones, so urllib is enough here.
"""

import json
import re
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

ROOM_PATH = re.compile(rb"^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/]*)?/rooms/([A-Za-z0-9._-]{1,64})/messages/$")
TAG = re.compile(r"\[([sp]\d+)\]")
TIMEOUT = 10


@dataclass
class Accepted:
    """A fuzz POST answered 2xx with the message it stored."""
    tag: str  # "s17"
    room: str | None  # when the request path names it literally
    message: dict


@dataclass
class Integrity:
    seeded_rooms: int = 0
    seeded_messages: int = 0
    rooms_checked: int = 0
    messages_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self):
        return not self.problems

    def summary(self):
        verdict = "yes" if self.intact else f"NO ({len(self.problems)} problems)"
        return (f"{verdict}: {self.seeded_messages} seeded in {self.seeded_rooms} rooms, "
                f"{self.messages_checked} messages in {self.rooms_checked} rooms checked")


def _request(url, method="GET", data=None):
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if data else {}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
        return json.loads(resp.read())


def seed(base_url, rooms):
    """rooms: {name: number of messages}. Returns {name: [message, ...]} in id order."""
    seeded = {}
    for room, count in rooms.items():
        seeded[room] = [
            _request(f"{base_url}/rooms/{room}/messages/", "POST",
                     urllib.parse.urlencode({"from": "seeder", "text": f"seed {room} #{n}"}).encode())
            for n in range(1, count + 1)
        ]
    return seeded


def history(base_url, room):
    """Every message of the room, oldest first."""
    out, before = [], ""
    for _ in range(100_000):
        page = _request(f"{base_url}/rooms/{room}/messages/?limit=100{before}")["messages"]
        out += page
        if len(page) < 100:
            return out[::-1]
        before = f"&before={page[-1]['id']}"
    raise RuntimeError(f"room {room}: history paging did not end")


def literal_room(target):
    """The room a POST's request target names, if it names one plainly."""
    match = ROOM_PATH.match(target.split(b"?", 1)[0])
    return match.group(1).decode() if match else None


def _key(m):
    return m.get("id"), m.get("from"), m.get("text"), m.get("date")


def verify(base_url, seeded, accepted, answers_by_tag):
    """answers_by_tag: {"s17": "answered 400" ...} for every request that carried a tag."""
    result = Integrity(len(seeded), sum(map(len, seeded.values())))
    by_key = {_key(a.message): a for a in accepted}
    rooms = sorted(set(seeded) | {a.room for a in accepted if a.room})
    histories = {}
    for room in rooms:
        messages = histories[room] = history(base_url, room)
        result.rooms_checked += 1
        result.messages_checked += len(messages)
        result.problems += _check_room(room, messages, seeded.get(room, []), by_key, answers_by_tag)
    for a in accepted:
        if a.room and _key(a.message) not in {_key(m) for m in histories[a.room]}:
            result.problems.append(
                f"room {a.room}: accepted post [{a.tag}] id {a.message.get('id')} is missing")
    return result


def _check_room(room, messages, seeds, by_key, answers_by_tag):
    problems = []
    ids = [m["id"] for m in messages]
    if ids != list(range(1, len(ids) + 1)):
        problems.append(f"room {room}: ids are not 1..{len(ids)} (first differences: "
                        f"{[i for n, i in enumerate(ids, 1) if i != n][:5]})")
    for want, got in zip(seeds, messages):
        if _key(want) != _key(got):
            problems.append(f"room {room}: seeded message {want['id']} changed: {want} -> {got}")
    if len(messages) < len(seeds):
        problems.append(f"room {room}: {len(seeds)} seeded, {len(messages)} left")
    for m in messages[len(seeds):]:
        if _key(m) in by_key:
            continue
        tag = TAG.search(m.get("text", ""))
        how = (f"its request was {answers_by_tag[tag.group(1)]}" if tag and tag.group(1) in answers_by_tag
               else "no request of this run explains it")
        problems.append(f"room {room}: message {m['id']} {m.get('text', '')[:60]!r} was stored but {how}")
    return problems
