/** Who may call the API: named keys with a role (`API_KEYS`). Pure; the HTTP side is src/api/auth.ts. */

export type Role = 'customer' | 'operator';

export interface ApiKey {
  name: string;
  role: Role;
  key: string;
}

/** Parses `name:role:key,…` (API_KEYS); throws a message naming the bad entry. */
export function parseApiKeys(text: string | undefined): ApiKey[] {
  if (!text?.trim()) return [];
  const keys = text.split(',').map((entry, i) => {
    const [name, role, ...rest] = entry.trim().split(':');
    const key = rest.join(':');
    if (!name || !/^[\w.@-]{1,64}$/.test(name))
      throw new Error(`entry ${i + 1}: name must be 1-64 of letters, digits, _ . @ -`);
    if (role !== 'customer' && role !== 'operator')
      throw new Error(`entry ${i + 1} (${name}): role must be customer or operator`);
    if (key.length < 16) throw new Error(`entry ${i + 1} (${name}): the key must be at least 16 characters`);
    return { name, role, key } as ApiKey;
  });
  const names = keys.map((k) => k.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) throw new Error(`name ${duplicate} appears twice`);
  return keys;
}
