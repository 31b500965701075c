/** The text of `version`: skiff's, then the router's or that none runs. */
export function versionText(v: {
  version: string;
  stateDir: string;
  router?: { version: string; pid: number };
}): string {
  const router = v.router
    ? `router ${v.router.version} (pid ${v.router.pid}, state dir ${v.stateDir})`
    : `no router runs for state dir ${v.stateDir}`;
  return `skiff ${v.version}\n${router}`;
}
