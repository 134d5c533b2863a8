import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError, errorText } from '../api/client';
import type { Flow } from '../api/types';
import { CopyField, Notice, PageTitle } from '../components/common';
import { InsightsCard } from '../components/insights-card';
import { CheckboxField, ErrorsContext, fieldId, TextArea, TextField } from '../components/fields';
import { draftToFlow } from '../builder/draft-to-flow';
import { flowToDraft } from '../builder/flow-to-draft';
import {
  emptyStep,
  freshStepId,
  STEP_TYPES,
  type FlowDraft,
  type FlowShape,
  type StepDraft,
  type StepType,
  type TriggerDraft,
} from '../builder/draft';
import { ErrorSummary, focusField } from '../builder/error-summary';
import { fieldKeys, placeErrors } from '../builder/field-errors';
import { FlowStepsContext } from '../builder/control-flow-fields';
import { OnErrorReadOnly } from '../builder/json-only';
import { JsonView } from '../builder/json-view';
import { STEP_TYPE_LABELS, StepForm } from '../builder/step-form';
import { TEMPLATES } from '../builder/templates';
import { SecretNamesContext, TriggerForm } from '../builder/trigger-form';
import { TryPanel } from '../builder/try-panel';
import { VersionsPanel } from '../builder/versions-panel';
import { Link, navigate, setLeaveGuard } from '../router';

const serialize = (d: FlowDraft) => JSON.stringify(draftToFlow(d).flow);

export function FlowBuilderPage(props: { id?: string; template?: string }) {
  const [draft, setDraft] = useState<FlowDraft | null>(null);
  const [saved, setSaved] = useState<Flow | null>(null);
  const [savedJson, setSavedJson] = useState('');
  const [messages, setMessages] = useState<string[]>([]);
  const [dryErrors, setDryErrors] = useState<string[]>([]);
  const [loadError, setLoadError] = useState('');
  // A notice is about one state of the form: it goes away with the next edit.
  const [notice, setNoticeState] = useState<{ text: string; draft: FlowDraft | null }>({
    text: '',
    draft: null,
  });
  const [busy, setBusy] = useState(false);
  const [view, setView] = useState<'form' | 'json'>('form');
  const [jsonText, setJsonText] = useState('');
  const [jsonError, setJsonError] = useState('');
  const [secrets, setSecrets] = useState<string[]>([]);
  const [newType, setNewType] = useState<StepType>('http');

  useEffect(() => {
    api.secrets().then(
      (p) => setSecrets(p.items.map((s) => s.name)),
      () => setSecrets([]),
    );
  }, []);

  useEffect(() => {
    if (props.id && saved?.id === props.id) return; // just created here: the form is already this flow
    let live = true;
    setMessages([]);
    setDryErrors([]);
    if (!props.id) {
      const template = TEMPLATES.find((t) => t.id === props.template) ?? TEMPLATES[0];
      const d = flowToDraft(template.flow);
      setDraft(d);
      setSaved(null);
      setSavedJson(serialize(d)); // an untouched template is nothing to lose
      return;
    }
    api.flow(props.id).then(
      (flow) => {
        if (!live) return;
        const d = flowToDraft(flow);
        setSaved(flow);
        setDraft(d);
        setSavedJson(serialize(d));
      },
      (e: unknown) => live && setLoadError(errorText(e)),
    );
    return () => {
      live = false;
    };
  }, [props.id, props.template]);

  const dirty = draft !== null && serialize(draft) !== savedJson;
  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', warn);
    setLeaveGuard(() => window.confirm('This flow has unsaved changes. Leave without saving?'));
    return () => {
      window.removeEventListener('beforeunload', warn);
      setLeaveGuard(null);
    };
  }, [dirty]);

  const keys = useMemo(() => (draft ? fieldKeys(draft) : []), [draft]);
  const fieldErrors = useMemo(() => {
    const placed = placeErrors(messages, keys).byField;
    const tried = placeErrors(dryErrors, keys).byField;
    for (const [k, list] of Object.entries(tried))
      (placed[k] ??= []).push(...list.map((m) => `Try it: ${m}`));
    return placed;
  }, [messages, dryErrors, keys]);

  if (loadError) return <Notice kind="error">{loadError}</Notice>;
  if (!draft) return <p role="status">Loading…</p>;

  const update = (patch: Partial<FlowDraft>) => setDraft((d) => (d ? { ...d, ...patch } : d));
  const updateTrigger = (patch: Partial<TriggerDraft>) =>
    setDraft((d) => (d ? { ...d, trigger: { ...d.trigger, ...patch } } : d));
  const updateStep = (uid: string, patch: Partial<StepDraft>) =>
    setDraft((d) => (d ? { ...d, steps: d.steps.map((s) => (s.uid === uid ? { ...s, ...patch } : s)) } : d));
  const moveStep = (i: number, delta: -1 | 1) =>
    setDraft((d) => {
      if (!d) return d;
      const steps = [...d.steps];
      [steps[i], steps[i + delta]] = [steps[i + delta], steps[i]];
      return { ...d, steps };
    });
  const addStep = () => {
    const index = draft.steps.length;
    update({ steps: [...draft.steps, emptyStep(newType, freshStepId(draft.steps, newType))] });
    setTimeout(() => focusField(`steps[${index}].id`), 0);
  };

  /** The flow to send, or undefined (with the problems shown) when the form has JSON that does not parse. */
  const build = (from: FlowDraft = draft): FlowShape | undefined => {
    const { flow, errors } = draftToFlow(from);
    const local = Object.entries(errors).map(([k, m]) => `${k}: ${m}`);
    if (local.length) {
      setMessages(local);
      return undefined;
    }
    return flow;
  };

  const save = async (from: FlowDraft = draft) => {
    setNoticeState({ text: '', draft: null });
    setDryErrors([]);
    const flow = build(from);
    if (!flow) return;
    setBusy(true);
    try {
      const res = saved ? await api.replaceFlow(saved.id, flow) : await api.createFlow(flow);
      setMessages([]);
      setSaved(res);
      setSavedJson(serialize(from));
      setNoticeState({
        text: `Saved: version ${res.version}${res.enabled ? ', enabled' : ', disabled'}.`,
        draft: from,
      });
      if (!saved) navigate(`/flows/${res.id}`, { replace: true });
    } catch (e) {
      if (e instanceof ApiError && e.status === 400) setMessages(e.messages);
      else setNoticeState({ text: `Not saved: ${errorText(e)}`, draft: from });
    } finally {
      setBusy(false);
    }
  };

  const toJson = () => {
    setJsonText(JSON.stringify(draftToFlow(draft).flow, null, 2));
    setJsonError('');
    setView('json');
  };
  const applyJson = (): FlowDraft | undefined => {
    try {
      const parsed: unknown = JSON.parse(jsonText);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new Error('expected a JSON object');
      const next = flowToDraft(parsed as FlowShape);
      setDraft(next);
      setJsonError('');
      return next;
    } catch (e) {
      setJsonError(`Not applied: ${(e as Error).message}`);
      return undefined;
    }
  };
  const toForm = () => {
    if (jsonText === JSON.stringify(draftToFlow(draft).flow, null, 2) || applyJson()) setView('form');
  };

  const url = saved?.trigger.type === 'webhook' ? saved.trigger.url : undefined;
  const stepIds = draft.steps.map((s) => s.id);
  const defaultSample =
    draft.trigger.verify.scheme === 'github'
      ? 'github-push'
      : draft.trigger.verify.scheme === 'stripe'
        ? 'stripe-payment'
        : draft.trigger.event === 'hookflow.execution.failed'
          ? 'execution-failed'
          : 'json';

  return (
    <ErrorsContext.Provider value={fieldErrors}>
      <SecretNamesContext.Provider value={secrets}>
        <FlowStepsContext.Provider value={draft.steps}>
          <div class="page-head">
            <PageTitle>{saved ? `Flow: ${saved.name}` : 'New flow'}</PageTitle>
            {saved ? (
              <nav aria-label="This flow" class="page-links">
                <span>Version {saved.version}</span>
                <Link href={`/flows/${saved.id}/runs`}>Runs</Link>
              </nav>
            ) : null}
          </div>
          {!saved ? (
            <div class="field inline-field">
              <label for="template">Start from</label>
              <select
                id="template"
                value={props.template ?? 'blank'}
                onChange={(e) => {
                  const select = e.currentTarget;
                  if (
                    dirty &&
                    !window.confirm('Replace the form with this template? Your changes are lost.')
                  ) {
                    select.value = props.template ?? 'blank';
                    return;
                  }
                  navigate(`/flows/new?template=${encodeURIComponent(select.value)}`, { replace: true });
                }}
              >
                {TEMPLATES.map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.label}
                  </option>
                ))}
              </select>
            </div>
          ) : null}
          {url ? (
            <CopyField id="trigger-url" label="Trigger URL (give it to the sending app)" value={url} />
          ) : null}
          {saved ? <InsightsCard flowId={saved.id} /> : null}
          <ErrorSummary messages={messages} keys={keys} />
          <div class="builder">
            <div class="builder-main">
              <div
                role="tablist"
                aria-label="Edit as"
                class="tabs"
                onKeyDown={(e) => {
                  // Arrow keys move between the two tabs (WAI-ARIA tabs pattern).
                  if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
                  e.preventDefault();
                  if (view === 'form') toJson();
                  else toForm();
                  setTimeout(
                    () => document.getElementById(view === 'form' ? 'tab-json' : 'tab-form')?.focus(),
                    0,
                  );
                }}
              >
                <button
                  type="button"
                  role="tab"
                  id="tab-form"
                  aria-selected={view === 'form'}
                  aria-controls={view === 'form' ? 'panel-form' : undefined}
                  tabIndex={view === 'form' ? 0 : -1}
                  onClick={() => view === 'json' && toForm()}
                >
                  Form
                </button>
                <button
                  type="button"
                  role="tab"
                  id="tab-json"
                  aria-selected={view === 'json'}
                  aria-controls={view === 'json' ? 'panel-json' : undefined}
                  tabIndex={view === 'json' ? 0 : -1}
                  onClick={() => view === 'form' && toJson()}
                >
                  JSON
                </button>
              </div>
              {view === 'json' ? (
                <div role="tabpanel" id="panel-json" aria-labelledby="tab-json">
                  <JsonView
                    text={jsonText}
                    error={jsonError}
                    onInput={setJsonText}
                    onApply={() => applyJson() && setView('form')}
                  />
                </div>
              ) : (
                <div role="tabpanel" id="panel-form" aria-labelledby="tab-form">
                  <form
                    aria-label="Flow"
                    onSubmit={(e) => {
                      e.preventDefault();
                      void save();
                    }}
                  >
                    <section class="card" aria-labelledby="basics-title">
                      <h2 id="basics-title">Basics</h2>
                      <TextField
                        field="name"
                        label="Name"
                        value={draft.name}
                        required
                        onInput={(name) => update({ name })}
                      />
                      <TextArea
                        field="description"
                        label="Description (optional)"
                        value={draft.description}
                        rows={2}
                        onInput={(description) => update({ description })}
                      />
                      <CheckboxField
                        field="enabled"
                        label="Enabled: the trigger starts runs"
                        checked={draft.enabled}
                        hint="Leave it off while you try the flow; a disabled webhook flow answers 404."
                        onChange={(enabled) => update({ enabled })}
                      />
                    </section>
                    <TriggerForm trigger={draft.trigger} stepIds={stepIds} onChange={updateTrigger} />
                    <section class="card" aria-labelledby="filter-title">
                      <h2 id="filter-title">Filter</h2>
                      <TextArea
                        field="filter"
                        label="Run only events where (optional JSONata)"
                        value={draft.filter}
                        rows={2}
                        hint="Events that do not match are stored as filtered and run no step, e.g. event.body.ref = 'refs/heads/main'"
                        onInput={(filter) => update({ filter })}
                      />
                    </section>
                    <section aria-labelledby="steps-title" id={fieldId('steps')}>
                      <h2 id="steps-title">Steps</h2>
                      {draft.steps.length === 0 ? (
                        <p class="hint">No steps yet: add the first one below.</p>
                      ) : null}
                      {draft.steps.map((s, i) => (
                        <StepForm
                          key={s.uid}
                          step={s}
                          index={i}
                          count={draft.steps.length}
                          onChange={(patch) => updateStep(s.uid, patch)}
                          onMove={(delta) => moveStep(i, delta)}
                          onRemove={() => update({ steps: draft.steps.filter((x) => x.uid !== s.uid) })}
                        />
                      ))}
                      <div class="add-step">
                        <div class="field">
                          <label for="new-step-type">New step type</label>
                          <select
                            id="new-step-type"
                            value={newType}
                            onChange={(e) => setNewType(e.currentTarget.value as StepType)}
                          >
                            {STEP_TYPES.map((t) => (
                              <option key={t} value={t}>
                                {STEP_TYPE_LABELS[t]}
                              </option>
                            ))}
                          </select>
                        </div>
                        <button type="button" class="secondary" onClick={addStep}>
                          Add step
                        </button>
                      </div>
                      <p class="hint">onError steps: add them in the JSON tab.</p>
                    </section>
                    {draft.onError ? <OnErrorReadOnly onError={draft.onError} /> : null}
                    <button type="submit" class="visually-hidden" tabIndex={-1} aria-hidden="true">
                      Save
                    </button>
                  </form>
                </div>
              )}
            </div>
            <aside class="builder-side" aria-label="Try and history">
              <TryPanel
                flowId={saved?.id}
                dirty={dirty}
                defaultSample={defaultSample}
                build={build}
                onServerErrors={setMessages}
                onDryRunErrors={setDryErrors}
              />
              {saved ? (
                <VersionsPanel
                  flowId={saved.id}
                  current={saved.version}
                  onLoad={(flow, version) => {
                    const loaded = flowToDraft({ ...flow, enabled: draft.enabled });
                    setDraft(loaded);
                    setNoticeState({
                      text: `Version ${version} is in the form; Save makes it the current version.`,
                      draft: loaded,
                    });
                  }}
                />
              ) : null}
            </aside>
          </div>
          <div class="save-bar">
            <span role="status" class="save-state">
              {notice.draft === draft && notice.text
                ? notice.text
                : dirty
                  ? 'Unsaved changes'
                  : saved
                    ? 'All changes saved'
                    : ''}
            </span>
            <button
              type="button"
              disabled={busy}
              onClick={() => {
                const from = view === 'json' ? applyJson() : draft;
                if (from) void save(from);
              }}
            >
              {busy ? 'Saving…' : saved ? 'Save' : 'Create flow'}
            </button>
          </div>
        </FlowStepsContext.Provider>
      </SecretNamesContext.Provider>
    </ErrorsContext.Provider>
  );
}
