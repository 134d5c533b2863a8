import { useEffect, useState } from 'preact/hooks';
import { api, errorText } from '../api/client';
import type { StatsBucket } from '../api/types';
import { formatDuration, formatTime } from '../lib/format';
import {
  bars,
  linePath,
  niceMax,
  RANGES,
  runsIn,
  SERIES,
  slowest,
  summary,
  totals,
  type InsightsRange,
  type RangeId,
} from '../lib/insights';

// The flow's Insights (GET /flows/{id}/stats): runs per bucket by status as stacked bars and the
// p50/p95 durations as lines, drawn as inline SVG. Each chart is one image with a summary sentence
// for screen readers; the numbers behind it are in a visually hidden table.

const W = 600;
const BARS_H = 140;
const LINES_H = 70;

function bucketLabel(at: string, range: InsightsRange): string {
  const d = new Date(at);
  if (range.bucket === '1d') return d.toLocaleDateString(undefined, { dateStyle: 'medium' });
  if (range.bucket === '1m') return d.toLocaleTimeString(undefined, { timeStyle: 'short' });
  return d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
}

export function InsightsCard(props: { flowId: string }) {
  const [rangeId, setRangeId] = useState<RangeId>('24h');
  const [buckets, setBuckets] = useState<StatsBucket[] | null>(null);
  const [error, setError] = useState('');
  const range = RANGES.find((r) => r.id === rangeId) ?? RANGES[0];

  useEffect(() => {
    let live = true;
    setError('');
    api
      .stats(props.flowId, { from: new Date(Date.now() - range.ms).toISOString(), bucket: range.bucket })
      .then(
        (r) => live && setBuckets(r.buckets),
        (e: unknown) => live && setError(errorText(e)),
      );
    return () => {
      live = false;
    };
  }, [props.flowId, rangeId]);

  return (
    <section class="card insights" aria-labelledby="insights-title" data-range={range.id}>
      <div class="insights-head">
        <h2 id="insights-title">Insights</h2>
        <fieldset class="range-picker">
          <legend class="visually-hidden">Time range</legend>
          {RANGES.map((r) => (
            <label key={r.id} class={r.id === rangeId ? 'chosen' : undefined}>
              <input
                type="radio"
                name="insights-range"
                value={r.id}
                checked={r.id === rangeId}
                onChange={() => setRangeId(r.id)}
              />
              {r.label}
            </label>
          ))}
        </fieldset>
      </div>
      {error ? (
        <p class="error-text" role="alert">
          {error}
        </p>
      ) : buckets === null ? (
        <p class="hint">Loading…</p>
      ) : (
        <InsightsCharts range={range} buckets={buckets} />
      )}
    </section>
  );
}

function InsightsCharts(props: { range: InsightsRange; buckets: StatsBucket[] }) {
  const { range, buckets } = props;
  const t = totals(buckets);
  const top = niceMax(Math.max(0, ...buckets.map(runsIn)));
  const stacks = bars(buckets, W, BARS_H, top);
  const p95s = buckets.map((b) => b.p95Ms);
  const msTop = niceMax(Math.max(0, ...p95s.map((v) => v ?? 0)));
  const slow = slowest(buckets);
  const first = buckets[0]?.at;
  const last = buckets[buckets.length - 1]?.at;
  return (
    <div class="insights-body">
      <ul class="insights-legend" aria-label="Runs in the range">
        {SERIES.map((s) => (
          <li key={s.key} data-series={s.key}>
            <span class={`swatch series-${s.key}`} aria-hidden="true" />
            {s.label} <strong>{t[s.key]}</strong>
          </li>
        ))}
      </ul>
      <figure class="chart">
        <div class="chart-axis" aria-hidden="true">
          <span>{top}</span>
          <span>0</span>
        </div>
        <svg
          role="img"
          aria-label={summary(range, buckets, formatDuration)}
          class="chart-bars"
          viewBox={`0 0 ${W} ${BARS_H}`}
          preserveAspectRatio="none"
        >
          <line class="chart-grid" x1="0" x2={W} y1={BARS_H / 2} y2={BARS_H / 2} />
          {stacks.map((rects, i) =>
            rects.map((r) => (
              <rect
                key={`${i}-${r.key}`}
                class={`series-${r.key}`}
                x={r.x}
                y={r.y}
                width={r.width}
                height={r.height}
              >
                <title>{`${bucketLabel(buckets[i].at, range)}: ${buckets[i][r.key]} ${r.key}`}</title>
              </rect>
            )),
          )}
          <line class="chart-base" x1="0" x2={W} y1={BARS_H} y2={BARS_H} />
        </svg>
      </figure>
      <figure class="chart">
        <div class="chart-axis" aria-hidden="true">
          <span>{slow ? formatDuration(msTop) : ''}</span>
          <span>0</span>
        </div>
        <svg
          role="img"
          aria-label={
            slow
              ? `Duration from accepted to finished, p50 and p95 per ${range.per}; highest p95 ${formatDuration(slow.ms)}.`
              : 'No durations: no run succeeded or failed in the range.'
          }
          class="chart-lines"
          viewBox={`0 0 ${W} ${LINES_H}`}
          preserveAspectRatio="none"
        >
          <path class="line-p95" d={linePath(p95s, W, LINES_H, msTop)} />
          <path
            class="line-p50"
            d={linePath(
              buckets.map((b) => b.p50Ms),
              W,
              LINES_H,
              msTop,
            )}
          />
          <line class="chart-base" x1="0" x2={W} y1={LINES_H} y2={LINES_H} />
        </svg>
      </figure>
      <div class="insights-foot hint">
        <span>{first ? bucketLabel(first, range) : ''}</span>
        <span class="insights-key" aria-hidden="true">
          <span class="key-p50">p50</span> <span class="key-p95">p95</span> duration
        </span>
        <span>{last ? bucketLabel(last, range) : ''}</span>
      </div>
      {/* A table wider than its 1px box would still widen the page: the box is a div around it. */}
      <div class="visually-hidden">
        <table class="insights-table">
          <caption>
            Runs per {range.per} over the last {range.label} ({range.per}s without runs left out)
          </caption>
          <thead>
            <tr>
              <th scope="col">{range.per[0].toUpperCase() + range.per.slice(1)} from</th>
              {SERIES.map((s) => (
                <th key={s.key} scope="col">
                  {s.label}
                </th>
              ))}
              <th scope="col">p50</th>
              <th scope="col">p95</th>
            </tr>
          </thead>
          <tbody>
            {buckets
              .filter((b) => runsIn(b) > 0)
              .map((b) => (
                <tr key={b.at}>
                  <th scope="row">{formatTime(b.at)}</th>
                  {SERIES.map((s) => (
                    <td key={s.key}>{b[s.key]}</td>
                  ))}
                  <td>{b.p50Ms === null ? '—' : formatDuration(b.p50Ms)}</td>
                  <td>{b.p95Ms === null ? '—' : formatDuration(b.p95Ms)}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
