// @ts-check
// Colours: the Okabe–Ito palette, distinguishable with every common colour-vision deficiency and
// on a washed-out projector. Meaning never rests on colour alone: copy modes are also solid or
// dashed, node states also carry a word and a symbol.

export const okabeIto = {
  black: '#000000',
  orange: '#E69F00',
  skyBlue: '#56B4E9',
  bluishGreen: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  reddishPurple: '#CC79A7',
};

// What each colour stands for on this page.
export const colours = {
  // Mirroring (primary ↔ mirror, HTTP batches) and replication (primary ↔ replicas, WebSocket).
  mirroring: okabeIto.blue,
  replication: okabeIto.orange,
  witness: okabeIto.reddishPurple,
  fault: okabeIto.vermillion,
  healthy: okabeIto.bluishGreen,
  paused: okabeIto.yellow,
  chatter: '#8a8a8a',
  ink: '#111111',
  faint: '#6b6b6b',
};

export const roleColours = {
  primary: okabeIto.black,
  mirror: okabeIto.blue,
  replica: okabeIto.orange,
  witness: okabeIto.reddishPurple,
};

// One colour per series in a chart, in order.
export const seriesColours = [okabeIto.blue, okabeIto.orange, okabeIto.bluishGreen, okabeIto.reddishPurple, okabeIto.skyBlue, okabeIto.vermillion, okabeIto.black];

// One colour per data node in PEERS order (primary, mirror, replica-1, replica-2 by default): the
// mirror's line is blue like mirroring, the replicas' orange and green.
export const nodeColours = [okabeIto.reddishPurple, okabeIto.blue, okabeIto.orange, okabeIto.bluishGreen, okabeIto.skyBlue, okabeIto.black];

// Write latency per ack level.
export const ackColours = { local: okabeIto.skyBlue, sync: okabeIto.blue, all: okabeIto.bluishGreen };
