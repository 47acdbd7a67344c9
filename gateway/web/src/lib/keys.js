// API keys as the dashboard shows them (docs/keys.md).

export const SCOPES = [
  { value: 'ingest', label: 'ingest', hint: 'send logs' },
  { value: 'read', label: 'read', hint: "read this project's logs, errors and metrics" },
];

/** "dsk_Qm3x…8GfA": the recognisable parts of a key, never its secret. */
export function keyLabel(k) {
  const prefix = k.prefix || 'dsk_';
  return k.last_four ? `${prefix}…${k.last_four}` : `${prefix}…`;
}

/**
 * The expire_time of a key expiring at the end of `day` (an <input
 * type=date> value, YYYY-MM-DD) in UTC, or null for none. Throws a message
 * fit to show for a day that is not in the future.
 */
export function expireTimeOf(day, now = new Date()) {
  if (!day) return null;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Error('Pick a day for the expiry, or leave it empty.');
  const t = new Date(`${day}T23:59:59Z`);
  if (Number.isNaN(t.getTime())) throw new Error('Pick a day for the expiry, or leave it empty.');
  if (t <= now) throw new Error('The expiry must be in the future.');
  return t.toISOString();
}

/** Whether a key has expired by `now`. */
export function isExpired(k, now = new Date()) {
  return Boolean(k.expire_time) && new Date(k.expire_time) <= now;
}
