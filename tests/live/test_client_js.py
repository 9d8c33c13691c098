"""``/_edge/live.js`` (``edgecache.live.client_js``) run in Node against a scripted WebSocket.

The script (below) replaces the browser's ``WebSocket``, ``setTimeout`` and ``Math.random``
with recorders, so reconnect, backoff and ``since`` are driven step by step and each step's
outcome is printed as JSON: nothing waits on a clock.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from edgecache.live.client_js import LIVE_JS

pytestmark = pytest.mark.node

SCENARIO = r"""
const sockets = [], timers = [], statuses = [], events = [];
globalThis.location = { protocol: "https:", host: "shop.example" };
globalThis.setTimeout = (fn, ms) => { timers.push({ fn, ms }); return timers.length; };
globalThis.clearTimeout = () => {};
Math.random = () => 0.5;
globalThis.WebSocket = class { constructor(url) { this.url = url; sockets.push(this); } close() {} };
const flush = () => new Promise((resolve) => setImmediate(resolve));
const deliver = (ws, frame) => ws.onmessage({ data: JSON.stringify(frame) });

(async () => {
  const sub = EdgecacheLive.subscribe("api/items/7", (e) => events.push(e.type + ":" + e.seq),
                                      { token: () => "tok" + sockets.length, onStatus: (s, d) => statuses.push([s, d ?? null]) });
  await flush();
  const first = sockets[0];
  first.onopen();
  deliver(first, { type: "write.queued", seq: 3 });
  deliver(first, "a JSON string, not an event");
  first.onmessage({ data: "{broken" });
  first.onclose({ code: 1006 });                 // dropped: retry after backoff
  const backoff1 = timers[0].ms;
  timers[0].fn(); await flush();                 // reconnects with since=3
  const second = sockets[1];
  second.onclose({ code: 1006 });                // dropped again before opening: the wait doubles
  const backoff2 = timers[1].ms;
  timers[1].fn(); await flush();
  const third = sockets[2];
  third.onopen();                                // open resets the backoff
  deliver(third, { type: "gap", since: 3, first_kept: 1, seq: 0 });  // the channel lost its log
  third.onclose({ code: 1006 });
  const backoff3 = timers[2].ms;
  timers[2].fn(); await flush();
  const fourth = sockets[3];
  fourth.onclose({ code: 1008, reason: "no" });  // refused: no retry
  const timersAfterRefusal = timers.length;
  process.stdout.write(JSON.stringify({
    urls: sockets.map((s) => s.url), backoff: [backoff1, backoff2, backoff3], timersAfterRefusal,
    events, since: sub.since, statuses: statuses.map(([s]) => s),
  }));
})();
"""


def test_reconnects_with_backoff_and_since_and_stops_on_a_refusal(tmp_path):
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    script = tmp_path / "scenario.js"
    script.write_text(LIVE_JS + SCENARIO, encoding="utf-8")
    done = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)

    assert result["urls"] == [
        "wss://shop.example/_edge/subscribe/api/items/7?token=tok0",
        "wss://shop.example/_edge/subscribe/api/items/7?since=3&token=tok1",
        "wss://shop.example/_edge/subscribe/api/items/7?since=3&token=tok2",
        "wss://shop.example/_edge/subscribe/api/items/7?since=0&token=tok3",  # the gap reset since
    ]
    assert result["backoff"] == [375, 750, 375]  # 0.5 s, doubled, reset by the open (x0.75 jitter)
    assert result["timersAfterRefusal"] == 3
    assert result["events"] == ["write.queued:3", "gap:0"]  # malformed frames are dropped
    assert result["statuses"] == ["connecting", "open", "reconnecting", "connecting", "reconnecting",
                                  "connecting", "open", "reconnecting", "connecting", "refused"]
