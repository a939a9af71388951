// The node's root logger. Every line carries nodeId, and the role and epoch as they are at the
// moment of logging (a pino mixin reads them), so a role change shows in the lines that follow.

import pino, { type Logger } from 'pino';

export interface LogContext {
  role: string;
  epoch: number;
}

export function createNodeLogger(nodeId: string, level: string, context: LogContext): Logger {
  return pino({
    level,
    base: { nodeId },
    mixin: () => ({ role: context.role, epoch: context.epoch }),
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
