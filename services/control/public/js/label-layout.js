// @ts-check
// Where the message view's labels go, so that no two overlap (pure: boxes in, boxes out). Each
// label asks for a spot beside the end of its arrow; when that spot is taken, it tries a little
// lower or higher, within the arrow's band; when no spot is free, the caller tries a shorter text,
// and drops the label if even that finds no room. A dropped label is better than an unreadable pile.

// How far (in label heights) a label may move from where it asked to be.
const SHIFTS = [0, 1, -1, 2, -2];

export class LabelLayout {
  constructor({ gapPx = 3 } = {}) {
    this.gapPx = gapPx;
    this.boxes = [];
  }

  // The box a label of `width` × `height` would take with its text baseline at `y`, starting at
  // `x` (align 'left') or ending there (align 'right').
  static box(x, y, width, height, align) {
    const left = align === 'right' ? x - width : x;
    return { left, right: left + width, top: y - height * 0.8, bottom: y + height * 0.25 };
  }

  overlaps(box) {
    const g = this.gapPx;
    return this.boxes.some((b) => box.left < b.right + g && b.left < box.right + g && box.top < b.bottom + g && b.top < box.bottom + g);
  }

  // Reserves the first free spot for the label and returns its baseline y; null when none is free.
  // `minY`/`maxY` bound the baseline (the drawing area).
  place({ x, y, width, height, align, minY = -Infinity, maxY = Infinity }) {
    // One step clears a label's whole box and the gap, so neighbours can stack.
    const step = Math.ceil(height * 1.05 + this.gapPx);
    for (const shift of SHIFTS) {
      const at = y + shift * step;
      if (at < minY || at > maxY) continue;
      const box = LabelLayout.box(x, at, width, height, align);
      if (this.overlaps(box)) continue;
      this.boxes.push(box);
      return at;
    }
    return null;
  }
}
