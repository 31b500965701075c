import { describe, ErrorCode, SkiffError } from '../errors.js';
import { resolveSettings, type Settings } from './settings.js';

/**
 * A site's settings overrides as written by a person, one JSON object of them (the local
 * platform's `settings.json` file, the kubernetes platform's `skiff-settings` ConfigMap):
 * the defaults with the overrides applied, or a refusal naming `where` and saying `todo`.
 */
export function settingsFromText(text: string, where: string, todo: string): Settings {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SkiffError(
      ErrorCode.STATE_CORRUPT,
      `${where}: is not valid JSON (${describe(err)}); ${todo}`,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SkiffError(
      ErrorCode.STATE_CORRUPT,
      `${where}: holds ${value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value}, not an object of settings; ${todo}`,
    );
  }
  try {
    return resolveSettings(value as Record<string, unknown>);
  } catch (err) {
    throw new SkiffError(ErrorCode.INVALID_ARGUMENT, `${where}: ${describe(err)}; ${todo}`, {
      cause: err,
    });
  }
}
