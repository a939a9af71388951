// @ts-check
// Preloaded into one data node by `npm run bench -- --profile <id>` through NODE_OPTIONS=--import.
// Node 20 refuses --cpu-prof in NODE_OPTIONS, and the bench does not choose the services' command
// line (ClusterProcesses runs exactly what shared/topology.ts says), so this starts V8's sampling
// profiler through the inspector instead and writes <dir>/<NODE_ID>-<pid>.cpuprofile when the
// process exits normally (SIGTERM -> the node's graceful shutdown -> process.exit). A SIGKILLed
// process writes nothing. Plain JavaScript: it loads before tsx is registered.

import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';

const dir = process.env.MIRRORLAB_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  process.on('exit', () => {
    // The in-process inspector session answers synchronously, so this runs to the end in 'exit'.
    session.post('Profiler.stop', (error, result) => {
      if (error) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, `${process.env.NODE_ID ?? 'node'}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
