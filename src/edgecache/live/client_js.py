"""``/_edge/live.js``: the browser client a page includes to follow live channels.

It is kept as a Python string because the Worker's bundle is built from Python modules:
``pywrangler deploy`` uploads ``.py`` files as Python modules, while a ``.js`` file beside them
would be treated as a JavaScript module of the Worker (and the Python code could not read
it), so a string module is the one form certain to ship and be readable at runtime.

The client (no build step, ES2017, works in every current browser)::

    <script src="/_edge/live.js"></script>
    <script>
      const sub = EdgecacheLive.subscribe("api/items/7", (event) => {
        if (event.type === "write.synced") showSaved(event.write_id);
        if (event.type === "changed" || event.type === "gap") reload();
      }, { onStatus: (state, detail) => console.log(state, detail) });
      // sub.close() to stop; sub.since is the last seq seen
    </script>

It reconnects after any close but a refusal (1008) or ``close()``, waiting with exponential
backoff (0.5 s doubling to 30 s, with jitter, reset once a connection opens), and passes
``?since=<last seq seen>`` so the channel replays what was missed; a ``gap`` event means the
channel no longer held them all (re-read the resource). ``options``: ``token`` (a string, or
a function returning one or a Promise of one, called at every connect: tokens are
short-lived), ``base`` (a ``ws(s)://host`` other than the page's), ``since``,
``minDelayMs``/``maxDelayMs``, ``onStatus(state, detail)`` with state ``connecting``,
``open``, ``reconnecting`` (detail ``{code, inMs}``), ``refused`` or ``closed``.
"""

__all__ = ["LIVE_JS", "MEDIA_TYPE"]

MEDIA_TYPE = "text/javascript; charset=utf-8"  # RFC 9239 §6: text/javascript is the one to use

LIVE_JS = r"""/* edgecache live client: EdgecacheLive.subscribe(channel, onEvent, options) -> {close(), since} */
(function (global) {
  "use strict";

  var REFUSED = 1008; // policy violation (RFC 6455 7.4.1): the same request would be refused again

  function subscribe(channel, onEvent, options) {
    options = options || {};
    var since = typeof options.since === "number" ? options.since : null;
    var minDelay = options.minDelayMs || 500;
    var maxDelay = options.maxDelayMs || 30000;
    var delay = 0;
    var stopped = false;
    var socket = null;
    var timer = null;

    function status(state, detail) {
      if (options.onStatus) options.onStatus(state, detail);
    }

    function base() {
      if (options.base) return options.base.replace(/\/$/, "");
      return (global.location.protocol === "https:" ? "wss://" : "ws://") + global.location.host;
    }

    function token() {
      return Promise.resolve(typeof options.token === "function" ? options.token() : options.token);
    }

    function url(tokenValue) {
      var query = [];
      if (since !== null) query.push("since=" + since);
      if (tokenValue) query.push("token=" + encodeURIComponent(tokenValue));
      return base() + "/_edge/subscribe/" + channel + (query.length ? "?" + query.join("&") : "");
    }

    function retry(code) {
      delay = Math.min(maxDelay, delay ? delay * 2 : minDelay);
      var wait = Math.round(delay / 2 + Math.random() * delay / 2);
      status("reconnecting", { code: code, inMs: wait });
      timer = setTimeout(connect, wait);
    }

    function receive(message) {
      var event;
      try {
        event = JSON.parse(message.data);
      } catch (err) {
        return; // not an event of ours
      }
      if (!event || typeof event.type !== "string") return;
      if (event.type === "gap") {
        // The replay after it brings since up to date; a since ahead of the channel resets.
        since = since === null ? event.seq : Math.min(since, event.seq);
      } else if (typeof event.seq === "number") {
        since = since === null ? event.seq : Math.max(since, event.seq);
      }
      onEvent(event);
    }

    function connect() {
      timer = null;
      if (stopped) return;
      status("connecting");
      token().then(function (tokenValue) {
        if (stopped) return;
        socket = new global.WebSocket(url(tokenValue));
        socket.onopen = function () {
          delay = 0;
          status("open");
        };
        socket.onmessage = receive;
        socket.onclose = function (closing) {
          socket = null;
          if (stopped) return;
          if (closing.code === REFUSED) {
            status("refused", { code: closing.code, reason: closing.reason });
            return;
          }
          retry(closing.code);
        };
      }, function () {
        retry(0);
      });
    }

    connect();
    return {
      close: function () {
        stopped = true;
        if (timer !== null) clearTimeout(timer);
        if (socket) socket.close(1000, "closed by the page");
        status("closed");
      },
      get since() {
        return since;
      },
    };
  }

  global.EdgecacheLive = { subscribe: subscribe };
})(typeof window !== "undefined" ? window : globalThis);
"""
