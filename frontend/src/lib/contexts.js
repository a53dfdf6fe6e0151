// What the app shell shares with every component below it (@lit/context): a component asks
// with `new ContextConsumer(this, { context, subscribe: true })` and reads `.value`.
import { createContext } from '@lit/context';

/** The signed-in session `{ token, user: { id, username }, expiresAt }`, or null. */
export const sessionContext = createContext(Symbol('session'));

/** The GraphQLClient for queries and mutations (lib/graphql.js). */
export const graphqlContext = createContext(Symbol('graphql'));

/** The SubscriptionClient that streams answers, over WebSocket or HTTP (lib/subscriptions.js). */
export const subscriptionsContext = createContext(Symbol('subscriptions'));

/** The server's `serverInfo`: `{ allowSignup, maxPromptLength, graphiql }`, null until known. */
export const serverInfoContext = createContext(Symbol('server-info'));

/** The conversation the URL opens: `{ conversationId, focusPost: { postId, cursor } | null }`. */
export const openConversationContext = createContext(Symbol('open-conversation'));

/** The page's preferences: `{ language, theme }`. */
export const preferencesContext = createContext(Symbol('preferences'));

/** The models people can pick (the `models` query): `[{ id, contextLength, available,
 * isDefault }]`, [] until known. Provided by the chat view. */
export const modelsContext = createContext(Symbol('models'));
