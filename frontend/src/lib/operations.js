// Every GraphQL document the page sends, in one place so the contract is easy to check.

const POST_FIELDS = `
  id conversationId prompt body status finishReason error model
  promptTokens completionTokens latencyMs createdAt replacedPostId parentId siblingIds siblingIndex
`;

// Sent with every streamed delta, so kept to what can change while an answer is written.
const STREAM_EVENT_FIELDS = `
  delta done
  post { id conversationId prompt status finishReason error model promptTokens completionTokens latencyMs createdAt replacedPostId }
`;

const CONVERSATION_FIELDS = 'id title instructions updatedAt model pinnedAt';

export const SERVER_INFO = `query ServerInfo {
  serverInfo { allowSignup maxPromptLength maxInstructionsLength graphiql passwordLogin singleSignOn { name loginUrl } }
}`;

export const LOGIN = `mutation Login($username: String!, $password: String!, $remember: Boolean = false) {
  login(username: $username, password: $password, remember: $remember) { token expiresAt user { id username role passwordChangeRequired } }
}`;

export const REGISTER = `mutation Register($username: String!, $password: String!) {
  register(username: $username, password: $password) { token expiresAt user { id username role passwordChangeRequired } }
}`;

export const LOGOUT = 'mutation Logout { logout }';

export const SESSIONS =
  'query Sessions { sessions { id createdAt expiresAt userAgent address current remembered } }';

export const END_SESSION = 'mutation EndSession($id: ID!) { endSession(id: $id) }';

export const CHANGE_PASSWORD = `mutation ChangePassword($currentPassword: String!, $newPassword: String!) {
  changePassword(currentPassword: $currentPassword, newPassword: $newPassword)
}`;

export const CONVERSATIONS = `query Conversations($first: Int!, $after: String, $search: String, $pinned: Boolean) {
  conversations(first: $first, after: $after, search: $search, pinned: $pinned) {
    edges { cursor node { ${CONVERSATION_FIELDS} } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const POSTS_BEFORE = `query PostsBefore($id: ID!, $last: Int!, $before: String) {
  conversation(id: $id) {
    ${CONVERSATION_FIELDS}
    posts(last: $last, before: $before) {
      edges { cursor node { ${POST_FIELDS} } }
      pageInfo { hasPreviousPage startCursor }
    }
  }
}`;

export const CONVERSATION = `query Conversation($id: ID!) {
  conversation(id: $id) { ${CONVERSATION_FIELDS} }
}`;

export const POSTS_AFTER = `query PostsAfter($id: ID!, $first: Int!, $after: String) {
  conversation(id: $id) {
    posts(first: $first, after: $after) {
      edges { cursor node { ${POST_FIELDS} } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

export const CREATE_CONVERSATION = `mutation CreateConversation($title: String, $instructions: String, $model: String) {
  createConversation(title: $title, instructions: $instructions, model: $model) { ${CONVERSATION_FIELDS} }
}`;

export const UPDATE_CONVERSATION = `mutation UpdateConversation($id: ID!, $title: String, $instructions: String, $model: String) {
  updateConversation(id: $id, title: $title, instructions: $instructions, model: $model) { ${CONVERSATION_FIELDS} }
}`;

export const PIN_CONVERSATION = `mutation PinConversation($id: ID!, $pinned: Boolean!) {
  pinConversation(id: $id, pinned: $pinned) { ${CONVERSATION_FIELDS} }
}`;

export const DELETE_CONVERSATION = `mutation DeleteConversation($id: ID!) {
  deleteConversation(id: $id)
}`;

export const PROMPTS = `query Prompts($first: Int!, $after: String, $search: String) {
  prompts(first: $first, after: $after, search: $search) {
    edges { cursor node { id conversationId prompt createdAt } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const SEARCH_POSTS = `query SearchPosts($text: String!, $first: Int!, $after: String) {
  searchPosts(text: $text, first: $first, after: $after) {
    edges { cursor node { matchedIn snippet highlights { start length } post { id conversationId prompt body createdAt } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const STOP_GENERATION = `mutation StopGeneration($postId: ID!) {
  stopGeneration(postId: $postId) { id status }
}`;

export const REGENERATE_POST = `mutation RegeneratePost($postId: ID!, $options: GenerationOptions) {
  regeneratePost(postId: $postId, options: $options) { ${POST_FIELDS} }
}`;

// Safe to send again with the same clientId: the server returns the post it already started.
export const START_PROMPT = `mutation StartPrompt($conversationId: ID, $prompt: String!, $options: GenerationOptions, $clientId: String!, $parentId: ID) {
  startPrompt(conversationId: $conversationId, prompt: $prompt, options: $options, clientId: $clientId, parentId: $parentId) { ${POST_FIELDS} }
}`;

export const CONTINUE_POST = `mutation ContinuePost($postId: ID!) {
  continuePost(postId: $postId) { ${POST_FIELDS} }
}`;

export const POST_STREAM = `subscription PostStream($postId: ID!) {
  postStream(postId: $postId) { ${STREAM_EVENT_FIELDS} }
}`;

export const EDIT_PROMPT = `mutation EditPrompt($postId: ID!, $prompt: String!, $options: GenerationOptions) {
  editPrompt(postId: $postId, prompt: $prompt, options: $options) { ${POST_FIELDS} }
}`;

export const SELECT_BRANCH = `mutation SelectBranch($postId: ID!) {
  selectBranch(postId: $postId) { id currentPostId }
}`;

export const MODELS = 'query Models { models { id contextLength available isDefault } }';

const SHARE_FIELDS = 'id url title postCount createdAt';

export const SHARES = `query Shares($conversationId: ID) {
  shares(conversationId: $conversationId) { ${SHARE_FIELDS} }
}`;

export const SHARE_CONVERSATION = `mutation ShareConversation($id: ID!) {
  shareConversation(id: $id) { ${SHARE_FIELDS} }
}`;

export const REVOKE_SHARE = 'mutation RevokeShare($id: ID!) { revokeShare(id: $id) }';

export const SHARED_CONVERSATION = `query SharedConversation($token: String!) {
  sharedConversation(token: $token) {
    title createdAt sharedAt posts { prompt body model createdAt }
  }
}`;

export const CONTINUE_SHARED = `mutation ContinueShared($token: String!) {
  continueSharedConversation(token: $token) { id }
}`;
