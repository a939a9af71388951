// Goal: the message view's labels never overlap (issue 14: "LSN 31–40 ×10" drawn over its
// neighbours). A label that asks for a taken spot moves a label height down or up, stays within its
// bounds, and gets no spot when every nearby one is taken; the boxes it hands out never intersect.

import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module of the dashboard, without types.
import { LabelLayout } from '../../../services/control/public/js/label-layout.js';

type Box = { left: number; right: number; top: number; bottom: number };
const intersect = (a: Box, b: Box) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

describe('LabelLayout', () => {
  it('keeps a free spot, moves a label off a taken one, and drops it when nothing near is free', () => {
    const layout = new LabelLayout({ gapPx: 3 });
    expect(layout.place({ x: 100, y: 200, width: 80, height: 15, align: 'left' })).toBe(200);
    expect(layout.place({ x: 120, y: 205, width: 80, height: 15, align: 'left' })).toBe(224);
    expect(layout.place({ x: 110, y: 200, width: 80, height: 15, align: 'left' })).toBe(181);
    // Right-aligned and clear of the others horizontally: its own spot.
    expect(layout.place({ x: 95, y: 200, width: 60, height: 15, align: 'right' })).toBe(200);
    const crowded = new LabelLayout();
    for (let i = 0; i < 5; i++) expect(crowded.place({ x: 0, y: 100, width: 50, height: 15, align: 'left' })).not.toBeNull();
    expect(crowded.place({ x: 0, y: 100, width: 50, height: 15, align: 'left' })).toBeNull();
  });

  it('stays within its bounds', () => {
    const layout = new LabelLayout();
    expect(layout.place({ x: 0, y: 20, width: 50, height: 15, align: 'left', minY: 15, maxY: 30 })).toBe(20);
    expect(layout.place({ x: 0, y: 20, width: 50, height: 15, align: 'left', minY: 15, maxY: 30 })).toBeNull();
  });

  it('never hands out two intersecting boxes, however crowded', () => {
    const layout = new LabelLayout();
    const boxes: Box[] = [];
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 400; i++) {
      const label = { x: Math.floor(random() * 600), y: Math.floor(random() * 300), width: 40 + Math.floor(random() * 100), height: 15, align: random() < 0.5 ? 'left' : 'right' };
      const y = layout.place(label);
      if (y !== null) boxes.push(LabelLayout.box(label.x, y, label.width, label.height, label.align));
    }
    expect(boxes.length).toBeGreaterThan(20);
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) expect(intersect(boxes[i] as Box, boxes[j] as Box)).toBe(false);
  });
});
