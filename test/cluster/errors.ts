/**
 * A pod asks for something this test kubelet does not do (an image the test did not map,
 * an exec probe, a volume type it cannot mount). The pod's container then waits with
 * `reason` and this message, as a kubelet reports a configuration error, and never runs.
 */
export class PodConfigError extends Error {
  constructor(
    readonly reason: 'ErrImageNeverPull' | 'CreateContainerConfigError' | 'CreateContainerError',
    message: string,
  ) {
    super(message);
    this.name = 'PodConfigError';
  }
}
