/**
 * ConfigSection: an adapter's own part of the YAML config (`amocrm:`, `ga4:`, `generic:`), which
 * src/config composes into the whole. Model: segmentio/action-destinations, where each destination
 * declares its own settings with their descriptions and defaults.
 *
 * A section declares, for its keys: the joi schema (shape, types, ranges, defaults), the words a
 * marketer reads when a value is wrong (`hints`: what the value must be, and how to fix it), the
 * environment variables that fill it, the checks joi cannot say well (`check`), and how the
 * validated YAML becomes the adapter's settings (`build`). Paths and patterns are relative to the
 * section: `subdomain`, `fields.client_id`; the composer adds `amocrm.` (or `accounts[].amocrm.`).
 *
 * Contract: `check` runs on the parsed YAML before joi, so it must be defensive about shapes (joi
 * reports those); it reports every problem it finds. `build` gets the section as joi returned it
 * (defaults applied) and never throws. No section reads the environment itself.
 */
import type Joi from 'joi';
import type { ErrorCode } from '../core/errors';

export type ConfigPath = readonly (string | number)[];

/** A problem found by the schema or the meaning checks, located by path (no file or line yet). */
export interface SchemaProblem {
  path: ConfigPath;
  message: string;
  fix: string;
  code: ErrorCode;
}

export type ProblemSink = (
  path: ConfigPath,
  message: string,
  fix: string,
  code?: ErrorCode,
) => void;

export interface ConfigHint {
  /** What the value must be, completing "must be …". */
  expect: string;
  /** How to fix it, given the value found. */
  fix: (value: unknown) => string;
  /** Never echo the value (it is a secret). */
  secret?: boolean;
}

export interface EnvBinding {
  /** The documented variable. */
  variable: string;
  /** Where its value goes, relative to the section. */
  path: ConfigPath;
  /** The value is a secret: check-config says only `set`. */
  secret: boolean;
  /** The schema's default, as check-config names it; absent: no default (the setting is off). */
  fallback?: string;
  /**
   * The variable does not apply when the section sets this key: a config that authorises amoCRM
   * by OAuth ignores AMOCRM_TOKEN instead of refusing both.
   */
  unlessSet?: ConfigPath;
}

export interface ConfigSection<Settings> {
  /** The YAML key. */
  key: string;
  /** What it is, for messages: `amoCRM`. */
  title: string;
  keys: Joi.PartialSchemaMap;
  /** The keys of the section's nested sections ('' for its own), for "unknown setting" messages. */
  sectionKeys: Readonly<Record<string, readonly string[]>>;
  /** By relative pattern (`subdomain`, `fields.client_id`; '' for the section itself). */
  hints: Readonly<Record<string, ConfigHint>>;
  /** Relative patterns whose value is a field reference (`{ code | id | name }`). */
  fieldRefs?: readonly string[];
  env: readonly EnvBinding[];
  /** `path` is relative to the section; `raw` is the section as parsed (maybe not an object). */
  check?(raw: unknown, add: ProblemSink): void;
  build(raw: unknown): Settings;
}
