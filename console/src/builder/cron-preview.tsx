import { useEffect, useState } from 'preact/hooks';

// The next fires of a cron in the chosen zone, computed in the browser with the same cron-parser
// the server plans with (loaded on demand: it is most of the console's weight). The server stays
// the judge: a cron it refuses is a 400 on the field when the flow is saved.

const COUNT = 5;

type Preview = { fires: string[] } | { error: string } | null;

export function CronPreview(props: { cron: string; timezone: string }) {
  const [preview, setPreview] = useState<Preview>(null);
  useEffect(() => {
    let live = true;
    const zone = props.timezone.trim() || 'UTC';
    const cron = props.cron.trim();
    void (async () => {
      if (!cron) return setPreview(null);
      const fields = cron.split(/\s+/).length;
      if (fields !== 5 && fields !== 6) {
        if (live)
          setPreview({
            error: `${fields} field(s): a cron has 5 (minute hour day month weekday) or 6 (seconds first)`,
          });
        return;
      }
      try {
        new Intl.DateTimeFormat(undefined, { timeZone: zone });
      } catch {
        if (live) setPreview({ error: `unknown time zone "${zone}"` });
        return;
      }
      try {
        const { CronExpressionParser } = await import('cron-parser');
        const it = CronExpressionParser.parse(cron, { tz: zone, currentDate: new Date() });
        const fmt = new Intl.DateTimeFormat(undefined, {
          timeZone: zone,
          weekday: 'short',
          year: 'numeric',
          month: 'short',
          day: 'numeric',
          hour: '2-digit',
          minute: '2-digit',
          ...(fields === 6 ? { second: '2-digit' } : {}),
          timeZoneName: 'short',
        });
        const fires: string[] = [];
        for (let i = 0; i < COUNT && it.hasNext(); i++) fires.push(fmt.format(it.next().toDate()));
        if (live) setPreview({ fires });
      } catch (e) {
        if (live) setPreview({ error: (e as Error).message });
      }
    })();
    return () => {
      live = false;
    };
  }, [props.cron, props.timezone]);

  if (!preview) return null;
  return (
    <div class="cron-preview" aria-live="polite">
      {'error' in preview ? (
        <p class="warn">Cannot preview this cron: {preview.error}</p>
      ) : (
        <>
          <p class="hint">
            Next {preview.fires.length} fires in {props.timezone.trim() || 'UTC'}:
          </p>
          <ol class="fires">
            {preview.fires.map((f) => (
              <li key={f}>{f}</li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}
