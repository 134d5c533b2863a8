import type { StatsBucket } from '../api/types';
import { sparkBars, sparkSummary } from '../lib/insights';

// The flows list's sparkline: runs per bucket as tiny bars, failed ones on top in the failure colour.
// One image to a screen reader, named by its numbers ("last 24 h: 120 runs, 20 failed"); the same
// words show on hover.

const W = 100;
const H = 24;

export function Sparkline(props: { label: string; buckets: readonly StatsBucket[] }) {
  const text = sparkSummary(props.label, props.buckets);
  return (
    <svg
      class="sparkline"
      role="img"
      aria-label={text}
      viewBox={`0 0 ${W} ${H}`}
      preserveAspectRatio="none"
      data-summary={text}
    >
      <title>{text}</title>
      {sparkBars(props.buckets, W, H).map((b, i) => (
        <g key={i}>
          {b.rest ? (
            <rect class="spark-runs" x={b.x} y={b.rest.y} width={b.width} height={b.rest.height} />
          ) : null}
          {b.failed ? (
            <rect class="spark-failed" x={b.x} y={b.failed.y} width={b.width} height={b.failed.height} />
          ) : null}
        </g>
      ))}
      <line class="spark-base" x1="0" x2={W} y1={H} y2={H} />
    </svg>
  );
}
