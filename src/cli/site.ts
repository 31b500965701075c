/**
 * `site create`, `site run` and `site delete` (site-delete.ts): the commands that work on
 * the state dir directly rather than through a running router's admin API.
 */
import { type Command, Option } from 'commander';
import { ErrorCode, SkiffError } from '../errors.js';
import { LOG_FORMATS, type LogFormat } from '../log-format.js';
import { contextOf, localOnly, runContextOf } from './context.js';
import { printAction } from './output.js';
import { registerSiteDelete } from './site-delete.js';
import { parseHost, parsePort } from './validate.js';
import { siteCreatedText } from './views/site.js';

interface RunFlags {
  init?: boolean;
  logFormat?: LogFormat;
  linkHost?: string;
  linkPort?: string;
  linkBindPort?: string;
  healthPort?: string;
  healthHost?: string;
  metricsPort?: string;
  metricsHost?: string;
}

interface CreateFlags {
  linkHost?: string;
  linkPort: string;
  linkBindPort?: string;
  linkAccess: boolean;
}

export function registerSite(program: Command): void {
  const site = program.command('site').description('create a site, run its router, or delete it');

  site
    .command('create')
    .description('create a site (its identity, CA and link certificate) in the state dir')
    .argument('<NAME>', 'the site name: lower-case letters, digits and -')
    .option('--link-host <HOST>', 'the host name or IP other sites dial (default 127.0.0.1)')
    .option('--link-port <PORT>', 'the port other sites dial', '8443')
    .option(
      '--link-bind-port <PORT>',
      'the port the link server binds, when other sites reach it through a port-forward or proxy on --link-port (default: --link-port)',
    )
    .option('--no-link-access', 'accept no links: this site only links out')
    .action(async (name: string, flags: CreateFlags, command: Command) => {
      const ctx = contextOf(command);
      localOnly(
        ctx,
        'the router creates the site at its first start; install it with: kubectl apply -n NAMESPACE -k deploy/kubernetes',
      );
      const linkPort = parsePort(flags.linkPort, '--link-port');
      const linkBindPort =
        flags.linkBindPort === undefined
          ? undefined
          : parsePort(flags.linkBindPort, '--link-bind-port');
      const linkHost =
        flags.linkHost === undefined ? undefined : parseHost(flags.linkHost, '--link-host');
      // Loaded on use: the PKI and router code is more than the other commands need.
      const { createSite } = await import('../site/create.js');
      const { createLogger } = await import('../log.js');
      const info = await createSite({
        stateDir: ctx.stateDir,
        name,
        ...(linkHost === undefined ? {} : { linkHost }),
        linkPort,
        ...(linkBindPort === undefined ? {} : { linkBindPort }),
        linkAccess: flags.linkAccess,
        logger: createLogger(ctx.logLevel ?? 'warn'),
      });
      printAction(ctx.output, 'Site', 'created', info, (i) => siteCreatedText(i, ctx.stateDir));
    });

  site
    .command('run')
    .description('run the router in the foreground until SIGTERM or SIGINT')
    .option('--init', 'create the site with defaults if the state dir holds none')
    .option(
      '--link-host <HOST>',
      'for a site created at this start: the host other sites dial (default 127.0.0.1; on kubernetes skiff.NAMESPACE.svc)',
    )
    .option(
      '--link-port <PORT>',
      'for a site created at this start: the port other sites dial (default 8443)',
    )
    .option(
      '--link-bind-port <PORT>',
      'for a site created at this start: the port the link server binds (default: --link-port)',
    )
    .addOption(
      new Option(
        '--log-format <FORMAT>',
        'pretty for people, json for machines (default: pretty on a terminal, else json)',
      )
        .choices(LOG_FORMATS)
        .env('SKIFF_LOG_FORMAT'),
    )
    .option(
      '--health-port <PORT>',
      'serve /livez and /readyz for probes on this port (default: the healthPort setting, 0: none)',
    )
    .option(
      '--health-host <HOST>',
      'the address the health port binds (default 127.0.0.1; 0.0.0.0 in a pod, which the kubelet probes on its IP)',
    )
    .option(
      '--metrics-port <PORT>',
      'serve Prometheus metrics at /metrics on this port (default: the metricsPort setting, 0: none)',
    )
    .option(
      '--metrics-host <HOST>',
      'the address the metrics port binds (default 127.0.0.1; the metrics name sites, links and addresses)',
    )
    .action(async (flags: RunFlags, command: Command) => {
      const ctx = runContextOf(command);
      const healthPort =
        flags.healthPort === undefined ? undefined : parsePort(flags.healthPort, '--health-port');
      const healthHost =
        flags.healthHost === undefined ? undefined : parseHost(flags.healthHost, '--health-host');
      const link = {
        ...(flags.linkHost === undefined
          ? {}
          : { linkHost: parseHost(flags.linkHost, '--link-host') }),
        ...(flags.linkPort === undefined
          ? {}
          : { linkPort: parsePort(flags.linkPort, '--link-port') }),
        ...(flags.linkBindPort === undefined
          ? {}
          : { linkBindPort: parsePort(flags.linkBindPort, '--link-bind-port') }),
      };
      // A site that exists keeps where it takes links; only one created now takes these.
      if (ctx.platform === 'local' && flags.init !== true && Object.keys(link).length > 0) {
        throw new SkiffError(
          ErrorCode.INVALID_ARGUMENT,
          '--link-host, --link-port and --link-bind-port apply to a site created at this start: add --init, or use skiff site create',
        );
      }
      const metricsPort =
        flags.metricsPort === undefined
          ? undefined
          : parsePort(flags.metricsPort, '--metrics-port');
      const metricsHost =
        flags.metricsHost === undefined
          ? undefined
          : parseHost(flags.metricsHost, '--metrics-host');
      // However it was started (a unit running `node bin/skiff.js`), the router runs in the
      // tuned runtime: the flags and environment are only taken at process start.
      const tuned = await import('../runtime/tuned-runtime.js');
      if (tuned.needsReexec()) await tuned.reexecTuned();
      const { runSite } = await import('../site/run.js');
      await runSite({
        ...(ctx.stateDir === undefined ? {} : { stateDir: ctx.stateDir }),
        logLevel: ctx.logLevel ?? process.env.SKIFF_LOG_LEVEL ?? 'info',
        init: flags.init === true,
        ...(flags.logFormat === undefined ? {} : { logFormat: flags.logFormat }),
        ...(healthPort === undefined ? {} : { healthPort }),
        ...(healthHost === undefined ? {} : { healthHost }),
        platform: ctx.platform,
        ...(ctx.platform === 'kubernetes' && ctx.namespace !== undefined
          ? { namespace: ctx.namespace }
          : {}),
        ...(ctx.platform === 'kubernetes' && ctx.context !== undefined
          ? { context: ctx.context }
          : {}),
        link,
        ...(metricsPort === undefined ? {} : { metricsPort }),
        ...(metricsHost === undefined ? {} : { metricsHost }),
      });
    });

  registerSiteDelete(site);
}
