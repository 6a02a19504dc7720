import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
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
import { equalBytes } from "../bytes.js";
import type { SignatureVerifier } from "../identity.js";
import { isChorusSenderId, SENDER_PREFIX_BYTES, type SenderId, senderPrefixHex } from "../ids.js";

/**
 * A channel's member list as the owner published it: position i is member i in receipt bitmaps. N in
 * "delivered to k of N" is its size minus the sender.
 */
export class RosterIndex {
  private readonly index = new Map<string, number>();
  /**
   * Members by their 8-byte key prefix, read as a number (prefixKey): the owner looks up a prefix for every range of
   * every report, and each member for every head in its news, and a hex string was made and hashed for each.
   * A key names the last member with that prefix (as a map by hex would), or -1 when two different prefixes share it
   * (their first 53 bits equal): those are looked up by hex in `byHex`.
   */
  private readonly byPrefix = new Map<number, number>();
  private readonly byHex = new Map<string, number>();
  /** Member i's key prefix. */
  private readonly prefixes: Uint8Array[] = [];

  constructor(readonly roster: Roster) {
    roster.members.forEach((id, i) => {
      if (this.index.has(id)) throw new RangeError(`roster names ${id} twice`);
      this.index.set(id, i);
      const hex = senderPrefixHex(id);
      const prefix = hexToBytes(hex);
      this.prefixes.push(prefix);
      this.byHex.set(hex, i);
      const key = prefixKey(prefix);
      const known = this.byPrefix.get(key);
      const same = known === undefined || (known >= 0 && equalBytes(this.prefixes[known]!, prefix));
      this.byPrefix.set(key, same ? i : -1);
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
    if (prefix.length !== SENDER_PREFIX_BYTES) return undefined;
    const i = this.byPrefix.get(prefixKey(prefix));
    if (i === undefined) return undefined;
    if (i < 0) return this.byHex.get(bytesToHex(prefix));
    return equalBytes(this.prefixes[i]!, prefix) ? i : undefined;
  }

  /** Member i's 8-byte key prefix (read only: it goes into encodings). */
  prefixAt(i: number): Uint8Array | undefined {
    return this.prefixes[i];
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

/** The first 53 bits of an 8-byte prefix, as an exact integer. */
function prefixKey(p: Uint8Array): number {
  const high = ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
  return high * 0x20_0000 + ((p[4]! << 13) | (p[5]! << 5) | (p[6]! >>> 3));
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
