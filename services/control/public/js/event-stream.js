// @ts-check
// The page's one connection to control: GET /events over a WebSocket. On every (re)connect it
// first reads GET /events/history and GET /cluster, hands them over as a fresh start, then opens
// the stream with ?after=<the history's lastSeq>, so nothing between the two is missed and
// nothing is shown twice. When control goes away (restart, crash, network) it retries with a
// growing delay, RETRY_MS_MIN to RETRY_MS_MAX, forever: a dashboard on a wall must come back by
// itself. Control's event seqs start over when it restarts; the fresh history takes care of that.

const RETRY_MS_MIN = 500;
const RETRY_MS_MAX = 5000;
const HISTORY_LIMIT = 300;
// A stream that opened but carried no event for this long is treated as dead (status events come
// four times a second).
const SILENCE_MS_MAX = 4000;
const FETCH_TIMEOUT_MS = 3000;

async function getJson(path) {
  const response = await fetch(path, { cache: 'no-store', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`GET ${path} answered ${response.status}`);
  return response.json();
}

// onReset({history, cluster, load}) before the stream opens; onEvent(event) for each event;
// onState({state, attempt, retryAtMs, error}) on every change of the connection.
export function connectEvents({ onReset, onEvent, onState }) {
  let attempt = 0;
  let socket = null;
  let watchdog = null;
  let lastMessageAt = 0;

  const retry = (error) => {
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      try {
        socket.close();
      } catch {
        // already closed
      }
      socket = null;
    }
    clearInterval(watchdog);
    attempt += 1;
    const delayMs = Math.min(RETRY_MS_MAX, RETRY_MS_MIN * 2 ** (attempt - 1)) * (0.8 + Math.random() * 0.4);
    onState({ state: 'down', attempt, retryAtMs: Date.now() + delayMs, error: error ? String(error.message ?? error) : 'the event stream closed' });
    setTimeout(open, delayMs);
  };

  const open = async () => {
    onState({ state: attempt === 0 ? 'connecting' : 'reconnecting', attempt, retryAtMs: 0, error: null });
    let history;
    try {
      const [h, cluster, load] = await Promise.all([getJson(`/events/history?limit=${HISTORY_LIMIT}`), getJson('/cluster'), getJson('/load')]);
      history = h;
      onReset({ history: h.events, cluster, load });
    } catch (error) {
      retry(error);
      return;
    }
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    socket = new WebSocket(`${scheme}://${location.host}/events?after=${history.lastSeq}`);
    socket.onopen = () => {
      attempt = 0;
      lastMessageAt = Date.now();
      onState({ state: 'live', attempt: 0, retryAtMs: 0, error: null });
      watchdog = setInterval(() => {
        if (Date.now() - lastMessageAt > SILENCE_MS_MAX) retry(new Error(`no event for ${SILENCE_MS_MAX / 1000} s`));
      }, 1000);
    };
    socket.onmessage = (message) => {
      lastMessageAt = Date.now();
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      onEvent(event);
    };
    socket.onclose = (close) => retry(new Error(close.reason || 'the event stream closed'));
  };

  void open();
}
