import type { AccessToken } from "../access-token.js";

/**
 * `refine` applied once per verified token object. Verifiers hand out the same frozen AccessToken
 * from their cache on every request with that token, so the refined one is kept beside it (and
 * goes when it goes) instead of being rebuilt per request. `refine` answers null to refuse.
 */
export function perVerifiedToken(refine: (token: AccessToken) => AccessToken | null): (token: AccessToken | null | undefined) => AccessToken | null {
  const refined = new WeakMap<AccessToken, AccessToken | null>();
  return (token) => {
    if (!token) return null;
    let answer = refined.get(token);
    if (answer === undefined) {
      answer = refine(token);
      refined.set(token, answer);
    }
    return answer;
  };
}
