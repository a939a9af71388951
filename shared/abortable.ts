// Waiting that an AbortSignal can cut short: the link's delays and holds end when the request's
// own deadline fires, the requester hangs up, or the process closes.

import type net from 'node:net';

// An abort signal that fires when the socket closes; dispose() removes the listener.
export function closedSignal(socket: net.Socket): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onClose = () => controller.abort(new Error('the connection closed'));
  if (socket.destroyed) onClose();
  else socket.once('close', onClose);
  return { signal: controller.signal, dispose: () => socket.removeListener('close', onClose) };
}

// Resolves after `ms`; rejects with the signal's reason if it fires first.
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

// Resolves when the signal fires (at once if it has).
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

// Resolves when `promise` settles or the signal fires, whichever is first.
export async function raceAbort(promise: Promise<unknown>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  let onAbort = () => {};
  const aborted = new Promise<void>((resolve) => {
    onAbort = () => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
