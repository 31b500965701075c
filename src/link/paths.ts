/** The link port's two HTTP paths (docs/protocol.md): the WebSocket upgrade and token redemption. */
export const LINK_PATH = '/v1/link';
export const REDEEM_PATH = '/v1/redeem';
