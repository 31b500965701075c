import { createHash } from 'node:crypto';
import { ErrorCode, SkiffError } from '../errors.js';
import {
  signWithSiteKey,
  siteIdOfCert,
  spkiBase64OfCert,
  verifySiteSignature,
} from '../pki/index.js';

/**
 * A redeemer's proof that it is the site it names (docs/decisions/0009-trust-model.md): a
 * signature by its site CA key over the token id, the CSR's hash and its site id. The
 * issuer checks that the id is the one derived from that CA's key before it puts the id
 * into a link certificate, so a token holder can only ever link as itself.
 */
export interface RedemptionClaim {
  tokenId: string;
  csrPem: string;
  siteId: string;
}

const PROOF_CONTEXT = 'skiff-redeem-proof-v1';

function proofBytes(claim: RedemptionClaim): Buffer {
  const csrHash = createHash('sha256').update(claim.csrPem).digest('hex');
  return Buffer.from(`${PROOF_CONTEXT}\n${claim.tokenId}\n${csrHash}\n${claim.siteId}`);
}

/** The base64 signature a redeemer sends with its CA certificate. */
export function proveRedemption(caKeyPem: string, claim: RedemptionClaim): string {
  return signWithSiteKey(caKeyPem, proofBytes(claim));
}

/** Throws INVALID_ARGUMENT unless `siteCaPem`'s key derives `claim.siteId` and signed `proof`. */
export function checkRedemptionProof(
  claim: RedemptionClaim,
  siteCaPem: string,
  proof: string,
): void {
  let derived: string;
  let spki: Buffer;
  try {
    derived = siteIdOfCert(siteCaPem);
    spki = Buffer.from(spkiBase64OfCert(siteCaPem), 'base64');
  } catch {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      'redeem request field "siteCa" is not a PEM certificate; send the site CA certificate',
    );
  }
  if (derived !== claim.siteId) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      `site id "${claim.siteId}" is not the id of the site CA sent with it (${derived}); a site links only under its own id`,
    );
  }
  if (!verifySiteSignature(spki, proofBytes(claim), proof)) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      'the redemption proof does not verify with the site CA sent with it; redeem with `skiff link create`',
    );
  }
}
