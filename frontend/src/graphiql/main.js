// GraphiQL at /graphql, bundled from npm (no CDN) so it works offline and under the API's CSP.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import './page.css';
import { GraphiQL } from 'graphiql';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { t } from '../i18n/index.js';
import { loadSession } from '../lib/session.js';
import { createFetcher } from './fetcher.js';

const DEFAULT_QUERY = `# The chat API. Log in on the chat page first: your
# token is then prefilled under Headers below. Or run
# the login mutation and put its token under Headers:
#   {"Authorization": "Bearer <token>"}
# Subscriptions (promptStream, postStream) run over
# WebSocket with the same token.

query Me {
  me {
    id
    username
  }
  conversations(first: 5) {
    edges {
      node {
        id
        title
        updatedAt
      }
    }
  }
}
`;

document.getElementById('back').textContent = `← ${t('graphiql.back')}`;

const session = loadSession();
const headers = session
  ? JSON.stringify({ Authorization: `Bearer ${session.token}` }, null, 2)
  : '';
const wsUrl = new URL('/graphql', window.location.href);
wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';

const root = createRoot(document.getElementById('graphiql'));
root.render(
  createElement(GraphiQL, {
    fetcher: createFetcher({ httpUrl: '/graphql', wsUrl: wsUrl.href }),
    defaultQuery: DEFAULT_QUERY,
    initialHeaders: headers,
    defaultHeaders: headers,
    defaultEditorToolsVisibility: headers ? 'headers' : undefined,
    shouldPersistHeaders: false,
  }),
);
