// The GraphQL documents of the API keys dialog.

const KEY_FIELDS = 'id name createdAt lastUsedAt';

export const API_KEYS = `query ApiKeys { apiKeys { ${KEY_FIELDS} } }`;

export const CREATE_API_KEY = `mutation CreateApiKey($name: String!) {
  createApiKey(name: $name) { key apiKey { ${KEY_FIELDS} } }
}`;

export const REVOKE_API_KEY = `mutation RevokeApiKey($id: ID!) { revokeApiKey(id: $id) }`;
