import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, errorText } from '../api/client';
import type { FlowVersion } from '../api/types';
import { Notice } from '../components/common';
import { diffLines, stableJson } from '../lib/diff';
import { formatTime } from '../lib/format';
import type { FlowShape } from './draft';

function shape(v: FlowVersion): FlowShape {
  return {
    name: v.name,
    ...(v.description !== undefined ? { description: v.description } : {}),
    trigger: v.trigger,
    ...(v.filter !== undefined ? { filter: v.filter } : {}),
    steps: v.steps,
  };
}

/** Every stored version of the flow, a line diff between any two, and a way back to an old one. */
export function VersionsPanel(props: {
  flowId: string;
  current: number;
  onLoad: (flow: FlowShape, version: number) => void;
}) {
  const [versions, setVersions] = useState<FlowVersion[]>([]);
  const [error, setError] = useState('');
  const [from, setFrom] = useState(0);
  const [to, setTo] = useState(0);

  useEffect(() => {
    let live = true;
    api
      .versions(props.flowId)
      .then((page) => {
        if (!live) return;
        setVersions(page.items);
        setTo(page.items[0]?.version ?? 0);
        setFrom(page.items[1]?.version ?? page.items[0]?.version ?? 0);
      })
      .catch((e: unknown) => live && setError(errorText(e)));
    return () => {
      live = false;
    };
  }, [props.flowId, props.current]);

  const lines = useMemo(() => {
    const a = versions.find((v) => v.version === from);
    const b = versions.find((v) => v.version === to);
    return a && b ? diffLines(stableJson(shape(a)), stableJson(shape(b))) : [];
  }, [versions, from, to]);
  const changed = lines.filter((l) => l.kind !== 'same').length;
  const options = versions.map((v) => (
    <option key={v.version} value={v.version}>
      v{v.version} — {formatTime(v.createdAt)}
    </option>
  ));
  const older = versions.find((v) => v.version === from);

  return (
    <section class="card" aria-labelledby="versions-title">
      <h2 id="versions-title">Version history</h2>
      <Notice kind="error">{error}</Notice>
      <div class="grid-2">
        <div class="field">
          <label for="diff-from">Compare version</label>
          <select id="diff-from" value={from} onChange={(e) => setFrom(Number(e.currentTarget.value))}>
            {options}
          </select>
        </div>
        <div class="field">
          <label for="diff-to">with version</label>
          <select id="diff-to" value={to} onChange={(e) => setTo(Number(e.currentTarget.value))}>
            {options}
          </select>
        </div>
      </div>
      <p class="hint" role="status">
        {from === to ? 'The same version.' : `${changed} line(s) differ.`}
      </p>
      <pre class="diff" tabIndex={0} aria-label={`Differences between version ${from} and version ${to}`}>
        {lines.map((l, i) =>
          l.kind === 'added' ? (
            <ins key={i}>
              + {l.text}
              {'\n'}
            </ins>
          ) : l.kind === 'removed' ? (
            <del key={i}>
              - {l.text}
              {'\n'}
            </del>
          ) : (
            <span key={i}>
              {' '}
              {l.text}
              {'\n'}
            </span>
          ),
        )}
      </pre>
      {older && older.version !== props.current ? (
        <button type="button" class="secondary" onClick={() => props.onLoad(shape(older), older.version)}>
          Load version {older.version} into the form
        </button>
      ) : null}
    </section>
  );
}
