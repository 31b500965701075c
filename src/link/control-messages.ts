import { maxFrameSizeBounds } from '../config/settings.js';
import { ErrorCode, SkiffError } from '../errors.js';
import { SITE_ID_PATTERN } from '../pki/index.js';
import { isLinkCost, LINK_COST_RULE } from '../routing/cost.js';

/**
 * The CONTROL messages of a link (docs/protocol.md), parsed from the JSON object the mux
 * decoded into typed, bounded values before anything uses them. A message of a known type
 * that is malformed is a protocol error (the link is closed with the reason); one of an
 * unknown type is ignored, so a later version can add messages.
 */
export interface Hello {
  type: 'hello';
  siteId: string;
  siteName: string;
  version: number;
  /** The dialler's cost for the link, so both ends route with the same figure. */
  cost?: number;
  /** The largest DATA payload this end accepts; the peer must not send larger frames. */
  maxFrameSize?: number;
}

/** Adverts flooded over the link; each one is parsed and verified by routing (advert.ts). */
export interface AdvertsMessage {
  type: 'adverts';
  adverts: unknown[];
}

/** The dialler deleted its link: the issuer revokes the credential. */
export interface UnlinkMessage {
  type: 'unlink';
}

/** The dialler changed the link's cost (`link update --cost`): both ends route with it. */
export interface CostMessage {
  type: 'cost';
  cost: number;
}

export type ControlMessage = Hello | AdvertsMessage | UnlinkMessage | CostMessage;

/** What a link hands its site after HELLO. */
export type LinkControl = Exclude<ControlMessage, Hello>;

export const PROTOCOL_VERSION = 1;

/** Site names end up in logs and status: printable ASCII without spaces, bounded. */
const namePattern = /^[\x21-\x7e]{1,253}$/;

function refuse(message: string): SkiffError {
  return new SkiffError(ErrorCode.PROTOCOL, message);
}

/**
 * Parses one CONTROL message. `maxAdverts` bounds an adverts message (maxSites: no
 * message can hold more sites than the table). Returns undefined for an unknown type.
 */
export function parseControl(
  msg: Record<string, unknown>,
  maxAdverts: number,
): ControlMessage | undefined {
  switch (msg.type) {
    case 'hello':
      return parseHello(msg);
    case 'adverts':
      if (!Array.isArray(msg.adverts) || msg.adverts.length > maxAdverts) {
        throw refuse(`adverts message must list at most ${maxAdverts} adverts`);
      }
      return { type: 'adverts', adverts: msg.adverts };
    case 'unlink':
      return { type: 'unlink' };
    case 'cost':
      if (!isLinkCost(msg.cost)) throw refuse(`cost ${brief(msg.cost)} is not ${LINK_COST_RULE}`);
      return { type: 'cost', cost: msg.cost };
    default:
      return undefined;
  }
}

export function parseHello(msg: Record<string, unknown>): Hello {
  const { siteId, siteName, version, cost, maxFrameSize } = msg;
  if (typeof siteId !== 'string' || !SITE_ID_PATTERN.test(siteId)) {
    throw refuse(`hello siteId ${brief(siteId)} is not a site id (32 hex digits)`);
  }
  if (typeof siteName !== 'string' || !namePattern.test(siteName)) {
    throw refuse(`hello siteName ${brief(siteName)} is not 1 to 253 printable characters`);
  }
  if (version !== PROTOCOL_VERSION) {
    throw refuse(
      `hello protocol version ${brief(version)} is not supported (this router speaks ${PROTOCOL_VERSION})`,
    );
  }
  const hello: Hello = { type: 'hello', siteId, siteName, version };
  if (cost !== undefined) {
    if (!isLinkCost(cost)) throw refuse(`hello cost ${brief(cost)} is not ${LINK_COST_RULE}`);
    hello.cost = cost;
  }
  if (maxFrameSize !== undefined) {
    const [min, max] = maxFrameSizeBounds;
    if (
      typeof maxFrameSize !== 'number' ||
      !Number.isInteger(maxFrameSize) ||
      maxFrameSize < min ||
      maxFrameSize > max
    ) {
      throw refuse(
        `hello maxFrameSize ${brief(maxFrameSize)} is not a whole number from ${min} to ${max}`,
      );
    }
    hello.maxFrameSize = maxFrameSize;
  }
  return hello;
}

/** A peer's value as it may appear in a reason: short, so a huge value cannot flood logs. */
function brief(value: unknown): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
