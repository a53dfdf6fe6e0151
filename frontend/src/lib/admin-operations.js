// The GraphQL documents of the usage panel and the admin page.

const USAGE_FIELDS = 'day promptTokens completionTokens prompts';
const QUOTA_FIELDS = 'dailyTokens monthlyTokens usedToday usedThisMonth resetsAt';
const USER_FIELDS = `id username role disabled createdAt
  usage(days: $days) { ${USAGE_FIELDS} } quota { ${QUOTA_FIELDS} }`;

export const MY_USAGE = `query MyUsage($days: Int!) {
  me { id role usage(days: $days) { ${USAGE_FIELDS} } quota { ${QUOTA_FIELDS} } }
}`;

export const USERS = `query Users($first: Int!, $after: String, $search: String, $days: Int!) {
  users(first: $first, after: $after, search: $search) {
    edges { cursor node { ${USER_FIELDS} } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const UPDATE_USER = `mutation UpdateUser($id: ID!, $disabled: Boolean, $role: Role,
    $dailyTokenQuota: Int, $monthlyTokenQuota: Int, $days: Int!) {
  updateUser(id: $id, disabled: $disabled, role: $role, dailyTokenQuota: $dailyTokenQuota,
    monthlyTokenQuota: $monthlyTokenQuota) { ${USER_FIELDS} }
}`;

export const RESET_USER_PASSWORD = `mutation ResetUserPassword($id: ID!) {
  resetUserPassword(id: $id) { password user { id username } }
}`;

export const AUDIT_LOG = `query AuditLog($first: Int!, $after: String) {
  auditLog(first: $first, after: $after) {
    edges { cursor node { id actor action target detail createdAt } }
    pageInfo { hasNextPage endCursor }
  }
}`;
