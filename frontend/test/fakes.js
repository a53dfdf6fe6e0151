// Stand-ins for what controllers and helpers talk to, for tests without a page.

/** A host for a reactive controller: counts the updates it is asked for. */
export function fakeHost() {
  return {
    controllers: [],
    updates: 0,
    addController(controller) {
      this.controllers.push(controller);
    },
    requestUpdate() {
      this.updates += 1;
    },
  };
}

/** A GraphQLClient whose answers are given per operation name: `{ PostsBefore: (variables) => data }`. */
export function fakeGraphQL(answers) {
  const calls = [];
  return {
    calls,
    async request(query, variables = {}) {
      const name = /(?:query|mutation) (\w+)/.exec(query)[1];
      calls.push({ name, variables });
      if (!answers[name]) throw new Error(`no answer for ${name}`);
      return answers[name](variables);
    },
  };
}

/** A SubscriptionClient whose subscriptions the test drives by hand. */
export function fakeSubscriptions() {
  const subscriptions = [];
  return {
    subscriptions,
    subscribe(payloadFor, sink) {
      const subscription = { payloadFor, sink, payload: payloadFor(false), ended: false };
      subscriptions.push(subscription);
      return () => (subscription.ended = true);
    },
  };
}

/** A post as the API sends it. */
export function post(id, changes = {}) {
  return {
    id,
    conversationId: 'c1',
    prompt: `prompt ${id}`,
    body: `answer ${id}`,
    status: 'COMPLETE',
    createdAt: '2024-01-01T00:00:00Z',
    ...changes,
  };
}

/** A page of posts as `conversation.posts` holds it. */
export function connection(ids, pageInfo = {}) {
  return {
    edges: ids.map((id) => ({ cursor: `cursor-${id}`, node: post(id) })),
    pageInfo: {
      hasPreviousPage: false,
      hasNextPage: false,
      startCursor: ids.length ? `cursor-${ids[0]}` : null,
      endCursor: ids.length ? `cursor-${ids.at(-1)}` : null,
      ...pageInfo,
    },
  };
}
