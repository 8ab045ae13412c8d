import type { Adapter, AdapterPayload } from "oidc-provider";

/** The models revoked together when their grant is (a reused code or refresh token revokes them all). */
const GRANTABLE = new Set(["AccessToken", "AuthorizationCode", "RefreshToken", "DeviceCode", "BackchannelAuthenticationRequest"]);

interface Entry {
  payload: AdapterPayload;
  expiresAtMs: number;
}

/**
 * oidc-provider storage in a Map owned by one provider instance (its built-in memory adapter is a
 * process-wide cache). Entries expire lazily, so no timer outlives the provider.
 */
export function memoryStore(): (model: string) => Adapter {
  const entries = new Map<string, Entry>();
  const byGrant = new Map<string, string[]>();
  const index = new Map<string, string>();

  const read = (key: string): AdapterPayload | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs > Date.now()) return entry.payload;
    entries.delete(key);
    return undefined;
  };

  return (model) => {
    const key = (id: string) => `${model}:${id}`;
    const lookup = (kind: string, value: string) => {
      const id = index.get(`${kind}:${value}`);
      return id === undefined ? undefined : read(key(id));
    };
    return {
      async upsert(id, payload, expiresIn) {
        // Registered clients come without an expiry.
        entries.set(key(id), { payload, expiresAtMs: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
        if (model === "Session" && payload.uid) index.set(`uid:${payload.uid}`, id);
        if (payload.userCode) index.set(`userCode:${payload.userCode}`, id);
        if (payload.grantId && GRANTABLE.has(model)) byGrant.set(payload.grantId, [...(byGrant.get(payload.grantId) ?? []), key(id)]);
      },
      async find(id) {
        return read(key(id));
      },
      async findByUid(uid) {
        return lookup("uid", uid);
      },
      async findByUserCode(userCode) {
        return lookup("userCode", userCode);
      },
      async consume(id) {
        const payload = read(key(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id) {
        entries.delete(key(id));
      },
      async revokeByGrantId(grantId) {
        for (const stored of byGrant.get(grantId) ?? []) entries.delete(stored);
        byGrant.delete(grantId);
      },
    };
  };
}
