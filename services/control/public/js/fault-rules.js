// @ts-check
// Which fault rules act on a link: the browser's copy of shared/fault-rules.ts ruleApplies (the
// page loads plain modules, so it cannot import the TypeScript). Keep the two in step.

function directedMatch(from, to, ruleFrom, ruleTo, bidirectional) {
  return (ruleFrom === from && ruleTo === to) || (bidirectional && ruleFrom === to && ruleTo === from);
}

// True when `rule` acts on what `from` sends to `to`.
export function ruleApplies(rule, from, to) {
  if (from === to) return false;
  if (rule.kind !== 'partition') return directedMatch(from, to, rule.from, rule.to, rule.bidirectional);
  if (rule.isolate !== undefined) return (rule.isolate === from) !== (rule.isolate === to);
  if (rule.groups !== undefined) {
    const groupOf = (name) => rule.groups.findIndex((g) => g.includes(name));
    const a = groupOf(from);
    const b = groupOf(to);
    return a >= 0 && b >= 0 && a !== b;
  }
  if (rule.from !== undefined && rule.to !== undefined) return directedMatch(from, to, rule.from, rule.to, rule.bidirectional ?? false);
  return false;
}

// The rules acting on the link between a and b, each with the directions it acts in.
export function rulesOnLink(rules, a, b) {
  const found = [];
  for (const rule of rules) {
    const ab = ruleApplies(rule, a, b);
    const ba = ruleApplies(rule, b, a);
    if (ab || ba) found.push({ rule, ab, ba });
  }
  return found;
}

// The pairs a rule names explicitly (from/to), so the page can draw a link no traffic uses.
export function namedPair(rule) {
  if (rule.kind !== 'partition' || (rule.from !== undefined && rule.to !== undefined)) return [rule.from, rule.to];
  return null;
}

// "300 ms", "50% loss", "cut": the short badge text of a rule.
export function badgeText(rule) {
  switch (rule.kind) {
    case 'latency':
      return `+${rule.ms}${rule.jitterMs ? `±${rule.jitterMs}` : ''} ms`;
    case 'loss':
      return `${Math.round(rule.rate * 1000) / 10}% loss`;
    case 'partition':
      return rule.mode === 'reject' ? 'cut (reset)' : 'cut';
    default:
      return rule.kind;
  }
}

export function linkKey(a, b) {
  return [a, b].sort().join('|');
}
