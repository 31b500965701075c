import { compareResourceVersions } from './resource-version.js';

/** What the router last did to an object itself, until its watch has seen it. */
type Entry = { kind: 'wrote'; resourceVersion: string } | { kind: 'deleted' };

/**
 * The router's own writes to the records it watches, so the watch does not apply them a
 * second time (they took effect when the router made them) nor apply an older state that
 * arrives after them. A watch delivers an object's changes in order, so:
 * - after a write that the server stored at resourceVersion W, a state at or before W is
 *   the router's own or older than it: skipped; a later one is someone else's change;
 * - after a delete (the API's answer carries no resourceVersion), every state up to the
 *   DELETED event is older than it: skipped; what comes after the DELETED is news.
 * Entries go once the watch has passed them, so the map holds only writes in flight.
 */
export class OwnWrites {
  private readonly byObject = new Map<string, Entry>();

  wrote(object: string, resourceVersion: string | undefined): void {
    if (resourceVersion === undefined || resourceVersion === '') this.byObject.delete(object);
    else this.byObject.set(object, { kind: 'wrote', resourceVersion });
  }

  deleted(object: string): void {
    this.byObject.set(object, { kind: 'deleted' });
  }

  /**
   * Whether `object` as a watch or list now shows it (at `resourceVersion`, or gone when
   * `deleted`) is already in effect: the router's own write or older than it.
   */
  isOwn(object: string, resourceVersion: string, deleted: boolean): boolean {
    const entry = this.byObject.get(object);
    if (entry === undefined) return false;
    if (entry.kind === 'deleted') {
      if (deleted) this.byObject.delete(object);
      return true;
    }
    const order = compareResourceVersions(resourceVersion, entry.resourceVersion);
    if (order === undefined) {
      // Not comparable: only the write itself is recognised.
      this.byObject.delete(object);
      return resourceVersion === entry.resourceVersion;
    }
    if (order >= 0) this.byObject.delete(object);
    return order <= 0;
  }

  /**
   * A fresh list at `listVersion` replaced what the watch knew. Deletes are forgotten (the
   * list shows whether the object is there now), and so are writes the list already
   * covers; a write after the list stays, for the watch that follows it.
   */
  relisted(listVersion: string): void {
    for (const [object, entry] of this.byObject) {
      if (entry.kind === 'deleted') {
        this.byObject.delete(object);
        continue;
      }
      const order = compareResourceVersions(entry.resourceVersion, listVersion);
      if (order === undefined || order <= 0) this.byObject.delete(object);
    }
  }

  /** Writes not yet seen by the watch (for tests). */
  get size(): number {
    return this.byObject.size;
  }
}
