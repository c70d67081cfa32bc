import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/**
 * Encrypts endpoint signature secrets at rest with AES-256-GCM.
 *
 * Sealed form: `v1.<keyId>.<iv>.<tag>.<ciphertext>`, the last three base64url without padding. `keyId` names the key
 * (first 8 hex chars of sha256 of its bytes) so a rotation can tell old rows from new ones without trying every key.
 * The associated data (for example the endpoint id) is authenticated but not stored: opening with different
 * associated data fails, so a sealed secret copied onto another row is useless there.
 */
export interface SecretBox {
  /** Encrypts with the current key (`keys[0]`) and a fresh random 12-byte IV. */
  seal(plaintext: string, aad: string): string;
  /**
   * Decrypts with whichever configured key sealed the value.
   * Throws `cannot decrypt: …` (malformed value, unknown key id, or authentication failed); the message never contains
   * plaintext or key material.
   */
  open(sealed: string, aad: string): string;
  /**
   * True when `sealed` was not sealed with the current key, including values that do not parse. Reads the key id only;
   * it does not authenticate the value.
   */
  needsRotation(sealed: string): boolean;
  /** Opens with any configured key and seals again with the current one (always a fresh IV). Throws as `open` does. */
  reseal(sealed: string, aad: string): string;
}

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const KEY_ID = /^[0-9a-f]{8}$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

interface Key {
  id: string;
  bytes: Buffer;
}

/**
 * Builds a {@link SecretBox} from hex keys, newest first: `keys[0]` seals, every key opens (so after a rotation the
 * previous ENCRYPTION_KEY stays second until every row has been resealed).
 *
 * Throws at construction when the list is empty or a key is not 64 hex characters (32 bytes); the message names the
 * key's position, never its value.
 */
export function createSecretBox(keys: readonly string[]): SecretBox {
  if (keys.length === 0) throw new Error("secret box needs at least one encryption key");
  const parsed = keys.map((hex, index): Key => {
    if (!HEX_KEY.test(hex)) {
      throw new Error(`encryption key #${index + 1} is not 64 hex characters (32 bytes)`);
    }
    const bytes = Buffer.from(hex, "hex");
    return { id: createHash("sha256").update(bytes).digest("hex").slice(0, 8), bytes };
  });
  const current = parsed[0]!;
  const byId = new Map<string, Key>();
  // note: first wins, so a key listed twice (or a 32-bit id collision) never shadows the current key.
  for (const key of parsed) if (!byId.has(key.id)) byId.set(key.id, key);

  const seal = (plaintext: string, aad: string): string => {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", current.bytes, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(aad, "utf8"));
    const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, current.id, b64url(iv), b64url(tag), b64url(ciphertext)].join(".");
  };

  const open = (sealed: string, aad: string): string => {
    const parts = parse(sealed);
    const key = byId.get(parts.keyId);
    if (!key) throw new Error(`cannot decrypt: unknown key id ${parts.keyId} (is the key that sealed it configured?)`);
    const decipher = createDecipheriv("aes-256-gcm", key.bytes, parts.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, "utf8"));
    decipher.setAuthTag(parts.tag);
    let plaintext: Buffer;
    try {
      plaintext = Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]);
    } catch {
      // note: no cause attached; GCM decrypts before it authenticates, so nothing from this attempt may leave here.
      throw new Error("cannot decrypt: authentication failed (wrong associated data or tampered value)");
    }
    return plaintext.toString("utf8");
  };

  return {
    seal,
    open,
    needsRotation: (sealed) => {
      const keyId = sealed.split(".")[1];
      return !(sealed.startsWith(`${VERSION}.`) && keyId === current.id);
    },
    reseal: (sealed, aad) => seal(open(sealed, aad), aad),
  };
}

function parse(sealed: string): { keyId: string; iv: Buffer; tag: Buffer; ciphertext: Buffer } {
  const [version, keyId, iv, tag, ciphertext, ...rest] = sealed.split(".");
  if (version !== VERSION || rest.length > 0 || keyId === undefined || ciphertext === undefined) {
    throw new Error(`cannot decrypt: not a ${VERSION} sealed secret`);
  }
  if (!KEY_ID.test(keyId)) throw new Error("cannot decrypt: malformed key id");
  const ivBytes = fromB64url(iv);
  const tagBytes = fromB64url(tag);
  const ciphertextBytes = fromB64url(ciphertext);
  // note: the tag length is checked here (and pinned by authTagLength): GCM would otherwise accept a truncated tag.
  if (ivBytes?.length !== IV_BYTES || tagBytes?.length !== TAG_BYTES || ciphertextBytes === undefined) {
    throw new Error(`cannot decrypt: malformed ${VERSION} sealed secret`);
  }
  return { keyId, iv: ivBytes, tag: tagBytes, ciphertext: ciphertextBytes };
}

function b64url(bytes: Buffer): string {
  return bytes.toString("base64url");
}

/** Strict: Node's decoder silently skips characters outside the alphabet, which would hide a damaged value. */
function fromB64url(part: string | undefined): Buffer | undefined {
  return part !== undefined && BASE64URL.test(part) ? Buffer.from(part, "base64url") : undefined;
}
