// Entry point of the control service: read the config, build the app, listen, and close cleanly on
// SIGTERM (docker stop, the launcher's stop) or SIGINT (Ctrl-C when run alone).

import { mkdir } from 'node:fs/promises';
import { pino } from 'pino';
import { armCrashPoint, crashPointsRunning } from '../../../shared/crash-points.ts';
import { buildControlApp } from './app.ts';
import { loadConfigOrExit } from './config.ts';

// Past this, a close that hangs (a stuck socket) is cut short: a stop must always end the process.
const SHUTDOWN_DEADLINE_MS = 5000;

const config = loadConfigOrExit();
const logger = pino({ level: config.logLevel, base: { nodeId: config.nodeId } });

async function main(): Promise<void> {
  await mkdir(config.dataDir, { recursive: true });
  armCrashPoint(config.crashPoint, config.dataDir);
  if (config.crashPoint) logger.warn({ crashPoint: config.crashPoint }, 'a crash point is armed (test setting)');
  const app = buildControlApp(config, logger);
  let closing = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'control stopping');
    setTimeout(() => {
      logger.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'control did not close in time; exiting anyway');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    app.close().then(
      () => {
        logger.info('control stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'control failed to close');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    const code = (err as { code?: string }).code;
    const reason = code === 'EADDRINUSE' ? `port ${config.port} on ${config.host} is already in use` : String(err);
    logger.fatal({ err, port: config.port, host: config.host }, `control cannot listen: ${reason}`);
    process.exit(1);
  }
  crashPointsRunning();
  logger.info({ port: config.port, peers: config.peers.map((p) => p.id) }, 'control started');
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'control failed to start');
  process.exit(1);
});
