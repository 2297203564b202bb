// Activity durations of one workflow run, from `temporal workflow show -o json`.
//
//   node history.mjs HISTORY.json
//
// Prints JSON: {"workflow_seconds": S, "activities": [{"name", "seconds",
// "queue_seconds", "attempt"}...]} in schedule order. "seconds" runs from
// started to completed (the worker's time); "queue_seconds" from scheduled
// to started.
import { readFileSync } from 'node:fs';

const h = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const events = h.events ?? h;
const t = (e) => Date.parse(e.eventTime) / 1000 + Number('0.' + (e.eventTime.match(/\.(\d+)/)?.[1] ?? '0').slice(3)) / 1000;
const scheduled = new Map();
const started = new Map();
const acts = [];
let first = null;
let last = null;
for (const e of events) {
  const time = t(e);
  first ??= time;
  last = time;
  const id = String(e.eventId);
  if (e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED') {
    scheduled.set(id, { name: e.activityTaskScheduledEventAttributes.activityType.name, at: time });
  } else if (e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_STARTED') {
    const a = e.activityTaskStartedEventAttributes;
    started.set(String(a.scheduledEventId), { at: time, attempt: a.attempt ?? 1 });
  } else if (/ACTIVITY_TASK_(COMPLETED|FAILED|TIMED_OUT|CANCELED)$/.test(e.eventType)) {
    const attrs = Object.values(e).find((v) => v && typeof v === 'object' && 'scheduledEventId' in v);
    const sid = String(attrs.scheduledEventId);
    const s = scheduled.get(sid);
    const st = started.get(sid);
    acts.push({
      name: s.name,
      outcome: e.eventType.replace('EVENT_TYPE_ACTIVITY_TASK_', '').toLowerCase(),
      seconds: +(time - (st?.at ?? s.at)).toFixed(3),
      queue_seconds: +((st?.at ?? s.at) - s.at).toFixed(3),
      attempt: st?.attempt ?? 1,
    });
  }
}
console.log(JSON.stringify({ workflow_seconds: +(last - first).toFixed(3), activities: acts }));
