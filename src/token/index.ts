// The public face of src/token: token files, the issuer side and the redeeming side.
export {
  type GrantRecord,
  type RedeemRequest,
  type RedeemResult,
  TokenIssuer,
  type TokenIssuerOptions,
  type TokenRecord,
} from './issuer.js';
export { checkRedemptionProof, proveRedemption, type RedemptionClaim } from './proof.js';
export { type RedeemClientRequest, type RedeemClientResult, redeemToken } from './redeem-client.js';
export { createRedeemHandler, MAX_REDEEM_BODY, REDEEM_PATH } from './redeem-handler.js';
export { parseToken, redeemUrlFor, signToken, type TokenBody } from './token.js';
