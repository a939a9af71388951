// How figures are printed: milliseconds with the precision their size deserves, counts with
// thousands separators, "n/a" for what was not measured.

export function fmtMs(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  const digits = Math.abs(value) < 10 ? 2 : Math.abs(value) < 100 ? 1 : 0;
  return `${value.toFixed(digits)} ms`;
}

export function fmtInt(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  return Math.round(value).toLocaleString('en-US');
}

export function fmtRatio(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : 'n/a';
}
