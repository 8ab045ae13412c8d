/** The base64url alphabet (RFC 4648 §5), by value. */
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const SEGMENT = /^[A-Za-z0-9_-]*$/;

/**
 * Whether `token` is a JWS in compact serialization written canonically: three segments of
 * unpadded base64url (RFC 7515 §2, §7.1) whose last character leaves no stray bits. Decoders are
 * lenient (jose on Node accepts `==` padding and ignores a final character's unused bits), so
 * without this check one valid token has 32 spellings that all verify, and anything keyed on the
 * token string (the verified-token cache, limits, deny lists, logs) would see them as different
 * tokens. Checked before the signature, it costs a regex and a lookup per segment.
 */
export function isCanonicalCompactJws(token: string): boolean {
  const first = token.indexOf(".");
  const second = first < 0 ? -1 : token.indexOf(".", first + 1);
  if (second < 0 || token.indexOf(".", second + 1) >= 0) return false;
  return canonicalSegment(token.slice(0, first)) && canonicalSegment(token.slice(first + 1, second)) && canonicalSegment(token.slice(second + 1));
}

function canonicalSegment(segment: string): boolean {
  if (!SEGMENT.test(segment)) return false;
  const tail = segment.length % 4;
  if (tail === 0) return true;
  if (tail === 1) return false;
  // 2 characters carry 12 bits for one byte, 3 carry 18 bits for two: the rest must be zero.
  const value = ALPHABET.indexOf(segment[segment.length - 1]!);
  return (value & (tail === 2 ? 0x0f : 0x03)) === 0;
}
