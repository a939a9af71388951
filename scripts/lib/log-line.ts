// Turns one line a service printed into what a person reads in the launcher's terminal. Services log
// pino JSON; the launcher shows `12:01:02.123 INFO became primary at epoch 1 {"lsn":0}`: time,
// level name, message, then the remaining fields compact. Lines that are not pino JSON (a crash
// banner, a tsx error) pass through untouched, because hiding them would hide the reason a
// service died. Pure, so it is unit-tested.

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLORS: Record<string, string> = { TRACE: '90', DEBUG: '90', INFO: '32', WARN: '33', ERROR: '31', FATAL: '35' };

// Fields the line shows elsewhere (time, level, message) or that say nothing to a reader: the
// launcher's prefix already names the service.
const HIDDEN_FIELDS = new Set(['time', 'level', 'msg', 'pid', 'hostname', 'nodeId', 'v']);

export interface LogLineOptions {
  // Render the time in UTC rather than the local zone (tests need a fixed zone).
  utc?: boolean;
  // Wrap the level name in ANSI colours.
  color?: boolean;
}

// Returns one or more lines (an error's stack follows on lines of its own), without a newline at the end.
export function formatLogLine(line: string, options: LogLineOptions = {}): string {
  const record = parsePinoRecord(line);
  if (!record) return line;
  const level = levelName(record.level);
  const time = formatTime(record.time, options.utc ?? false);
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) if (!HIDDEN_FIELDS.has(key)) rest[key] = value;
  const stack = takeStack(rest);
  const fields = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
  const levelText = options.color ? `\u001b[${LEVEL_COLORS[level] ?? '0'}m${level}\u001b[0m` : level;
  const head = `${time} ${levelText} ${typeof record.msg === 'string' ? record.msg : ''}`.trimEnd() + fields;
  return stack ? `${head}\n${stack.split('\n').map((l) => `    ${l.trim()}`).join('\n')}` : head;
}

function parsePinoRecord(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
    const record = value as Record<string, unknown>;
    return typeof record.level === 'number' || typeof record.level === 'string' ? record : null;
  } catch {
    return null;
  }
}

function levelName(level: unknown): string {
  if (typeof level === 'number') return LEVEL_NAMES[level] ?? `L${level}`;
  return String(level).toUpperCase();
}

function formatTime(time: unknown, utc: boolean): string {
  const date = typeof time === 'number' || typeof time === 'string' ? new Date(time) : null;
  if (!date || Number.isNaN(date.getTime())) return '--:--:--.---';
  const parts = utc
    ? [date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()]
    : [date.getHours(), date.getMinutes(), date.getSeconds()];
  const ms = utc ? date.getUTCMilliseconds() : date.getMilliseconds();
  return `${parts.map((n) => String(n).padStart(2, '0')).join(':')}.${String(ms).padStart(3, '0')}`;
}

// pino serialises errors as {type, message, stack}; the stack is shown below the line instead of as
// one long escaped string, and the rest of the error stays in the compact fields.
function takeStack(rest: Record<string, unknown>): string | null {
  const err = rest.err;
  if (typeof err !== 'object' || err === null) return null;
  const { stack, ...others } = err as Record<string, unknown>;
  if (typeof stack !== 'string') return null;
  rest.err = others;
  // The stack's first line repeats type and message, already in the fields.
  return stack.split('\n').slice(1).join('\n') || null;
}
