/**
 * The Metrica stand-in's goals endpoint, as functions of the request that
 * return the answer (research yandex-metrica.md §5, §2, §8.6 items 5 and 7).
 * - `GET /management/v1/counter/{id}/goals` → `{"goals":[…]}`; `POST` with `{"goal":{…}}` →
 *   `{"goal":{…,"id"}}`. Checked as Yandex's tests show [code]: an empty name ("Имя цели не должно
 *   быть пустым"), a name over 255, an unknown goal type, an `action` goal without conditions or
 *   with an unknown condition type, and more than `GOAL_LIMIT` goals ("Превышен лимит целей.").
 *   The limit's real value is not documented; 200 is the commonly cited figure [inf].
 * The CRM simple-orders endpoint is in metrica-stand-in-orders.ts.
 */
import type { MetricaGoal as ManagementGoal } from '../../src/adapters/destinations/metrica/metrica-management-api';

/** A goal as Metrica lists it: the fields the setup client reads, and two it does not. */
export interface MetricaGoal extends ManagementGoal {
  is_retargeting: number;
  default_price?: number;
}

export interface StandInAnswer {
  status: number;
  body: unknown;
}

export const GOAL_LIMIT = 200;

const GOAL_TYPES = new Set([
  'url',
  'number',
  'step',
  'action',
  'phone',
  'email',
  'payment_system',
  'messenger',
  'file',
  'search',
  'social',
  'visit_duration',
]);
const ACTION_CONDITIONS = new Set(['exact', 'contain', 'start', 'regexp', 'action']);

/** Metrica's error body (research §4): `{"errors":[{error_type, message}], code, message}`. */
export function metricaError(status: number, errorType: string, message: string): StandInAnswer {
  return { status, body: { errors: [{ error_type: errorType, message }], code: status, message } };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a `POST …/goals` body and returns the goal it would create (without its id). */
export function readGoal(
  rawBody: string,
  existing: number,
): Omit<MetricaGoal, 'id'> | StandInAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawBody);
  } catch {
    return metricaError(400, 'invalid_json', 'Некорректный JSON');
  }
  const goal = isRecord(parsed) ? parsed.goal : undefined;
  if (!isRecord(goal)) return metricaError(400, 'missing_parameter', 'Не указана цель (goal)');
  const name = typeof goal.name === 'string' ? goal.name.trim() : '';
  if (name === '') return metricaError(400, 'invalid_parameter', 'Имя цели не должно быть пустым');
  if (name.length > 255) return metricaError(400, 'invalid_parameter', 'Слишком длинное имя цели');
  const type = typeof goal.type === 'string' ? goal.type : '';
  if (!GOAL_TYPES.has(type)) return metricaError(400, 'invalid_parameter', 'Неверный тип цели');
  const conditions = Array.isArray(goal.conditions) ? goal.conditions : [];
  const clean: ManagementGoal['conditions'] = [];
  for (const c of conditions) {
    if (!isRecord(c) || typeof c.type !== 'string' || typeof c.url !== 'string' || c.url === '') {
      return metricaError(400, 'invalid_parameter', 'Неверное условие цели');
    }
    clean.push({ type: c.type, url: c.url });
  }
  if (type === 'action') {
    if (clean.length === 0) return metricaError(400, 'invalid_parameter', 'Не заданы условия цели');
    if (clean.some((c) => !ACTION_CONDITIONS.has(c.type))) {
      return metricaError(400, 'invalid_parameter', 'Неверный тип условия цели');
    }
  }
  if (existing >= GOAL_LIMIT) return metricaError(400, 'limit_exceeded', 'Превышен лимит целей.');
  const made: Omit<MetricaGoal, 'id'> = { name, type, is_retargeting: 0, conditions: clean };
  if (typeof goal.default_price === 'number') made.default_price = goal.default_price;
  return made;
}

/** Whether a goal is what offline conversions with `Target` = `identifier` attach to (§5). */
export function isJsEventGoalFor(goal: MetricaGoal, identifier: string): boolean {
  return (
    goal.type === 'action' &&
    goal.conditions.some((c) => c.type === 'exact' && c.url === identifier)
  );
}
