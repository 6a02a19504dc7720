import { bytesToHex } from "@noble/hashes/utils.js";
import {
  appendOwnerSignature,
  decodeRoster,
  encodeRosterUnsigned,
  ownerSignedPortion,
  ownerSigningInput,
  ownerVerifierInput,
  ROSTER_DOMAIN,
  type Roster,
} from "../../wire/owner-codec.js";
import type { SignatureVerifier } from "../identity.js";
import { isChorusSenderId, type SenderId, senderPrefixHex } from "../ids.js";

/**
 * A channel's member list as the owner published it: position i is member i in receipt bitmaps. N in
 * "delivered to k of N" is its size minus the sender.
 */
export class RosterIndex {
  private readonly index = new Map<string, number>();
  private readonly byPrefix = new Map<string, number>();

  constructor(readonly roster: Roster) {
    roster.members.forEach((id, i) => {
      if (this.index.has(id)) throw new RangeError(`roster names ${id} twice`);
      this.index.set(id, i);
      this.byPrefix.set(senderPrefixHex(id), i);
    });
  }

  get size(): number {
    return this.roster.members.length;
  }

  get version(): number {
    return this.roster.version;
  }

  has(id: string): boolean {
    return this.index.has(id);
  }

  indexOf(id: string): number | undefined {
    return this.index.get(id);
  }

  indexOfPrefix(prefix: Uint8Array): number | undefined {
    return this.byPrefix.get(bytesToHex(prefix));
  }

  idAt(i: number): SenderId | undefined {
    return this.roster.members[i] as SenderId | undefined;
  }

  /** The members whose bits are set in a receipt bitmap. */
  holders(bitmap: Uint8Array): SenderId[] {
    const out: SenderId[] = [];
    for (let byte = 0; byte < bitmap.length; byte++) {
      const bits = bitmap[byte]!;
      if (bits === 0) continue;
      for (let bit = 0; bit < 8; bit++) {
        if ((bits & (1 << bit)) === 0) continue;
        const id = this.idAt(byte * 8 + bit);
        if (id !== undefined) out.push(id);
      }
    }
    return out;
  }
}

/** Signs a roster with the owner's signer (the one that signs its channel messages). */
export function signRoster(roster: Omit<Roster, "signature">, sign: (unsigned: Uint8Array) => Uint8Array): Uint8Array {
  const unsigned = encodeRosterUnsigned(roster);
  return appendOwnerSignature(unsigned, sign(ownerSigningInput(ROSTER_DOMAIN, unsigned)));
}

/**
 * Decodes and checks a signed roster: for `channelId`, signed by `owner` (the owner's key a member was configured
 * with), every member a Chorus key. Throws RangeError naming what is wrong.
 */
export function openRoster(
  bytes: Uint8Array,
  channelId: string,
  owner: string,
  verify: SignatureVerifier,
): RosterIndex {
  const roster = decodeRoster(bytes);
  if (roster.channelId !== channelId)
    throw new RangeError(`roster is for channel "${roster.channelId}", not "${channelId}"`);
  if (roster.owner !== owner) throw new RangeError(`roster is signed for owner ${roster.owner}, not ${owner}`);
  const signed = ownerSignedPortion(bytes);
  if (roster.signature === undefined || signed === undefined) throw new RangeError("roster is not signed");
  if (!verify(ownerVerifierInput(ROSTER_DOMAIN, signed, roster.signature), roster.signature, owner as SenderId)) {
    throw new RangeError("roster signature does not verify");
  }
  const bad = roster.members.find((m) => !isChorusSenderId(m));
  if (bad !== undefined) throw new RangeError(`roster member ${bad} is not an ed25519 public key in hex`);
  return new RosterIndex(roster);
}
