// Starts one data node: config, log recovery, HTTP server, then its role.

import { armCrashPoint, crashPointsRunning } from '../../../shared/crash-points.ts';
import { ConfigError, loadNodeConfig } from './config.ts';
import { buildNodeApp } from './app.ts';
import { DataNode } from './data-node.ts';
import { createNodeLogger, type LogContext } from './logger.ts';
import { registerWithControl } from './membership.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadNodeConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`mirrorlab node: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const context: LogContext = { role: config.role, epoch: 0 };
  const logger = createNodeLogger(config.nodeId, config.logLevel, context);
  armCrashPoint(config.crashPoint, config.dataDir);
  if (config.crashPoint) logger.warn({ crashPoint: config.crashPoint }, 'a crash point is armed (test setting)');
  const node = await DataNode.open(config, logger, context);
  const app = await buildNodeApp(node);
  // Take the role before listening: a request must never find a node without one (it would
  // redirect to itself). Peers that call before we listen simply retry.
  await node.start();
  if (!(await node.waitForQuorum(config.failoverTimeoutMs))) {
    logger.warn('neither the mirror nor the witness answered yet; writes get 503 no_quorum until one does');
  }
  await app.listen({ host: config.host, port: config.port });
  crashPointsRunning();
  // Membership: control learns of this node (a node added later appears in its view and levers).
  void registerWithControl(config, logger, () => ({ role: node.role }));
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    void app
      .close()
      .then(() => node.close())
      .then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error) => {
  process.stderr.write(`mirrorlab node failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
