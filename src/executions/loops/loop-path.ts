/**
 * Which run of a forEach a `loops` row and its `iterations` belong to. A loop in the main lane runs
 * once per execution: its path is its step id. A loop inside another loop's body runs once per item
 * of that loop: `outer[3].inner` is forEach `inner` in item 3 of `outer`, and deeper ones go on the
 * same way (`a[1].b[0].c`). Step ids are `[A-Za-z_][A-Za-z0-9_]*`, so `[`, `]` and `.` never collide.
 */
import { CompiledStep } from 'src/flows/flow-compiler';

/** One item of one run of a loop (the same shape as ItemKey without its execution). */
export interface LoopItem {
  loop: string;
  idx: number;
}

/** The run of forEach `stepId` inside item `parent` (or in the main lane). */
export function loopPath(stepId: string, parent?: LoopItem): string {
  return parent ? `${parent.loop}[${parent.idx}].${stepId}` : stepId;
}

const NESTED = /^(.+)\[(\d+)\]\.([A-Za-z_][A-Za-z0-9_]*)$/;

/** A path's forEach step and the item its run belongs to (null for a loop of the main lane). */
export function parseLoopPath(path: string): { stepId: string; parent: LoopItem | null } {
  const m = NESTED.exec(path);
  if (!m) return { stepId: path, parent: null };
  return { stepId: m[3], parent: { loop: m[1], idx: Number(m[2]) } };
}

/** The items around a path's run, outermost first: `a[1].b[0].c` gives a#1, then a[1].b#0. */
export function enclosingItems(path: string): LoopItem[] {
  const out: LoopItem[] = [];
  for (let p = parseLoopPath(path).parent; p; p = parseLoopPath(p.loop).parent) out.unshift(p);
  return out;
}

/** The forEach steps of a loop body, inside its branches too but not inside its loops: an item's own loops. */
export function bodyLoops(body: CompiledStep[]): string[] {
  return body.flatMap((s) => {
    if (s.loop) return [s.def.id];
    if (s.branch)
      return [...s.branch.cases.flatMap((c) => bodyLoops(c.steps)), ...bodyLoops(s.branch.default)];
    return [];
  });
}

/**
 * How to name each forEach of a flow's runs in `/iterations?step=`: its id in the main lane,
 * `outer[<index>].inner` inside another loop's items.
 */
export function loopPathTemplates(list: CompiledStep[], around = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of list) {
    if (s.loop) {
      const path = `${around}${s.def.id}`;
      out.set(s.def.id, path);
      for (const [k, v] of loopPathTemplates(s.loop.steps, `${path}[<index>].`)) out.set(k, v);
    }
    if (s.branch) {
      for (const body of [...s.branch.cases.map((c) => c.steps), s.branch.default]) {
        for (const [k, v] of loopPathTemplates(body, around)) out.set(k, v);
      }
    }
  }
  return out;
}
