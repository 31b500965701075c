import { Agent, type AgentOptions, type RequestOptions } from 'node:https';
import {
  AuthenticationV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  type RequestContext,
} from '@kubernetes/client-node';

/**
 * A kubeconfig whose connections reach the API server through a filesystem unix socket
 * bridged to it (unix-bridge-main.js, run in the cluster's network namespace), for clients
 * in this process, which has no route into that namespace. TLS still runs end to end: the
 * server's certificate is checked against the address in the kubeconfig's URL.
 */
export class BridgedKubeConfig extends KubeConfig {
  private agent: Agent | undefined;

  constructor(private readonly socketPath: string) {
    super();
  }

  override async applyToFetchOptions(
    opts: RequestOptions,
  ): ReturnType<KubeConfig['applyToFetchOptions']> {
    const init = await super.applyToFetchOptions(opts);
    return { ...init, agent: await this.bridgedAgent() };
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    context.setAgent(await this.bridgedAgent());
  }

  /** Closes the kept-alive connections, so nothing holds the process open. */
  close(): void {
    this.agent?.destroy();
  }

  private async bridgedAgent(): Promise<Agent> {
    if (this.agent) return this.agent;
    const tls: RequestOptions = {};
    await this.applyToHTTPSOptions(tls);
    // An agent's socketPath (as a request's) is dialled in place of the URL's host and port.
    const options: AgentOptions & { socketPath: string } = {
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      socketPath: this.socketPath,
      keepAlive: true,
    };
    this.agent = new Agent(options);
    return this.agent;
  }
}

/** The API groups the harness calls, as the admin. */
export interface Api {
  config: BridgedKubeConfig;
  core: CoreV1Api;
  discovery: DiscoveryV1Api;
  authentication: AuthenticationV1Api;
}

export function connectApi(kubeconfigFile: string, socketPath: string): Api {
  const config = new BridgedKubeConfig(socketPath);
  config.loadFromFile(kubeconfigFile);
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    discovery: config.makeApiClient(DiscoveryV1Api),
    authentication: config.makeApiClient(AuthenticationV1Api),
  };
}
