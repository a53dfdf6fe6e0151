// One error type for everything the API or the network can say, keyed by the contract's
// `extensions.code` plus NETWORK for "the server could not be reached".

export class ApiError extends Error {
  /**
   * @param {string} code  UNAUTHENTICATED | BAD_USER_INPUT | NOT_FOUND | RATE_LIMITED |
   *                       LLM_UNAVAILABLE | INTERNAL_SERVER_ERROR, or two of the page's own:
   *                       NETWORK (no answer from the server), INTERRUPTED (an answer cut off
   *                       by a server restart)
   * @param {string} message  the server's plain message, shown to the user for BAD_USER_INPUT
   * @param {object} extensions  the error's `extensions` (its `reason`, `resetsAt`, ...)
   */
  constructor(code, message, extensions = {}) {
    super(message || code);
    this.name = 'ApiError';
    this.code = code;
    this.extensions = extensions;
  }
}

/** An ApiError from a GraphQL `errors` array (the first error decides). */
export function errorFromGraphQL(errors) {
  const first = errors?.[0] ?? {};
  return new ApiError(
    first.extensions?.code ?? 'INTERNAL_SERVER_ERROR',
    first.message,
    first.extensions ?? {},
  );
}

/** Anything thrown, as an ApiError. */
export function asApiError(error) {
  if (error instanceof ApiError) return error;
  return new ApiError('NETWORK', error?.message);
}
