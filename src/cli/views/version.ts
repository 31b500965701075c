/** The text of `version`. */
export function versionText(v: { version: string }): string {
  return `skiff ${v.version}`;
}
